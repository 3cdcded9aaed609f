"""The verdict as the report shows it, and the sentences that explain a comparison.

Why a separate small type: `reports/` may not import `flows/`, yet the report's banner needs the
regression verdict. `flows/regression.py` turns its `RegressionVerdict` into a `VerdictSummary`
(and uses `describe_comparison` for its reasons, so the report and the CLI say the same thing);
`load_report_data` rebuilds one from stored comparisons and alerts when only the database is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.records import ComparisonRecord, Direction, Verdict

VERDICT_ORDER: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}
DRIFT_PREFIX = "map_drift"


def worst_verdict(verdicts: list[str] | tuple[str, ...]) -> Verdict:
    """fail beats warn beats pass; no verdicts at all is a pass."""
    if not verdicts:
        return "pass"
    worst = max(verdicts, key=lambda v: VERDICT_ORDER[v])
    return worst  # type: ignore[return-value]


def is_drift_metric(metric: str) -> bool:
    """Map-drift comparisons store a similarity (not a delta) and a minimum (not a tolerance)."""
    return metric.startswith(DRIFT_PREFIX)


def describe_comparison(c: ComparisonRecord, direction: Direction | None) -> str:
    """One readable sentence: what changed, by how much, how sure, against which limit."""
    ci = f"95% CI [{c.ci_low:+.3f}, {c.ci_high:+.3f}]"
    if is_drift_metric(c.metric):
        ci = f"95% CI [{c.ci_low:.3f}, {c.ci_high:.3f}]"
        head = (
            f"{c.method} {c.metric}: maps of the two versions agree at {c.delta:.3f} "
            f"({ci}, {c.n_pairs} shared words), minimum accepted {c.tolerance:.3f}"
        )
        tail = {
            "fail": "the candidate looks somewhere else.",
            "warn": "the interval straddles the minimum.",
            "pass": "the maps agree.",
        }[c.verdict]
        return f"{head}: {tail}"
    if direction == "lower_is_better":
        change = "rose" if c.delta > 0 else "fell"
        limit = f"tolerance +{c.tolerance:.3f}"
    else:
        change = "fell" if c.delta < 0 else "rose"
        limit = f"tolerance -{c.tolerance:.3f}"
    head = (
        f"{c.method} {c.metric} {change} by {abs(c.delta):.3f} "
        f"({ci}, {c.n_pairs} pairs), {limit}"
    )
    tail = {
        "fail": "regression beyond tolerance.",
        "warn": "the interval straddles the tolerance.",
        "pass": "within tolerance.",
    }[c.verdict]
    return f"{head}: {tail}"


@dataclass(frozen=True)
class VerdictSummary:
    """Overall verdict, the sentences that justify it, and per-probe notes for the gallery."""

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    n_words_compared: int | None = None
    n_words_candidate_only: int | None = None
    n_words_baseline_only: int | None = None
    probe_notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_comparisons(
        cls,
        comparisons: list[ComparisonRecord],
        directions: dict[tuple[str, str], Direction],
        reasons: tuple[str, ...] | None = None,
    ) -> "VerdictSummary":
        """Rebuild a verdict from stored comparisons (the database keeps no other verdict row)."""
        verdict = worst_verdict([c.verdict for c in comparisons])
        if reasons is None:
            flagged = [c for c in comparisons if c.verdict != "pass"] or list(comparisons)
            flagged.sort(key=lambda c: (-VERDICT_ORDER[c.verdict], c.method, c.metric))
            reasons = tuple(
                describe_comparison(c, directions.get((c.method, c.metric))) for c in flagged
            )
        return cls(verdict=verdict, reasons=tuple(reasons))
