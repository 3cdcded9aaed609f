"""Bad URLs, unreachable servers and the default location: clear one-line errors, nothing written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from storage.engine import check_database_url, default_database_url, parse_database_url, safe_url
from storage.errors import (
    DatabaseDriverMissingError,
    DatabaseUnreachableError,
    InvalidDatabaseURLError,
    StorageError,
)
from storage.migrate import upgrade
from storage.repository import AuditRepository
from testkit.loopback import free_port


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "cannot parse database URL"),
        ("", "empty database URL"),
        ("mysql://u:p@localhost/db", "unsupported database backend 'mysql'"),
        ("postgresql+asyncpg://u@localhost/db", "unsupported PostgreSQL driver 'asyncpg'"),
        ("postgresql+psycopg://u@localhost", "names no database"),
        ("sqlite+aiosqlite:///x.db", "unsupported SQLite driver"),
        ("foo://bar/baz", "unsupported database backend 'foo'"),  # once NoSuchModuleError, an internal error
        ("postgresql+psycopg://u:secret@host:notaport/db", "cannot parse database URL"),  # once a ValueError
    ],
)
def test_bad_urls_get_a_clear_message(url: str, fragment: str) -> None:
    with pytest.raises(InvalidDatabaseURLError, match=fragment) as excinfo:
        AuditRepository(url)
    assert "\n" not in str(excinfo.value)


def test_password_never_appears_in_messages() -> None:
    with pytest.raises(InvalidDatabaseURLError) as excinfo:
        AuditRepository("mysql://user:hunter2@localhost/db")
    assert "hunter2" not in str(excinfo.value)


def test_missing_sqlite_folder_is_not_created(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "audit.db"
    with pytest.raises(InvalidDatabaseURLError, match="does not exist"):
        AuditRepository(f"sqlite:///{target}")
    assert not target.parent.exists()


def test_a_file_that_is_not_a_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"these are my notes, not a database" * 100)
    before = bogus.read_bytes()
    with pytest.raises(DatabaseUnreachableError, match="not a database"):
        AuditRepository(f"sqlite:///{bogus}")
    assert bogus.read_bytes() == before


def test_unreachable_postgresql_server_fails_fast_with_one_line() -> None:
    import psycopg  # noqa: F401  (the [dev] extra installs it: the test must not pass vacuously)
    url = f"postgresql+psycopg://audit:secret@127.0.0.1:{free_port()}/audit"
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachableError, match=r"cannot use database postgresql\+psycopg://audit:\*\*\*@127\.0\.0\.1") as excinfo:
        AuditRepository(url)
    assert "\n" not in str(excinfo.value) and "secret" not in str(excinfo.value)
    assert time.monotonic() - started < 30
    with pytest.raises(DatabaseUnreachableError):
        upgrade(url)


def test_an_unparseable_url_is_shown_with_only_its_password_masked() -> None:
    with pytest.raises(InvalidDatabaseURLError) as excinfo:
        parse_database_url("postgresql+psycopg://audit:s3cr/et@db.internal:54x2/audit")
    assert "'postgresql+psycopg://audit:***@db.internal:54x2/audit'" in str(excinfo.value)  # the typo shows
    assert "s3cr" not in str(excinfo.value)
    assert safe_url("postgres//audit@db/audit") == "postgres//audit@db/audit"  # nothing to hide, nothing hidden


def test_cheap_checks_need_no_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidDatabaseURLError, match=f"folder {tmp_path / 'missing'} of SQLite database"):
        check_database_url(f"sqlite:///{tmp_path / 'missing' / 'audit.db'}")
    assert not (tmp_path / "missing").exists()
    check_database_url(f"sqlite:///{tmp_path / 'made' / 'audit.db'}", create_parent=True)
    assert (tmp_path / "made").is_dir()
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real_find_spec(name, *a))
    with pytest.raises(DatabaseDriverMissingError, match=r"pip install 'mllm-audit\[postgres\]'"):
        check_database_url("postgresql+psycopg://u:pw@127.0.0.1:1/db")


def test_postgres_scheme_aliases_use_psycopg() -> None:
    assert parse_database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert parse_database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_default_url_lives_in_mllm_audit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-dir"
    monkeypatch.delenv("MLLM_AUDIT_DB_URL", raising=False)
    monkeypatch.setenv("MLLM_AUDIT_HOME", str(home))
    assert default_database_url() == f"sqlite:///{home / 'audit.db'}"
    with AuditRepository() as repo:
        assert repo.backend == "sqlite"
    assert (home / "audit.db").is_file()  # the home folder is created for the default database only


def test_env_url_overrides_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = tmp_path / "chosen.db"
    monkeypatch.setenv("MLLM_AUDIT_HOME", str(tmp_path / "unused"))
    monkeypatch.setenv("MLLM_AUDIT_DB_URL", f"sqlite:///{chosen}")
    with AuditRepository():
        pass
    assert chosen.is_file() and not (tmp_path / "unused").exists()


def test_every_storage_error_is_a_storage_error() -> None:
    import storage.errors as errors

    classes = [obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, Exception)]
    assert all(issubclass(cls, StorageError) for cls in classes)


def test_sqlite_is_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    with AuditRepository(f"sqlite:///{tmp_path / 'a.db'}") as repo:
        with repo.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
