"""Per-probe statistics and their probe-bootstrap confidence intervals.

Every quantity is kept as the list of its values per probe, so that pooled means (the TAM rule:
words pooled over probes) get their CI from the project's one probe bootstrap,
``comparison.bootstrap.cluster_bootstrap_mean``, which resamples probes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from comparison.bootstrap import MeanCI, cluster_bootstrap_mean, stable_seed

F1_PARTS = ("obj_iou", "func_iou")


@dataclass
class ProbeStats:
    """Every value one probe contributed, by key (``"tam/pointing_game"``, ``"caption_accuracy"``...)."""

    probe_id: str
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float | None) -> None:
        if value is None or not np.isfinite(value):
            return
        self.values.setdefault(key, []).append(float(value))


@dataclass(frozen=True)
class Estimate:
    """A pooled mean with its 95% CI, as written to the results file."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def to_dict(self) -> dict:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


def _round(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _estimate(ci: MeanCI) -> Estimate:
    return Estimate(_round(ci.mean), _round(ci.low), _round(ci.high), ci.n_values)


def _f1(obj: float, func: float) -> float:
    return 2 * obj * func / (obj + func) if obj + func > 0 else 0.0


def summarise(all_stats: list[ProbeStats], methods, n_boot: int, seed: int) -> dict[str, dict]:
    """Point estimate and 95% CI of every pooled quantity, and of each method's F1-IoU.

    F1-IoU = 2 O F / (O + F) is increasing in both Obj-IoU (O) and Func-IoU (F). Its interval is
    F1 of the two lower bounds to F1 of the two upper bounds of 97.5% intervals of O and F: both
    hold together with probability >= 95% (union bound), so the F1 interval is a conservative 95% CI.
    """
    keys = sorted({key for stats in all_stats for key in stats.values})
    result: dict[str, dict] = {}
    wider: dict[str, MeanCI] = {}
    for key in keys:
        groups = [stats.values[key] for stats in all_stats if key in stats.values]
        result[key] = _estimate(cluster_bootstrap_mean(groups, n_resamples=n_boot,
                                                       rng=stable_seed(seed, key))).to_dict()
        if key.split("/")[-1].split(":")[0] in F1_PARTS:
            wider[key] = cluster_bootstrap_mean(groups, n_resamples=n_boot, confidence=0.975,
                                                rng=stable_seed(seed, key, "f1"))
    for suffix in ("", ":untrained"):
        for method in methods:
            obj, func = wider.get(f"{method}/obj_iou{suffix}"), wider.get(f"{method}/func_iou{suffix}")
            if obj is None or func is None:
                continue
            estimate = Estimate(_round(_f1(obj.mean, func.mean)), _round(_f1(obj.low, func.low)),
                                _round(_f1(obj.high, func.high)), min(obj.n_probes, func.n_probes))
            result[f"{method}/f1_iou{suffix}"] = estimate.to_dict()
    return result
