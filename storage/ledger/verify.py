"""Recompute a model's chain and name the first broken link: which entry, which row, what changed.

A link is broken when its place in the sequence is wrong (an entry removed), its previous hash
is not the entry hash before it (an entry before it changed or removed), its own fields no longer
hash to its entry hash (the ledger row was edited), its stored content digests no longer hash to
its content hash, the row it refers to is gone, or that row's parts no longer hash to what was
stored when it was chained (the row was edited: the parts that differ are named).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.ledger.chain import content_hash, entry_hash, genesis_hash, pending_rows
from storage.ledger.digests import CONTENT, PART_WORDS
from storage.models import LedgerEntry
from storage.records import LedgerKind


@dataclass(frozen=True)
class BrokenLink:
    """The first link that does not verify, in words a reviewer can act on."""

    sequence: int
    kind: str
    reference: int
    problem: str
    changed_parts: tuple[str, ...] = ()

    def sentence(self) -> str:
        return f"ledger entry {self.sequence} ({self.kind} {self.reference}): {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    """The state of one model's chain: how many links, its head, the first broken link if any."""

    model_name: str
    n_entries: int
    head_hash: str
    n_late: int
    broken: BrokenLink | None = None
    unchained: tuple[tuple[LedgerKind, int], ...] = field(default_factory=tuple)  # rows waiting for first use

    @property
    def intact(self) -> bool:
        return self.broken is None

    def sentence(self) -> str:
        if self.broken is not None:
            return f"The chain of {self.model_name} does NOT verify: {self.broken.sentence()}."
        text = (f"The chain of {self.model_name} verifies: {self.n_entries} entries, head hash "
                f"{self.head_hash[:16]}")
        if self.n_late:
            text += f"; {self.n_late} chained late (stored before the ledger existed, chained at first use)"
        if self.unchained:
            text += f"; {len(self.unchained)} stored rows not chained yet (chained at first use)"
        return text + "."


def _changed(stored: dict[str, str], now: dict[str, str]) -> tuple[str, ...]:
    return tuple(sorted(part for part in set(stored) | set(now) if stored.get(part) != now.get(part)))


def _check(session: Session, e: LedgerEntry, expected_sequence: int, previous: str) -> BrokenLink | None:
    def broken(problem: str, parts: tuple[str, ...] = ()) -> BrokenLink:
        return BrokenLink(e.sequence, e.kind, e.reference, problem, parts)

    if e.sequence != expected_sequence:
        return broken(f"is at place {e.sequence} where place {expected_sequence} was expected (an entry was removed)")
    if e.previous_hash != previous:
        return broken("its previous hash is not the entry hash of the link before it "
                      "(an earlier ledger entry was changed or removed)")
    if entry_hash(e.model_name, e.sequence, e.kind, e.reference, e.content_hash, e.previous_hash, bool(e.late),
                  e.created_at) != e.entry_hash:
        return broken("the ledger entry itself was edited (its fields no longer hash to its entry hash)")
    if content_hash(dict(e.content)) != e.content_hash:
        return broken("the ledger entry's stored digests were edited (they no longer hash to its content hash)")
    if e.kind not in CONTENT:
        return broken(f"refers to an unknown kind of row {e.kind!r}")
    now = CONTENT[e.kind](session, e.reference)
    if now is None:
        return broken(f"the {e.kind} row {e.reference} was deleted")
    parts = _changed(dict(e.content), now)
    if parts:
        words = "; ".join(PART_WORDS.get(p, p) for p in parts)
        return broken(f"the {e.kind} row {e.reference} was changed after it was chained: its {words} "
                      f"differ from what was stored on {e.created_at:%Y-%m-%d %H:%M:%S} UTC", parts)
    return None


def verify(session: Session, model_name: str) -> ChainReport:
    """Recompute every link of the model's chain (read-only)."""
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.model_name == model_name).order_by(LedgerEntry.sequence)
    ).all()
    previous = genesis_hash(model_name)
    broken = None
    for expected, entry in enumerate(entries, start=1):
        broken = _check(session, entry, expected, previous)
        if broken is not None:
            break
        previous = entry.entry_hash
    head = entries[-1].entry_hash if entries else genesis_hash(model_name)
    return ChainReport(model_name=model_name, n_entries=len(entries), head_hash=head,
                       n_late=sum(1 for e in entries if e.late), broken=broken,
                       unchained=tuple(pending_rows(session, model_name)))
