"""Schema migrations: bring a database to the schema this code expects, or refuse clearly.

Why programmatic Alembic: the migrations ship inside the package (`storage/migrations/`), so an
installed mllm-audit upgrades any database from anywhere, without an alembic.ini. Why a lock: two
audits starting at once on a fresh database would both try to create the tables; the migration
runs inside one transaction that holds the database's write lock (SQLite `BEGIN IMMEDIATE`) or a
PostgreSQL advisory lock, and the state is re-read under that lock.

The version table is `mllm_audit_schema_version`, not Alembic's default `alembic_version`, so the
schema can share a PostgreSQL database with MLflow or Prefect (which use the default name).
"""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from storage.engine import ENV_DB_URL, make_engine, safe_url
from storage.errors import (
    DatabaseUnreachableError,
    SchemaError,
    SchemaNotManagedError,
    SchemaOutdatedError,
    SchemaTooNewError,
)

log = logging.getLogger(__name__)

VERSION_TABLE = "mllm_audit_schema_version"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: any fixed 64-bit number: the PostgreSQL advisory lock that serialises migrations
_PG_MIGRATION_LOCK = 0x6D6C6C6D5F617564
_OWN_TABLES = frozenset(
    {
        "model_versions",
        "probe_sets",
        "probes",
        "audit_runs",
        "generations",
        "token_attributions",
        "metrics",
        "verdicts",
        "comparisons",
        "alerts",
        "signoffs",
        "ledger_entries",
    }
)


class SchemaState(enum.Enum):
    EMPTY = "empty"  # none of our tables and no version: migrate from scratch
    CURRENT = "current"
    OUTDATED = "outdated"
    TOO_NEW = "too_new"
    UNMANAGED = "unmanaged"  # our table names exist but no version table


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    current: tuple[str, ...]  # revisions recorded in the database
    head: str  # the newest revision this code knows


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest schema revision this version of mllm-audit knows."""
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"storage migrations have {len(heads)} heads; exactly one is expected")
    return heads[0]


def known_revisions() -> list[str]:
    """Every revision id, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def schema_status(connection: Connection) -> SchemaStatus:
    """Where the database's schema stands relative to this code (read-only)."""
    head = head_revision()
    current = tuple(
        MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_heads()
    )
    if not current:
        existing = set(inspect(connection).get_table_names()) & _OWN_TABLES
        state = SchemaState.UNMANAGED if existing else SchemaState.EMPTY
        return SchemaStatus(state, current, head)
    known = set(known_revisions())
    if any(rev not in known for rev in current):
        return SchemaStatus(SchemaState.TOO_NEW, current, head)
    state = SchemaState.CURRENT if current == (head,) else SchemaState.OUTDATED
    return SchemaStatus(state, current, head)


def _raise_for(status: SchemaStatus, url_text: str) -> None:
    if status.state is SchemaState.TOO_NEW:
        raise SchemaTooNewError(
            f"database {url_text} is at schema revision {', '.join(status.current)}, newer than this "
            f"mllm-audit knows (head {status.head}); upgrade mllm-audit, nothing was written"
        )
    if status.state is SchemaState.UNMANAGED:
        raise SchemaNotManagedError(
            f"database {url_text} already has mllm-audit table names but no {VERSION_TABLE} table; "
            "refusing to touch tables the migrations did not create"
        )


def _lock(connection: Connection) -> None:
    """Serialise migrations across processes (SQLite already holds the write lock: BEGIN IMMEDIATE)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})


def _migrate_locked(
    engine: Engine, *, allow_outdated: bool, url_text: str, target: str = "head"
) -> SchemaStatus:
    with engine.begin() as connection:
        _lock(connection)
        status = schema_status(connection)
        _raise_for(status, url_text)
        target_rev = status.head if target == "head" else target
        if status.current == (target_rev,):
            return status
        if status.state is SchemaState.OUTDATED and not allow_outdated:
            raise SchemaOutdatedError(
                f"database {url_text} is at schema revision {', '.join(status.current)}, older than "
                f"{status.head}; run `mllm-audit db upgrade` to migrate it"
            )
        log.info("migrating %s from %s to %s", url_text, ", ".join(status.current) or "nothing", target_rev)
        command.upgrade(_config(connection), target_rev)
    state = SchemaState.CURRENT if target_rev == status.head else SchemaState.OUTDATED
    return SchemaStatus(state, (target_rev,), status.head)


def _usable_status(engine: Engine, url_text: str) -> SchemaStatus:
    """The database's schema status, read without writing; raises when this code must not touch it
    (a newer revision, or our tables without a version)."""
    with engine.connect() as connection:
        status = schema_status(connection)
        connection.rollback()
    _raise_for(status, url_text)
    return status


def ensure_schema(engine: Engine, *, upgrade_outdated: bool) -> SchemaStatus:
    """Make the database usable by this code: create it when empty, upgrade it when allowed.

    A database at a newer revision, or with our table names but no version, raises before
    anything is written. `upgrade_outdated=False` raises `SchemaOutdatedError` on an older schema.
    """
    url_text = safe_url(engine.url)
    try:
        status = _usable_status(engine, url_text)
        if status.state is SchemaState.CURRENT:
            return status
        return _migrate_locked(engine, allow_outdated=upgrade_outdated, url_text=url_text)
    except DBAPIError as exc:
        raise unreachable_error(engine.url, exc) from None


def unreachable_error(url: URL, exc: DBAPIError) -> DatabaseUnreachableError:
    """A one-line error naming the database and the driver's reason."""
    reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    return DatabaseUnreachableError(f"cannot use database {safe_url(url)}: {first}")


def upgrade(url: str | URL | None = None, revision: str = "head") -> str:
    """Migrate the database at `url` (None: the default database) to `revision` (default: newest).

    Returns the revision the database is at afterwards. Safe to run again (a no-op when current)
    and concurrently with other processes. Raises `SchemaTooNewError` for a database migrated by a
    newer mllm-audit, writing nothing. Downgrades are not offered: a revision older than the
    database's is refused.
    """
    if revision != "head" and revision not in known_revisions():
        raise ValueError(f"unknown schema revision {revision!r}; known: {', '.join(known_revisions())}")
    engine = make_engine(url, create_parent=url is None and not os.environ.get(ENV_DB_URL, "").strip())
    url_text = safe_url(engine.url)
    try:
        status = _usable_status(engine, url_text)
        order = known_revisions()
        target = status.head if revision == "head" else revision
        if status.current and order.index(status.current[0]) > order.index(target):
            raise SchemaError(f"database {url_text} is at {status.current[0]}, past {target}; downgrades are not supported")
        return _migrate_locked(engine, allow_outdated=True, url_text=url_text, target=target).current[0]
    except DBAPIError as exc:
        raise unreachable_error(engine.url, exc) from None
    finally:
        engine.dispose()


def current_revision(url: str | URL | None = None) -> str | None:
    """The revision the database at `url` is at (None for an empty database); writes nothing."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            status = schema_status(connection)
        return status.current[0] if len(status.current) == 1 else (",".join(status.current) or None)
    except DBAPIError as exc:
        raise unreachable_error(engine.url, exc) from None
    finally:
        engine.dispose()
