"""The opened database: one-line errors for a lost server, and the one get-or-create retry rule."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.database import Database
from storage.errors import NotFoundError
from storage.models import ProbeSet


@pytest.fixture
def db(db_url: str):
    database = Database(db_url)
    yield database
    database.close()


def _insert_probe_set(session: Session, content_hash: str) -> int:
    row = ProbeSet(name="s", version="1", content_hash=content_hash)
    session.add(row)
    session.flush()
    return row.id


def test_a_writer_that_lost_the_race_reads_the_winners_row(db: Database) -> None:
    """The first try collides with a row another writer committed meanwhile; the second finds it."""
    with db.transaction() as session:
        winner = _insert_probe_set(session, "h")
    attempts = []

    def work(session: Session) -> int:
        attempts.append(len(attempts))
        if len(attempts) == 1:  # our stale read saw nothing: we insert and hit the unique key
            return _insert_probe_set(session, "h")
        return session.scalars(select(ProbeSet.id).where(ProbeSet.content_hash == "h")).one()

    assert db.get_or_create(work) == winner
    assert attempts == [0, 1]


def test_a_second_collision_is_a_real_error_and_propagates(db: Database) -> None:
    with db.transaction() as session:
        _insert_probe_set(session, "h")
    calls = []

    def always_colliding(session: Session) -> int:
        calls.append(1)
        return _insert_probe_set(session, "h")

    with pytest.raises(IntegrityError):
        db.get_or_create(always_colliding)
    assert len(calls) == 2


def test_other_errors_are_not_retried(db: Database) -> None:
    calls = []

    def failing(session: Session) -> None:
        calls.append(1)
        raise NotFoundError("nope")

    with pytest.raises(NotFoundError):
        db.get_or_create(failing)
    assert len(calls) == 1


def test_a_missing_run_is_named_with_the_database(db: Database) -> None:
    with db.transaction() as session, pytest.raises(NotFoundError, match=r"audit run 7 does not exist in (sqlite|postgresql)"):
        db.run_row(session, 7)
