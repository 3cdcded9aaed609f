"""The verdict rules: when a check passes, warns or fails, and which check is worst.

Why in one small module: the regression check, the report's ordering of reasons and a verdict's
headline must apply the same rules; a reader looking for "why did this fail" finds all of them here.

- A metric (higher is better) fails when its mean paired delta's CI lies wholly below -tolerance
  (surely worse by more than accepted), warns when the CI straddles -tolerance, passes otherwise;
  lower-is-better metrics mirror this around +tolerance.
- Map drift fails when the CI of the mean similarity lies wholly below its minimum, warns when it
  straddles the minimum.
- Fewer paired probes than `min_probes`: at best a warn, never a silent pass.
- Map drift alone is "different", not "worse" (`drift.alone = "warn"`, the default): when no other
  check that counts fails, a failing drift check is downgraded to a warning (`drift_alone`). The
  default was decided from the measured spread of drift between honest retrains (docs/DESIGN.md).
- The fixed-locus check (`comparison.locus`) fails when the lower bound of its excess lies above
  its minimum, and otherwise passes (no warning: see `locus_verdict`).
- The verdict is the worst of the checks that count (fail > warn > pass; no checks: pass).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Literal, Sequence

from comparison.bootstrap import MeanCI
from comparison.inputs import Direction

if TYPE_CHECKING:  # pragma: no cover
    from comparison.result import MetricComparison

Verdict = Literal["pass", "warn", "fail"]

VERDICT_ORDER: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}
DRIFT_PREFIX = "map_drift"
DRIFT_SPEARMAN = "map_drift_spearman"
DRIFT_TOP_OVERLAP = "map_drift_top_overlap"
LOCUS_PREFIX = "fixed_locus"
LOCUS = "fixed_locus"  # the candidate's own check
LOCUS_BASELINE = "fixed_locus_baseline"  # the same check on the baseline, reported for contrast
ANSWER_METHOD = "answer"  # the method the answer metrics are stored under (not an explainer)


def is_drift_metric(metric: str) -> bool:
    """Map-drift checks hold a similarity (not a delta) and a minimum (not a tolerance)."""
    return metric.startswith(DRIFT_PREFIX)


def metric_verdict(ci: MeanCI, direction: Direction, tolerance: float) -> Verdict:
    if direction == "lower_is_better":
        if ci.low > tolerance:
            return "fail"
        return "warn" if ci.high > tolerance else "pass"
    if ci.high < -tolerance:
        return "fail"
    return "warn" if ci.low < -tolerance else "pass"


def drift_verdict(ci: MeanCI, minimum: float) -> Verdict:
    if ci.high < minimum:
        return "fail"
    return "warn" if ci.low < minimum else "pass"


def locus_verdict(low: float, minimum: float) -> Verdict:
    """Pass or fail: the reported region is the most excessive of many, so an estimate above the
    minimum whose corrected interval reaches below it is what chance alone produces."""
    return "fail" if low > minimum else "pass"


def drift_alone(checks: Sequence["MetricComparison"], alone: str, note: str) -> list["MetricComparison"]:
    """With `alone == "warn"` and no counted non-drift check failing, failing drift checks become
    warnings, their sentence extended by `note`; otherwise the checks unchanged."""
    quality_failed = any(c.verdict == "fail" and c.counts and not c.is_drift for c in checks)
    if alone != "warn" or quality_failed:
        return list(checks)
    return [replace(c, verdict="warn", reason=c.reason + note) if c.is_drift and c.counts and c.verdict == "fail"
            else c for c in checks]


def few_probes(verdict: Verdict, n_probes: int, min_probes: int) -> Verdict:
    """Too few probes to trust a pass: report at least a warn."""
    return "warn" if n_probes < min_probes and verdict == "pass" else verdict


def worst_verdict(verdicts: Iterable[str]) -> Verdict:
    """fail beats warn beats pass; no verdicts at all is a pass."""
    worst: Verdict = "pass"
    for verdict in verdicts:
        if VERDICT_ORDER[verdict] > VERDICT_ORDER[worst]:
            worst = verdict  # type: ignore[assignment]
    return worst


def beyond_limit(value: float, direction: Direction, limit: float, drift: bool) -> float:
    """How far one value (a paired delta; for drift, a similarity) lies beyond its limit (positive:
    beyond): the one measure of "how bad" that checks and single probes are ranked by."""
    if drift:
        return limit - value
    if direction == "lower_is_better":
        return value - limit
    return -limit - value


def shortfall(check: "MetricComparison") -> float:
    """How far the check's more favourable CI bound lies beyond its limit (positive: beyond).

    Why: among failing checks, the one that misses its limit by most is the one to name first.
    """
    favourable = check.ci_low if not check.is_drift and check.direction == "lower_is_better" else check.ci_high
    return beyond_limit(favourable, check.direction, check.tolerance, check.is_drift)


def kind_rank(check: "MetricComparison") -> int:
    """Which kind of check to name first among equally bad ones: worse answers (what a user sees),
    then a fixed locus (a shortcut's own signature), then explanation metrics, then map drift (which
    says "different", and corroborates the others); checks over all words before word groups, and
    classes and slots before single words."""
    if check.method == ANSWER_METHOD:
        kind = 0
    elif check.metric.startswith(LOCUS_PREFIX):
        kind = 1
    elif check.is_drift:
        kind = 3
    else:
        kind = 2
    group = 0 if check.group is None else (2 if check.group.startswith("word:") else 1)
    return kind * 3 + group


def worst_first(checks: Iterable["MetricComparison"]) -> list["MetricComparison"]:
    """Fail before warn before pass; within one verdict, by kind (`kind_rank`), then the largest
    shortfall first."""
    return sorted(checks, key=lambda c: (-VERDICT_ORDER[c.verdict], kind_rank(c), -shortfall(c), c.method,
                                         c.metric, c.group or ""))
