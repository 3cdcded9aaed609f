"""One opened audit database: its engine, its transactions and the conflict-retry rule.

Why a class of its own: the repository's parts (`storage.catalog`, `storage.runs`,
`storage.results`, `storage.verdicts`) all need the same three things (a transaction whose driver
failures become one-line storage errors, the run-row lookup that names a missing run, and the
get-or-create retry for writers racing on a unique key); they get them here, once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import ENV_DB_URL, make_engine, parse_database_url, safe_url
from storage.errors import NotFoundError
from storage.migrate import ensure_schema, unreachable_error
from storage.models import AuditRun

T = TypeVar("T")


class Database:
    """An engine on one audit database whose schema has been checked (and migrated when allowed).

    `url`: a SQLAlchemy URL (`sqlite:///path`, `postgresql+psycopg://user@host:port/db`); None
    uses `$MLLM_AUDIT_DB_URL`, else the SQLite file `$MLLM_AUDIT_HOME/audit.db`.

    Schema policy on opening: an empty database is migrated to the current schema (any backend);
    an older schema is upgraded in place when `upgrade_outdated` is True, which by default it is for
    SQLite (a local file) and not for PostgreSQL (a shared server, upgraded on purpose with
    `mllm-audit db upgrade` so colleagues on an older version are not locked out by surprise).
    A newer schema raises `SchemaTooNewError` before anything is written.
    """

    def __init__(self, url: str | URL | None = None, *, upgrade_outdated: bool | None = None) -> None:
        uses_home_default = url is None and not os.environ.get(ENV_DB_URL, "").strip()
        self.parsed_url = parse_database_url(url)
        self.engine: Engine = make_engine(self.parsed_url, create_parent=uses_home_default)
        if upgrade_outdated is None:
            upgrade_outdated = self.parsed_url.get_backend_name() == "sqlite"
        try:
            ensure_schema(self.engine, upgrade_outdated=upgrade_outdated)
        except BaseException:
            self.engine.dispose()
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return safe_url(self.parsed_url)

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.parsed_url.get_backend_name()

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One session, one transaction; driver connection failures become one-line storage errors."""
        try:
            with self._sessions.begin() as session:
                yield session
        except (OperationalError, InterfaceError) as exc:
            raise unreachable_error(self.parsed_url, exc) from None

    def run_row(self, session: Session, run_id: int) -> AuditRun:
        """The run's row, or `NotFoundError` naming the run and the database."""
        run = session.get(AuditRun, run_id)
        if run is None:
            raise NotFoundError(f"audit run {run_id} does not exist in {self.url}")
        return run

    def get_or_create(self, work: Callable[[Session], T]) -> T:
        """Run `work` (find a row by its unique key, insert it when missing) in one transaction.

        Why the second try: another process may insert the same key between our read and our
        write; our insert then fails on the unique constraint, and running `work` again finds the
        other writer's row. A second failure is a real error and propagates.
        """
        for attempt in range(2):
            try:
                with self.transaction() as session:
                    return work(session)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")


class RepositoryPart:
    """Base of the repository's parts: each reaches the database through `self._db`."""

    def __init__(self, db: Database) -> None:
        self._db = db
