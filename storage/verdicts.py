"""The verdicts part of the repository: judgements of a candidate run against a baseline, and alerts.

Why the verdict is stored whole: a report rendered later, the history table and a compliance
dossier must show the verdict the audit returned, with its reasons and the settings that produced
it, not one rebuilt from comparison rows under today's rules. So comparisons are written only as
part of their verdict, in one transaction, and a verdict is identified by (candidate run, baseline
run, settings hash): judging the same pair under the same settings again returns the stored one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database import RepositoryPart
from storage.errors import StorageInputError
from storage.hashing import canonical_json, plain_json, settings_hash
from storage.ledger import append
from storage.models import Alert, Comparison, Verdict
from storage.records import AlertRecord, ComparisonRecord, VerdictRecord
from storage.validation import aware_utc, check_verdict


class VerdictRepository(RepositoryPart):
    """Verdicts with their comparisons, and alerts."""

    def add_verdict(self, record: VerdictRecord) -> VerdictRecord:
        """Store a verdict and its comparisons in one transaction; returns the stored record.

        Idempotent on (candidate run, baseline run, settings hash): when that verdict is already
        stored, it is returned as stored and nothing is written (the audit's first judgement under
        those settings is the one on record). `settings_hash` is computed here, from `settings`.
        """
        settings, digest, result = _checked(record)
        created_at = None if record.created_at is None else aware_utc(record.created_at, "verdict created_at")

        def work(session: Session) -> VerdictRecord:
            self._db.run_row(session, record.candidate_run_id)
            self._db.run_row(session, record.baseline_run_id)
            row = session.scalars(
                select(Verdict).where(
                    Verdict.candidate_run_id == record.candidate_run_id,
                    Verdict.baseline_run_id == record.baseline_run_id,
                    Verdict.settings_hash == digest,
                )
            ).one_or_none()
            if row is not None:
                return self._read(session, [row])[0]
            row = Verdict(
                candidate_run_id=record.candidate_run_id,
                baseline_run_id=record.baseline_run_id,
                verdict=record.verdict,
                headline=record.headline,
                reasons=list(record.reasons),
                settings=settings,
                settings_hash=digest,
                result=result,
            )
            if created_at is not None:
                row.created_at = created_at
            session.add(row)
            session.flush()
            session.add_all(_comparison_row(row, c) for c in record.comparisons)
            session.flush()
            append(session, "verdict", row.id)  # chained with the row, in this transaction
            return self._read(session, [row])[0]

        return self._db.get_or_create(work)

    def get_verdicts(self, candidate_run_id: int) -> list[VerdictRecord]:
        """Every verdict on the candidate run, oldest first, each with its comparisons."""
        with self._db.transaction() as session:
            self._db.run_row(session, candidate_run_id)
            rows = session.scalars(
                select(Verdict).where(Verdict.candidate_run_id == candidate_run_id).order_by(Verdict.created_at, Verdict.id)
            ).all()
            return self._read(session, rows)

    def latest_verdict(self, candidate_run_id: int, baseline_run_id: int | None = None) -> VerdictRecord | None:
        """The newest verdict on the candidate run (against that baseline when given), or None."""
        query = select(Verdict).where(Verdict.candidate_run_id == candidate_run_id)
        if baseline_run_id is not None:
            query = query.where(Verdict.baseline_run_id == baseline_run_id)
        with self._db.transaction() as session:
            self._db.run_row(session, candidate_run_id)
            row = session.scalars(query.order_by(Verdict.created_at.desc(), Verdict.id.desc()).limit(1)).one_or_none()
            return None if row is None else self._read(session, [row])[0]

    def get_comparisons(self, candidate_run_id: int) -> list[ComparisonRecord]:
        """The comparisons of every verdict on the candidate run, verdicts oldest first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(Comparison)
                .join(Verdict, Verdict.id == Comparison.verdict_id)
                .where(Verdict.candidate_run_id == candidate_run_id)
                .order_by(Verdict.created_at, Verdict.id, Comparison.method, Comparison.metric)
            )
            return [_comparison_record(r) for r in rows]

    def _read(self, session: Session, rows: Sequence[Verdict]) -> list[VerdictRecord]:
        """Records of these verdict rows, with their comparisons (by method and metric)."""
        ids = [row.id for row in rows]
        by_verdict: dict[int, list[ComparisonRecord]] = {i: [] for i in ids}
        if ids:
            comparisons = session.scalars(
                select(Comparison).where(Comparison.verdict_id.in_(ids)).order_by(Comparison.method, Comparison.metric)
            )
            for c in comparisons:
                by_verdict[c.verdict_id].append(_comparison_record(c))
        return [_verdict_record(row, by_verdict[row.id]) for row in rows]

    def add_alert(self, alert: AlertRecord) -> AlertRecord:
        check_verdict(alert.verdict, "alert")
        with self._db.transaction() as session:
            self._db.run_row(session, alert.run_id)
            row = Alert(
                run_id=alert.run_id,
                verdict=alert.verdict,
                message=alert.message,
                channels=list(alert.channels),
                payload=dict(alert.payload),
            )
            if alert.created_at is not None:
                row.created_at = aware_utc(alert.created_at, "alert created_at")
            session.add(row)
            session.flush()
            return _alert_record(row)

    def get_alerts(self, run_id: int) -> list[AlertRecord]:
        with self._db.transaction() as session:
            rows = session.scalars(select(Alert).where(Alert.run_id == run_id).order_by(Alert.created_at, Alert.id))
            return [_alert_record(r) for r in rows]


