"""Per-word-group checks: the paired metric deltas of `comparison.paired`, split by word group
(`comparison.groups`), so a verdict can name the kind of word that went wrong.

Why corrected intervals: one metric tested on a dozen groups would, at 95 % each, ring by chance
on some group of many honest retrains. Each (method, metric)'s groups form a family: every
interval is widened to the family's Bonferroni level (`comparison.bootstrap.corrected_z` on the
probe-bootstrap standard error), so the chance that any group of one metric fails for nothing stays
at most 1 - confidence. A group is tested only with at least `groups.min_probes` paired probes.
A group check passes or fails (a widened interval that merely straddles the tolerance says nothing
about a group); only the groups of `groups.counted` metrics decide the verdict, the others name the
words behind a pooled check (`comparison.describe.headline`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from comparison.bootstrap import MeanCI, cluster_bootstrap_columns, corrected_z, stable_seed
from comparison.describe import with_reason
from comparison.groups import answer_slots, groups_of
from comparison.inputs import AnswerLike
from comparison.layout import ProbeSetLayout
from comparison.paired import ProbeValues
from comparison.result import MetricComparison
from comparison.rules import metric_verdict
from comparison.settings import RegressionConfig
from comparison.words import WordKey, generation_words


def probe_slots(generations: Sequence[AnswerLike], layout: ProbeSetLayout) -> dict[str, dict[WordKey, str]]:
    """probe -> (word, occurrence) -> slot label, for each answer of a run."""
    return {g.probe_key: answer_slots(generation_words(g), layout.word_classes) for g in generations}


def family_confidence(confidence: float, n_tests: int) -> float:
    """The per-test confidence of a Bonferroni family of `n_tests` at overall `confidence`."""
    return 1.0 - (1.0 - confidence) / max(1, n_tests)


def group_checks(
    candidate: ProbeValues,
    baseline: ProbeValues,
    slots: dict[str, dict[WordKey, str]],
    layout: ProbeSetLayout,
    config: RegressionConfig,
) -> list[MetricComparison]:
    """One check per (method, metric in `config.groups.metrics`, word group) with enough probes."""
    settings = config.groups
    cand_values, directions, base_values = candidate.values, candidate.directions, baseline.values
    checks: list[MetricComparison] = []
    for key in sorted(set(cand_values) & set(base_values)):
        method, metric = key
        if metric not in settings.metrics:
            continue
        deltas: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for probe_key, label in sorted(set(cand_values[key]) & set(base_values[key])):
            if not label:
                continue  # the probe-level value belongs to the pooled check
            delta = cand_values[key][(probe_key, label)] - base_values[key][(probe_key, label)]
            for group in groups_of(label, slots.get(probe_key, {}), layout, settings.words):
                deltas[group][probe_key].append(delta)
        eligible = {g: by_probe for g, by_probe in deltas.items() if len(by_probe) >= settings.min_probes}
        if not eligible:
            continue
        level = family_confidence(config.confidence, len(eligible))
        z = corrected_z(config.confidence, len(eligible))
        tolerance = config.tolerance_for(metric)
        for group in sorted(eligible):
            values = list(eligible[group].values())
            sums = np.array([[np.sum(v)] for v in values])
            counts = np.array([len(v) for v in values], dtype=np.float64)
            ci = cluster_bootstrap_columns(sums, counts, z=z,
                                           rng=stable_seed(config.seed, method, metric, group))
            mean_ci = MeanCI(float(ci.mean[0]), float(ci.low[0]), float(ci.high[0]), ci.n_values, ci.n_probes)
            verdict = "fail" if metric_verdict(mean_ci, directions[key], tolerance) == "fail" else "pass"
            check = MetricComparison(method, metric, directions[key], mean_ci.mean, mean_ci.low, mean_ci.high,
                                     ci.n_values, ci.n_probes, tolerance, verdict, reason="",
                                     counts=settings.affects_verdict and metric in settings.counted, group=group)
            checks.append(with_reason(check, config, confidence=level))
    return checks
