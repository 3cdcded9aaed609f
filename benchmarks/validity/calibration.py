"""Thresholds from the null: what honest clean retrains look like against each other.

Only clean-versus-clean comparisons of the calibration seeds enter here (never a reported seed,
never a shortcut), so the thresholds know nothing of any cue. Rules, each the least strict setting
under which no calibration pair fails, rounded outwards:

* map drift: `drift.min_spearman` = the lowest lower CI bound of any honest pair's mean Spearman
  (either method), rounded down to 0.05; map drift alone only warns (`drift.alone = "warn"`);
* fixed locus: `locus.min_excess` = the largest excess estimate of any clean model's maps, rounded
  up to 0.05 (at least 0.10): an honest model never shows more;
* explanation metrics (pooled over all words): honest retrains differ from each other by chance in
  training, not only in probe sampling, and the paired-bootstrap interval sees only the latter. So
  each metric's tolerance is the upper 97.5 % prediction bound of a new honest pair's change,
  `t(0.975, n - 1) * rms * sqrt(1 + 1/n)`, from the changes of the n honest (pair, method)
  comparisons (judged both ways, so their mean is 0 by construction), rounded up to 0.01 and at
  least the shipped 0.05. A check fails only when its whole interval lies beyond that. (The first
  rule, the largest shortfall of any honest pair's interval, let the next honest retrain fail by
  0.14 in the pointing game with three calibration models; a maximum over few pairs is no bound on
  the next one.)
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
    null_changes: dict[str, list[float]] = field(default_factory=dict)  # metric -> honest changes, worse < 0
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


def prediction_bound(changes: Sequence[float], level: float = 0.975) -> float:
    """Upper `level` prediction bound of |change| for one more honest pair, from `changes` measured
    both ways (each pair twice, opposite signs): `t(level, n - 1) * rms * sqrt(1 + 1/n)`, n pairs."""
    from scipy.stats import t

    n = max(1, len(changes) // 2)
    if n < 2:
        return TOLERANCE_FLOOR
    rms = math.sqrt(sum(c * c for c in changes) / len(changes))
    return float(t.ppf(level, n - 1) * rms * math.sqrt(1 + 1 / n))


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
                change = -check.delta if check.direction == "lower_is_better" else check.delta
                cal.null_changes.setdefault(check.metric, []).append(round(float(change), 4))
    min_spearman = _down(min((d["ci_low"] for d in cal.drift), default=0.3), 0.05)
    min_excess = max(MIN_EXCESS_FLOOR, _up(max((x["excess"] for x in cal.locus), default=0.0), 0.05))
    bounds = {m: prediction_bound(changes) for m, changes in sorted(cal.null_changes.items())}
    tolerances = {m: round(_up(b, 0.01), 2) for m, b in bounds.items() if _up(b, 0.01) > TOLERANCE_FLOOR}
    cal.settings = {"drift": {"min_spearman": round(max(0.0, min_spearman), 2), "alone": "warn"},
                    "locus": {"min_excess": round(min_excess, 2)}, "tolerances": tolerances}
    return cal
