"""The verdicts part of the repository: comparisons of a candidate run with a baseline, and alerts.

Why apart from the results: these rows judge two runs against each other under comparison
settings; they are written after both runs are complete, and a report reads them to say what the
audit decided.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from storage.database import RepositoryPart
from storage.errors import StorageInputError
from storage.models import Alert, Comparison
from storage.records import AlertRecord, ComparisonRecord
from storage.validation import aware_utc, check_verdict


class VerdictRepository(RepositoryPart):
    """Comparisons and alerts."""

    def add_comparisons(self, comparisons: Sequence[ComparisonRecord]) -> list[ComparisonRecord]:
        """Store comparisons; one for the same (candidate, baseline, method, metric) is replaced."""
        for c in comparisons:
            check_verdict(c.verdict, "comparison")
        seen = [(c.candidate_run_id, c.baseline_run_id, c.method, c.metric) for c in comparisons]
        if len(set(seen)) != len(seen):
            raise StorageInputError("the same (candidate, baseline, method, metric) appears twice in one call")
        stored = []
        with self._db.transaction() as session:
            for run_id in {c.candidate_run_id for c in comparisons} | {c.baseline_run_id for c in comparisons}:
                self._db.run_row(session, run_id)
            for c in comparisons:
                session.execute(
                    delete(Comparison).where(
                        Comparison.candidate_run_id == c.candidate_run_id,
                        Comparison.baseline_run_id == c.baseline_run_id,
                        Comparison.method == c.method,
                        Comparison.metric == c.metric,
                    )
                )
                row = Comparison(
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
                )
                session.add(row)
                session.flush()
                stored.append(_comparison_record(row))
        return stored

    def get_comparisons(self, candidate_run_id: int) -> list[ComparisonRecord]:
        with self._db.transaction() as session:
            rows = session.scalars(
                select(Comparison)
                .where(Comparison.candidate_run_id == candidate_run_id)
                .order_by(Comparison.baseline_run_id, Comparison.method, Comparison.metric)
            )
            return [_comparison_record(r) for r in rows]

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
