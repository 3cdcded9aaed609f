"""SQLite tuning: the switch to WAL waits out other processes switching the same fresh file.

SQLite does not call its busy handler for a journal-mode change, so two audits creating one
database at the same moment could fail with "database is locked" (seen in CI). These tests drive
the retry with a cursor that reports the lock a given number of times.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import storage.engine as engine_module
from storage.engine import make_engine


class _LockedCursor:
    """Answers `PRAGMA journal_mode` like SQLite; the switch fails `locks` times before it works."""

    def __init__(self, locks: int, error: str = "database is locked") -> None:
        self.locks = locks
        self.error = error
        self.mode = "delete"
        self.switch_attempts = 0

    def execute(self, sql: str) -> "_LockedCursor":
        if sql == "PRAGMA journal_mode = WAL":
            self.switch_attempts += 1
            if self.switch_attempts <= self.locks:
                raise sqlite3.OperationalError(self.error)
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_the_switch_to_wal_is_retried_while_another_process_holds_the_file() -> None:
    cursor = _LockedCursor(locks=3)
    engine_module._switch_to_wal(cursor)
    assert cursor.mode == "wal"
    assert cursor.switch_attempts == 4


def test_a_file_already_in_wal_is_not_switched_again() -> None:
    cursor = _LockedCursor(locks=0)
    cursor.mode = "wal"
    engine_module._switch_to_wal(cursor)
    assert cursor.switch_attempts == 0


def test_other_sqlite_errors_are_not_retried() -> None:
    cursor = _LockedCursor(locks=5, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        engine_module._switch_to_wal(cursor)
    assert cursor.switch_attempts == 1


def test_a_lock_held_past_the_busy_timeout_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_S", 0.05)
    cursor = _LockedCursor(locks=10_000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        engine_module._switch_to_wal(cursor)
    assert 1 < cursor.switch_attempts < 10_000


def test_a_fresh_file_opens_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
