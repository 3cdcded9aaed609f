"""The tamper-evident ledger: a hash chain per model over its audit results, verdicts and sign-offs.

Each completed run, stored verdict and sign-off gets one entry (sequence, kind, reference, the
digest of each of the row's parts, content hash, previous hash, entry hash), written in the same
transaction as the row (`storage.runs`, `storage.verdicts`, `storage.signoffs` call `append`).
`verify_chain` recomputes every link and names the first broken one. Modules: `digests` (what is
hashed of each row), `chain` (append, first-use chaining of older rows), `verify`.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.database import RepositoryPart
from storage.ledger.chain import append, chain_pending, entry_record, genesis_hash
from storage.ledger.verify import BrokenLink, ChainReport, verify
from storage.models import LedgerEntry
from storage.records import LedgerEntryRecord

__all__ = ["BrokenLink", "ChainReport", "LedgerRepository", "append", "genesis_hash"]


class LedgerRepository(RepositoryPart):
    """Reading, completing and verifying a model's chain."""

    def verify_chain(self, model_name: str) -> ChainReport:
        """Recompute the model's chain; `ChainReport.broken` names the first broken link."""
        with self._db.transaction() as session:
            return verify(session, model_name)

    def chain_pending(self, model_name: str) -> int:
        """Chain the model's rows stored before the ledger existed (marked late); returns how many."""
        with self._db.transaction() as session:
            return chain_pending(session, model_name)

    def ledger_entries(self, model_name: str) -> list[LedgerEntryRecord]:
        """The model's chain, first link first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(LedgerEntry).where(LedgerEntry.model_name == model_name).order_by(LedgerEntry.sequence)
            )
            return [entry_record(row) for row in rows]
