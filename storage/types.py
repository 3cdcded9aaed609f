"""Column types shared by the models.

Why: SQLite has no timezone-aware timestamp type (SQLAlchemy hands back naive datetimes there)
while PostgreSQL returns them in the session's time zone. `UTCDateTime` stores UTC on every backend
and always returns an aware UTC datetime, so callers never compare naive and aware values.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is aware UTC going in (naive values are refused) and coming out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: storage only accepts timezone-aware values")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            # SQLite stores text; keep one canonical form (UTC, no offset suffix) so ordering works.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def to_utc(value: datetime) -> datetime:
    """An aware datetime converted to UTC; naive values are refused (their zone is unknowable)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: storage only accepts timezone-aware values")
    return value.astimezone(timezone.utc)


def utc_now() -> datetime:
    """The current time as an aware UTC datetime (the only clock storage uses)."""
    return datetime.now(timezone.utc)


#: JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")
