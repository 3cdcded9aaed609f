"""The sign-offs part of the repository: reviewers' decisions on model versions, chained on write.

Why storage checks only consistency (a known decision, a reviewer, a note on every override) and
not the approval rule: whether a failed audit may be approved is the sign-off command's policy
(`flows.signoff`); storage guarantees that what it records is complete and tamper-evident.
"""

from __future__ import annotations

from typing import get_args

from sqlalchemy import select

from storage.database import RepositoryPart
from storage.errors import NotFoundError, StorageInputError
from storage.ledger import append
from storage.models import ModelVersion, Signoff
from storage.records import Decision, SignoffRecord
from storage.validation import aware_utc, check_verdict

DECISIONS = frozenset(get_args(Decision))


class SignoffRepository(RepositoryPart):
    """Reviewers' decisions."""

    def add_signoff(self, record: SignoffRecord) -> SignoffRecord:
        """Store a decision and chain it, in one transaction."""
        _check(record)
        with self._db.transaction() as session:
            if session.get(ModelVersion, record.model_version_id) is None:
                raise NotFoundError(f"model version {record.model_version_id} does not exist in {self._db.url}")
            if record.audit_run_id is not None:
                self._db.run_row(session, record.audit_run_id)
            row = Signoff(model_version_id=record.model_version_id, reviewer=record.reviewer.strip(),
                          decision=record.decision, note=record.note.strip(), override=record.override,
                          audit_run_id=record.audit_run_id, audit_verdict=record.audit_verdict)
            if record.created_at is not None:
                row.created_at = aware_utc(record.created_at, "sign-off created_at")
            session.add(row)
            session.flush()
            append(session, "signoff", row.id)
            return _signoff_record(row)

    def list_signoffs(self, model_name: str) -> list[SignoffRecord]:
        """Every decision on any version of the model, oldest first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(Signoff).join(ModelVersion, ModelVersion.id == Signoff.model_version_id)
                .where(ModelVersion.name == model_name).order_by(Signoff.created_at, Signoff.id)
            )
            return [_signoff_record(r) for r in rows]


def _check(record: SignoffRecord) -> None:
    if record.decision not in DECISIONS:
        raise StorageInputError(f"decision must be one of {sorted(DECISIONS)}, not {record.decision!r}")
    if not record.reviewer or not record.reviewer.strip():
        raise StorageInputError("a sign-off needs the reviewer's name")
    if record.override and record.decision != "approved":
        raise StorageInputError("only an approval can override a failed audit")
    if record.override and not record.note.strip():
        raise StorageInputError("an override needs a note saying why")
    if record.audit_verdict is not None:
        check_verdict(record.audit_verdict, "sign-off audit")


def _signoff_record(r: Signoff) -> SignoffRecord:
    return SignoffRecord(model_version_id=r.model_version_id, reviewer=r.reviewer, decision=r.decision,  # type: ignore[arg-type]
                         note=r.note, override=bool(r.override), audit_run_id=r.audit_run_id,
                         audit_verdict=r.audit_verdict, id=r.id, created_at=r.created_at)  # type: ignore[arg-type]