def _checked(record: VerdictRecord) -> tuple[dict, str, dict]:
    """The verdict's settings (canonical), settings hash and result (plain JSON), after every check."""
    check_verdict(record.verdict, "verdict")
    if not isinstance(record.headline, str):
        raise StorageInputError(f"verdict headline must be a sentence (str), not {type(record.headline).__name__}")
    if not all(isinstance(reason, str) for reason in record.reasons):
        raise StorageInputError("verdict reasons must all be sentences (str)")
    pair = (record.candidate_run_id, record.baseline_run_id)
    seen: set[tuple[str, str]] = set()
    for c in record.comparisons:
        check_verdict(c.verdict, f"comparison {c.method}/{c.metric}")
        if (c.candidate_run_id, c.baseline_run_id) != pair:
            raise StorageInputError(
                f"comparison {c.method}/{c.metric} judges runs {c.candidate_run_id} against {c.baseline_run_id}, "
                f"but its verdict judges runs {pair[0]} against {pair[1]}"
            )
        if (c.method, c.metric) in seen:
            raise StorageInputError(f"comparison {c.method}/{c.metric} appears twice in one verdict")
        seen.add((c.method, c.metric))
    settings = canonical_json(record.settings, "verdict settings")
    digest = settings_hash(settings)
    if record.settings_hash and record.settings_hash != digest:
        raise StorageInputError(
            f"verdict settings_hash {record.settings_hash[:12]}... does not match its settings ({digest[:12]}...); "
            "leave it empty, storage computes it"
        )
    return settings, digest, plain_json(record.result, "verdict result")


def _comparison_row(verdict: Verdict, c: ComparisonRecord) -> Comparison:
    return Comparison(
        verdict_id=verdict.id,
        candidate_run_id=c.candidate_run_id,
        baseline_run_id=c.baseline_run_id,
        method=c.method,
        metric=c.metric,
        delta=float(c.delta),
        ci_low=float(c.ci_low),
        ci_high=float(c.ci_high),
        n_pairs=int(c.n_pairs),
        tolerance=float(c.tolerance),
        verdict=c.verdict,
        created_at=verdict.created_at,
    )


def _comparison_record(r: Comparison) -> ComparisonRecord:
    return ComparisonRecord(
        candidate_run_id=r.candidate_run_id,
        baseline_run_id=r.baseline_run_id,
        method=r.method,
        metric=r.metric,
        delta=r.delta,
        ci_low=r.ci_low,
        ci_high=r.ci_high,
        n_pairs=r.n_pairs,
        tolerance=r.tolerance,
        verdict=r.verdict,  # type: ignore[arg-type]
        id=r.id,
        created_at=r.created_at,
        verdict_id=r.verdict_id,
    )


def _verdict_record(r: Verdict, comparisons: list[ComparisonRecord]) -> VerdictRecord:
    return VerdictRecord(
        candidate_run_id=r.candidate_run_id,
        baseline_run_id=r.baseline_run_id,
        verdict=r.verdict,  # type: ignore[arg-type]
        headline=r.headline,
        reasons=tuple(r.reasons),
        settings=dict(r.settings),
        result=dict(r.result),
        comparisons=tuple(comparisons),
        settings_hash=r.settings_hash,
        id=r.id,
        created_at=r.created_at,
    )


def _alert_record(r: Alert) -> AlertRecord:
    return AlertRecord(
        run_id=r.run_id,
        verdict=r.verdict,  # type: ignore[arg-type]
        message=r.message,
        channels=tuple(r.channels),
        payload=dict(r.payload),
        created_at=r.created_at,
        id=r.id,
    )
