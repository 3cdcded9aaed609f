"""Paired per-probe, per-word metric deltas between two runs, with the probe bootstrap.

Every per-probe metric value is paired by (method, metric, probe, word) across the two runs;
delta = candidate - baseline. The mean delta gets a CI that resamples PROBES, not words (the words
of one caption share an image and are not independent, see `comparison.bootstrap`), and the rules
of `comparison.rules` turn it into a verdict against the metric's tolerance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from comparison.bootstrap import cluster_bootstrap_mean, stable_seed
from comparison.describe import with_reason
from comparison.errors import ComparisonError
from comparison.inputs import Direction, MetricLike
from comparison.result import MetricComparison, ProbeDelta
from comparison.rules import few_probes, metric_verdict
from comparison.settings import RegressionConfig
from comparison.words import normalize_word

MetricKey = tuple[str, str]  # (method, metric)


@dataclass
class PairedChecks:
    """The metric checks, each probe's mean delta per metric, and what could not be paired."""

    checks: list[MetricComparison] = field(default_factory=list)
    probe_deltas: dict[str, list[ProbeDelta]] = field(default_factory=lambda: defaultdict(list))
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProbeValues:
    """One run's per-probe metric values, read once and shared by the pooled and the group checks:
    (method, metric) -> (probe, normalised word) -> value, and each metric's direction."""

    values: dict[MetricKey, dict[tuple[str, str], float]]
    directions: dict[MetricKey, Direction]

    @classmethod
    def of(cls, records: Sequence[MetricLike]) -> "ProbeValues":
        return cls(*per_probe_values(records))


def per_probe_values(
    records: Sequence[MetricLike],
) -> tuple[dict[MetricKey, dict[tuple[str, str], float]], dict[MetricKey, Direction]]:
    """(method, metric) -> (probe, normalised word) -> value; repeats of a key are averaged."""
    sums: dict[MetricKey, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    directions: dict[MetricKey, Direction] = {}
    for r in records:
        if r.probe_key is None or not math.isfinite(r.value):
            continue
        word = normalize_word(r.word) if r.word is not None else ""
        sums[(r.method, r.metric)][(r.probe_key, word)].append(float(r.value))
        directions[(r.method, r.metric)] = r.direction
    values = {key: {k: sum(v) / len(v) for k, v in by_key.items()} for key, by_key in sums.items()}
    return values, directions


def paired_checks(candidate: ProbeValues, baseline: ProbeValues, config: RegressionConfig) -> PairedChecks:
    """One check per (method, metric) both runs scored on at least one common probe and word."""
    cand_values, cand_dirs = candidate.values, candidate.directions
    base_values, base_dirs = baseline.values, baseline.directions
    out = PairedChecks()
    for key in sorted(set(cand_values) | set(base_values)):
        method, metric = key
        if key not in cand_values or key not in base_values:
            side = "candidate" if key in cand_values else "baseline"
            out.skipped.append(f"{method} {metric} exists only in the {side} run; not compared.")
            continue
        if cand_dirs[key] != base_dirs[key]:
            raise ComparisonError(f"{method} {metric} is {cand_dirs[key]} in the candidate run but "
                                  f"{base_dirs[key]} in the baseline run")
        shared = sorted(set(cand_values[key]) & set(base_values[key]))
        if not shared:
            out.skipped.append(f"{method} {metric}: no probe and word in common; not compared.")
            continue
        by_probe: dict[str, list[float]] = defaultdict(list)
        for probe_key, word in shared:
            by_probe[probe_key].append(cand_values[key][(probe_key, word)] - base_values[key][(probe_key, word)])
        ci = cluster_bootstrap_mean(list(by_probe.values()), n_resamples=config.n_resamples,
                                    confidence=config.confidence, rng=stable_seed(config.seed, method, metric))
        tolerance = config.tolerance_for(metric)
        verdict = few_probes(metric_verdict(ci, cand_dirs[key], tolerance), ci.n_probes, config.min_probes)
        check = MetricComparison(method, metric, cand_dirs[key], ci.mean, ci.low, ci.high, ci.n_values,
                                 ci.n_probes, tolerance, verdict, reason="")
        out.checks.append(with_reason(check, config))
        for probe_key, deltas in sorted(by_probe.items()):
            out.probe_deltas[probe_key].append(ProbeDelta(method, metric, float(np.mean(deltas)), len(deltas)))
    return out
