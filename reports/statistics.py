"""The report's statistics: each version's metric means with a probe-bootstrap CI.

Why the same bootstrap as the verdict (`comparison.bootstrap`): the table's intervals and the
regression check's must resample the same unit (probes), or they would disagree about how sure a
number is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from comparison.bootstrap import MeanCI, cluster_bootstrap_mean, stable_seed
from reports.data import ReportData
from reports.options import ReportOptions
from storage.records import Direction, MetricRecord

MetricKey = tuple[str, str]  # (method, metric)


@dataclass(frozen=True)
class MetricRow:
    method: str
    metric: str
    direction: Direction
    candidate: MeanCI | None
    baseline: MeanCI | None
    candidate_pooled: float | None  # aggregate value stored without per-probe values
    baseline_pooled: float | None


def values_by_probe(metrics: Sequence[MetricRecord]) -> dict[MetricKey, dict[str, list[float]]]:
    out: dict[MetricKey, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in metrics:
        if m.probe_key is not None and math.isfinite(m.value):
            out[(m.method, m.metric)][m.probe_key].append(float(m.value))
    return out


def probe_means(metrics: Sequence[MetricRecord]) -> dict[MetricKey, dict[str, float]]:
    """(method, metric) -> probe -> the mean of the probe's values."""
    return {key: {p: float(np.mean(v)) for p, v in by_probe.items()}
            for key, by_probe in values_by_probe(metrics).items()}


def _pooled(metrics: Sequence[MetricRecord]) -> dict[MetricKey, float]:
    return {(m.method, m.metric): float(m.value) for m in metrics if m.probe_key is None}


def metric_rows(data: ReportData, options: ReportOptions) -> list[MetricRow]:
    """Mean per method and metric with a probe-bootstrap CI, for each version."""
    cand, base = values_by_probe(data.metrics), values_by_probe(data.baseline_metrics)
    cand_pool, base_pool = _pooled(data.metrics), _pooled(data.baseline_metrics)
    directions = data.directions()
    rows = []
    for key in sorted(set(cand) | set(base) | set(cand_pool) | set(base_pool)):
        method, metric = key

        def ci(values: dict[str, list[float]] | None, side: str) -> MeanCI | None:
            if not values:
                return None
            return cluster_bootstrap_mean(list(values.values()), n_resamples=options.n_resamples,
                                          rng=stable_seed(options.seed, side, method, metric))

        rows.append(MetricRow(method, metric, directions[key], ci(cand.get(key), "candidate"),
                              ci(base.get(key), "baseline"), cand_pool.get(key), base_pool.get(key)))
    return rows


def distribution_values(data: ReportData) -> dict[MetricKey, dict[str, list[float]]]:
    """(method, metric) -> side -> per-probe means, for the distribution chart."""
    out: dict[MetricKey, dict[str, list[float]]] = defaultdict(dict)
    for side, metrics in (("candidate", data.metrics), ("baseline", data.baseline_metrics)):
        for key, by_probe in probe_means(metrics).items():
            out[key][side] = list(by_probe.values())
    return dict(out)


@dataclass(frozen=True)
class HistoryPoint:
    """One aggregate metric of one audit in the model's history, for the trend chart."""

    method: str
    metric: str
    audit: str  # the x-axis label: the version, and the run when a version was audited twice
    value: float


def history_points(data: ReportData) -> list[HistoryPoint]:
    """Every aggregate metric in the history, audits in version order (`ReportData.history`)."""
    runs_per_version: dict[str, int] = defaultdict(int)
    for h in data.history:
        runs_per_version[h.model_version] += 1
    points = []
    for h in data.history:
        audit = f"v{h.model_version}" + (f" (run {h.run_id})" if runs_per_version[h.model_version] > 1 else "")
        points += [HistoryPoint(m.method, m.metric, audit, float(m.value)) for m in h.aggregates]
    return points
