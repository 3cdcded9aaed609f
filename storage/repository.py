"""`AuditRepository`: everything the flows and reports read from and write to the audit database.

Why a repository: callers speak in `storage.records` dataclasses and never see sessions, rows or
SQL dialects. Every public method is one transaction, so a killed process leaves either a whole
probe or nothing, and the unique constraints of `storage.models` make a second write of the same
probe a no-op instead of a duplicate (resumable and safe with several writers at once).

The methods live in parts, one module each, along the lifetime of an audit:
`storage.catalog` (model versions, probe sets, probes), `storage.runs` (start, resume, finish,
list), `storage.results` (probe results, maps, metrics, aggregates), `storage.verdicts`
(comparisons and alerts), `storage.signoffs` (reviewers' decisions) and `storage.ledger` (the
tamper-evident chain over runs, verdicts and sign-offs). This class joins them over one
`storage.database.Database`.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from storage.catalog import CatalogRepository
from storage.database import Database
from storage.ledger import LedgerRepository
from storage.results import ResultRepository
from storage.runs import RunRepository
from storage.signoffs import SignoffRepository
from storage.verdicts import VerdictRepository


class AuditRepository(CatalogRepository, RunRepository, ResultRepository, VerdictRepository, SignoffRepository,
                      LedgerRepository):
    """Typed access to one audit database (see `storage.database.Database` for the URL and the
    schema policy on opening: empty databases are created, older SQLite files upgraded, older
    PostgreSQL schemas refused until `mllm-audit db upgrade`, newer schemas always refused)."""

    def __init__(self, url: str | URL | None = None, *, upgrade_outdated: bool | None = None) -> None:
        super().__init__(Database(url, upgrade_outdated=upgrade_outdated))

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self._db.url

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.backend

    @property
    def engine(self) -> Engine:
        """The underlying engine (for maintenance tools and benchmarks; prefer the methods)."""
        return self._db.engine

    def close(self) -> None:
        """Release every pooled connection."""
        self._db.close()

    def __enter__(self) -> AuditRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
