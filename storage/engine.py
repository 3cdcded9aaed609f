"""Which database to use, and an engine configured for it.

Why one place: every entry point (CLI, flows, reports, tests, benchmark) must agree on the default
database (`$MLLM_AUDIT_HOME/audit.db`, overridable with `MLLM_AUDIT_DB_URL`), and SQLite needs the
same tuning everywhere to survive several audits writing at once: WAL journal (readers never block
the writer), a busy timeout (writers queue instead of failing) and `BEGIN IMMEDIATE` transactions
(a writer takes the write lock up front, so two writers never deadlock on a lock upgrade).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from storage.errors import DatabaseDriverMissingError, InvalidDatabaseURLError

ENV_DB_URL = "MLLM_AUDIT_DB_URL"
ENV_HOME = "MLLM_AUDIT_HOME"
DEFAULT_HOME = "~/.mllm-audit"
DB_FILE_NAME = "audit.db"
#: how long a SQLite writer waits for another one before giving up (seconds)
SQLITE_BUSY_TIMEOUT_S = 60.0
#: how long to wait for a PostgreSQL server to answer a connection attempt (seconds)
PG_CONNECT_TIMEOUT_S = 10

_SUPPORTED = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
#: the Python module each supported driver needs (checked before anything connects)
_DRIVER_MODULES = {"postgresql+psycopg": "psycopg"}
#: "scheme://user:PASSWORD@" in text SQLAlchemy could not parse: the password is all we hide
_PASSWORD_IN_TEXT = re.compile(r"(?P<head>//[^:/@]*:)(?P<password>.*)(?P<tail>@)")


def audit_home() -> Path:
    """The folder holding the default database (`$MLLM_AUDIT_HOME`, default `~/.mllm-audit`)."""
    return Path(os.environ.get(ENV_HOME) or DEFAULT_HOME).expanduser()


def default_database_url() -> str:
    """`$MLLM_AUDIT_DB_URL` when set, otherwise the SQLite file `audit.db` in `audit_home()`."""
    configured = os.environ.get(ENV_DB_URL, "").strip()
    if configured:
        return configured
    return f"sqlite:///{audit_home() / DB_FILE_NAME}"


def safe_url(url: URL | str) -> str:
    """The URL as text with any password masked, for messages and logs."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Shown so the user can spot the typo; only a password, if one can be told apart, is hidden.
        return _PASSWORD_IN_TEXT.sub(r"\g<head>***\g<tail>", url)


def parse_database_url(url: str | URL | None) -> URL:
    """Parse and normalise a database URL, refusing backends mllm-audit does not support.

    `postgresql://` and `postgres://` are read as `postgresql+psycopg://` (psycopg 3, the driver
    this project installs); other PostgreSQL drivers are refused rather than half-supported.
    """
    if url is None:
        url = default_database_url()
    if isinstance(url, str):
        text = url.strip()
        if not text:
            raise InvalidDatabaseURLError(f"empty database URL; expected {_SUPPORTED}")
        if text.startswith("postgres://"):
            text = "postgresql://" + text[len("postgres://") :]
        try:
            parsed = make_url(text)
        except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
            raise InvalidDatabaseURLError(
                f"cannot parse database URL {safe_url(text)!r}; expected {_SUPPORTED}"
            ) from None
    else:
        parsed = url
    # From the URL's text alone: URL.get_driver_name() loads the dialect, which raises
    # NoSuchModuleError (an "internal error") for a scheme SQLAlchemy does not know.
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        if driver not in ("pysqlite", ""):
            raise InvalidDatabaseURLError(f"unsupported SQLite driver {driver!r} in {safe_url(parsed)}; use sqlite:///PATH")
        return parsed.set(drivername="sqlite")
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif driver != "psycopg":
            raise InvalidDatabaseURLError(
                f"unsupported PostgreSQL driver {driver!r} in {safe_url(parsed)}; use postgresql+psycopg://"
            )
        if not parsed.database:
            raise InvalidDatabaseURLError(f"database URL {safe_url(parsed)} names no database")
        return parsed
    raise InvalidDatabaseURLError(
        f"unsupported database backend {backend!r} in {safe_url(parsed)}; expected {_SUPPORTED}"
    )


def sqlite_path(url: URL) -> Path | None:
    """The file a SQLite URL points at (None for an in-memory database)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, waiting out other processes that are switching it at the same time.

    Why a loop: SQLite does not call its busy handler for a journal-mode change, so two processes
    opening one fresh file at once could see "database is locked" straight away (found by CI: two
    audits creating one database together). WAL is a property of the file: once one process has
    switched it, every later connection finds it in WAL already and skips the change.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would autocommit DDL and start
        # deferred transactions); SQLAlchemy's "begin" event below starts them instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # 8 KiB pages (PostgreSQL's size) waste less space around ~0.5-2 KiB map rows than 4 KiB;
            # only takes effect when the file is created, a no-op afterwards.
            cursor.execute("PRAGMA page_size = 8192")
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            _switch_to_wal(cursor)
            # NORMAL is crash-safe in WAL mode (a killed process never corrupts the database).
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_database_url(url: str | URL | None, *, create_parent: bool = False) -> URL:
    """Everything about `url` that can be known without connecting, in milliseconds.

    Why apart from `make_engine`: an audit checks its database before it starts Prefect or loads a
    model (seconds to minutes), so a typo is answered at once. Checks the scheme and driver, that
    the driver's module is installed, and that a SQLite file's folder exists; `create_parent`
    creates that folder instead (only wanted for the default home folder: a mistyped explicit path
    should fail, not sprout directories).
    """
    parsed = parse_database_url(url)
    module = _DRIVER_MODULES.get(parsed.drivername)
    if module is not None and importlib.util.find_spec(module) is None:
        raise DatabaseDriverMissingError(
            f"no driver for {safe_url(parsed)} (module {module!r} is not installed); "
            "install it with: pip install 'mllm-audit[postgres]'"
        )
    path = sqlite_path(parsed)
    if path is not None:
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise InvalidDatabaseURLError(f"folder {path.parent} of SQLite database {safe_url(parsed)} does not exist")
    return parsed


def make_engine(url: str | URL | None, *, create_parent: bool = False) -> Engine:
    """An engine for `url` (None: the default database), tuned for the backend, after
    `check_database_url`'s checks."""
    parsed = check_database_url(url, create_parent=create_parent)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise DatabaseDriverMissingError(
            f"no driver for {safe_url(parsed)} ({exc}); install it with: pip install 'mllm-audit[postgres]'"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine
