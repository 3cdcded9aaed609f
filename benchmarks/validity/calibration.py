"""Thresholds from the null: what honest clean retrains look like against each other.

Only clean-versus-clean comparisons of the calibration seeds enter here (never a reported seed,
never a shortcut), so the thresholds know nothing of any cue. Rules, each the least strict setting
under which no calibration pair fails, rounded outwards:

* map drift: `drift.min_spearman` = the lowest lower CI bound of any honest pair's mean Spearman
  (either method), rounded down to 0.05; map drift alone only warns (`drift.alone = "warn"`);
* fixed locus: `locus.min_excess` = the largest excess estimate of any clean model's maps, rounded
  up to 0.05 (at least 0.10): an honest model never shows more;
* explanation metrics (pooled over all words): each metric's tolerance = the largest shortfall of
  any honest pair's interval, rounded up to 0.01 (at least the shipped 0.05);
* answer metrics keep 0.05: an honest retrain that names objects 5 points less often is worse, and a
  calibration pair failing one is reported as such, not absorbed;
* word groups of explanation metrics are not calibrated: they only name the words behind a failure
  (`groups.counted`); the honest pairs whose word groups would have failed are listed, the evidence
  for keeping them out of the verdict.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from comparison import ComparisonResult, RegressionConfig
from comparison.rules import DRIFT_SPEARMAN, LOCUS_PREFIX

ANSWER = "answer"
MIN_EXCESS_FLOOR = 0.10
TOLERANCE_FLOOR = 0.05


def _down(x: float, step: float) -> float:
    return math.floor(x / step + 1e-9) * step


def _up(x: float, step: float) -> float:
    return math.ceil(x / step - 1e-9) * step


@dataclass
class Calibration:
    """The null distributions measured on the calibration pairs and the settings they imply."""

    pairs: list[str] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)  # pair, method, mean, ci_low, ci_high
    locus: list[dict[str, Any]] = field(default_factory=list)  # run, method, excess, ci_low, group
    shortfalls: dict[str, float] = field(default_factory=dict)  # metric -> worst honest shortfall
    answer_failures: list[str] = field(default_factory=list)
    group_failures: list[str] = field(default_factory=list)  # explanation word groups failing on honest pairs
    settings: dict[str, Any] = field(default_factory=dict)  # RegressionConfig mapping

    def config(self) -> RegressionConfig:
        return RegressionConfig.from_mapping(self.settings)

    def differences_from(self, shipped: RegressionConfig) -> list[str]:
        """Where the shipped defaults differ from the calibrated settings (empty: they agree)."""
        mine, theirs = self.config(), shipped
        out = []
        if abs(mine.drift.min_spearman - theirs.drift.min_spearman) > 1e-9:
            out.append(f"drift.min_spearman: shipped {theirs.drift.min_spearman}, calibrated {mine.drift.min_spearman}")
        if abs(mine.locus.min_excess - theirs.locus.min_excess) > 1e-9:
            out.append(f"locus.min_excess: shipped {theirs.locus.min_excess}, calibrated {mine.locus.min_excess}")
        for metric in sorted(set(mine.tolerances) | set(theirs.tolerances)):
            a, b = mine.tolerance_for(metric), theirs.tolerance_for(metric)
            if abs(a - b) > 1e-9:
                out.append(f"tolerances.{metric}: shipped {b}, calibrated {a}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate(results: Sequence[tuple[str, ComparisonResult]]) -> Calibration:
    """Calibration from (pair label, comparison of two honest clean models) judged with any settings."""
    cal = Calibration(pairs=[label for label, _ in results])
    seen_locus: set[tuple[int, str]] = set()
    for label, result in results:
        for check in result.comparisons:
            if check.group is not None:
                if check.verdict == "fail" and check.method != ANSWER:
                    cal.group_failures.append(f"{label}: {check.method} {check.metric}[{check.group}]")
                elif check.verdict == "fail":
                    cal.answer_failures.append(f"{label}: {check.reason}")
                continue
            if check.metric == DRIFT_SPEARMAN:
                cal.drift.append({"pair": label, "method": check.method, "mean": check.delta,
                                  "ci_low": check.ci_low, "ci_high": check.ci_high})
            elif check.metric.startswith(LOCUS_PREFIX):
                run = result.candidate_run_id if check.metric == "fixed_locus" else result.baseline_run_id
                if (run, check.method) not in seen_locus:
                    seen_locus.add((run, check.method))
                    cal.locus.append({"run": run, "method": check.method, "excess": check.delta,
                                      "ci_low": check.ci_low})
            elif check.method == ANSWER:
                if check.verdict == "fail":
                    cal.answer_failures.append(f"{label}: {check.reason}")
            elif not check.is_drift:
                worst = (check.ci_low if check.direction == "lower_is_better" else -check.ci_high)
                cal.shortfalls[check.metric] = max(cal.shortfalls.get(check.metric, 0.0), worst)
    min_spearman = _down(min((d["ci_low"] for d in cal.drift), default=0.3), 0.05)
    min_excess = max(MIN_EXCESS_FLOOR, _up(max((x["excess"] for x in cal.locus), default=0.0), 0.05))
    tolerances = {m: round(max(TOLERANCE_FLOOR, _up(s, 0.01)), 2) for m, s in sorted(cal.shortfalls.items())
                  if _up(s, 0.01) > TOLERANCE_FLOOR}
    cal.settings = {"drift": {"min_spearman": round(max(0.0, min_spearman), 2), "alone": "warn"},
                    "locus": {"min_excess": round(min_excess, 2)}, "tolerances": tolerances}
    return cal
