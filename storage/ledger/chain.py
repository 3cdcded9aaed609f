"""Appending to a model's hash chain: one entry per completed run, stored verdict and sign-off.

Why in the writer's own transaction: the row and its link land together or not at all, so no
audit result exists unchained after a crash. Why a lock and a unique (model, sequence): two audits
of one model finishing at once must not both take the place after the same head (a fork). SQLite
transactions already hold the database's write lock (`BEGIN IMMEDIATE`, `storage.engine`);
PostgreSQL takes a transaction-scoped advisory lock per model name, and the unique constraint
stays as the last guard either way.

Rows stored before the ledger existed (or before their link could be written) are chained at
first use, each marked `late`: the next append for the model, or `chain_pending`, chains them in
the order they were stored, before anything new. A late link proves the row has not changed
since it was chained, not since it was stored; a dossier says which links are late.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import and_, exists, select, text
from sqlalchemy.orm import Session

from storage.hashing import canonical_hash
from storage.ledger.digests import CONTENT, OWNER
from storage.models import AuditRun, LedgerEntry, ModelVersion, Signoff, Verdict
from storage.records import LedgerEntryRecord, LedgerKind
from storage.types import utc_now

LEDGER_FORMAT = "mllm-audit-ledger/1"


def genesis_hash(model_name: str) -> str:
    """The 'previous hash' of a model's first entry: bound to the model, so chains cannot be swapped."""
    return hashlib.sha256(f"{LEDGER_FORMAT}\0{model_name}".encode("utf-8")).hexdigest()


def content_hash(content: dict[str, str]) -> str:
    return canonical_hash(content, "ledger content")


def entry_hash(model_name: str, sequence: int, kind: str, reference: int, content_digest: str, previous: str,
               late: bool, created_at: datetime) -> str:
    """The hash of one link: its place, what it refers to, its content digest and the link before."""
    return canonical_hash({"format": LEDGER_FORMAT, "model": model_name, "sequence": sequence, "kind": kind,
                           "reference": reference, "content_hash": content_digest, "previous_hash": previous,
                           "late": late, "created_at": created_at.isoformat()}, "a ledger entry")


def _lock(session: Session, model_name: str) -> None:
    """Serialise appends to one model's chain (PostgreSQL; SQLite already holds the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"ledger\0{model_name}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _head(session: Session, model_name: str) -> tuple[int, str]:
    last = session.execute(
        select(LedgerEntry.sequence, LedgerEntry.entry_hash).where(LedgerEntry.model_name == model_name)
        .order_by(LedgerEntry.sequence.desc()).limit(1)
    ).one_or_none()
    return (0, genesis_hash(model_name)) if last is None else (last.sequence, last.entry_hash)


def _chained(kind: str, reference_column):  # noqa: ANN001 - a SQLAlchemy column
    return exists().where(and_(LedgerEntry.kind == kind, LedgerEntry.reference == reference_column))


def pending_rows(session: Session, model_name: str) -> list[tuple[LedgerKind, int]]:
    """The model's rows that should be chained and are not, oldest first (runs by start, verdicts
    and sign-offs by creation)."""
    found: list[tuple[datetime, int, LedgerKind, int]] = []
    runs = session.execute(
        select(AuditRun.started_at, AuditRun.id).join(ModelVersion, ModelVersion.id == AuditRun.model_version_id)
        .where(ModelVersion.name == model_name, AuditRun.status == "completed", ~_chained("run", AuditRun.id))
    )
    found += [(at, 0, "run", rid) for at, rid in runs]
    verdicts = session.execute(
        select(Verdict.created_at, Verdict.id).join(AuditRun, AuditRun.id == Verdict.candidate_run_id)
        .join(ModelVersion, ModelVersion.id == AuditRun.model_version_id)
        .where(ModelVersion.name == model_name, ~_chained("verdict", Verdict.id))
    )
    found += [(at, 1, "verdict", vid) for at, vid in verdicts]
    signoffs = session.execute(
        select(Signoff.created_at, Signoff.id).join(ModelVersion, ModelVersion.id == Signoff.model_version_id)
        .where(ModelVersion.name == model_name, ~_chained("signoff", Signoff.id))
    )
    found += [(at, 2, "signoff", sid) for at, sid in signoffs]
    return [(kind, ref) for _, _, kind, ref in sorted(found)]


def _append_locked(session: Session, model_name: str, kind: LedgerKind, reference: int, late: bool) -> LedgerEntry:
    content = CONTENT[kind](session, reference)
    if content is None:
        raise LookupError(f"{kind} {reference} does not exist")
    sequence, previous = _head(session, model_name)
    digest = content_hash(content)
    now = utc_now()
    entry = LedgerEntry(model_name=model_name, sequence=sequence + 1, kind=kind, reference=reference, content=content,
                        content_hash=digest, previous_hash=previous, late=late, created_at=now,
                        entry_hash=entry_hash(model_name, sequence + 1, kind, reference, digest, previous, late, now))
    session.add(entry)
    session.flush()
    return entry


def append(session: Session, kind: LedgerKind, reference: int) -> LedgerEntryRecord:
    """Chain one row (in the caller's transaction), after any of its model's rows still unchained.

    A row already chained keeps its entry (returned as it is).
    """
    model_name = OWNER[kind](session, reference)
    if model_name is None:
        raise LookupError(f"{kind} {reference} does not exist")
    _lock(session, model_name)
    existing = session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == kind, LedgerEntry.reference == reference)
    ).one_or_none()
    if existing is not None:
        return entry_record(existing)
    for pending_kind, pending_ref in pending_rows(session, model_name):
        if (pending_kind, pending_ref) != (kind, reference):
            _append_locked(session, model_name, pending_kind, pending_ref, late=True)
    return entry_record(_append_locked(session, model_name, kind, reference, late=False))


def chain_pending(session: Session, model_name: str) -> int:
    """Chain every row of the model still unchained (marked late); returns how many."""
    _lock(session, model_name)
    rows = pending_rows(session, model_name)
    for kind, reference in rows:
        _append_locked(session, model_name, kind, reference, late=True)
    return len(rows)


def entry_record(e: LedgerEntry) -> LedgerEntryRecord:
    return LedgerEntryRecord(model_name=e.model_name, sequence=e.sequence, kind=e.kind,  # type: ignore[arg-type]
                             reference=e.reference, content=dict(e.content), content_hash=e.content_hash,
                             previous_hash=e.previous_hash, entry_hash=e.entry_hash, late=bool(e.late), id=e.id,
                             created_at=e.created_at)
