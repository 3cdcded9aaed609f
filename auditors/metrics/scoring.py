"""Entry points: score one explanation against its probe, compare two, aggregate over a probe set.

Why here and not in each caller: the audit flow, the benchmark and the regression layer must all
score the same way (same word matching, same masks, same metric versions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from auditors.metrics.base import MetricError, MetricValue, get_metric, resolve_metrics
from auditors.metrics.context import ProbeContext
from auditors.metrics.drift import PairMetric

if TYPE_CHECKING:
    from auditors.explanation import Explanation
    from auditors.probes import Probe


def score_explanation(
    explanation: "Explanation",
    probe: "Probe | None",
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | str | None = None,
    *,
    noun_vocabulary: Iterable[str] | None = None,
    scorer=None,
    image=None,
    faithfulness=None,
    word_classes: Mapping[str, str] | None = None,
) -> list[MetricValue]:
    """Per-word and per-probe metric values of `explanation` on `probe`, for every method.

    `metrics`: metric or preset names (default: the "default" preset, plus "faithfulness" when a
    `scorer` is given). Metrics that need masks are skipped on probes without objects; deletion /
    insertion need `scorer` (images -> answer-token probabilities, see
    `auditors.metrics.faithfulness.replay_scorer`). `noun_vocabulary`: words that count as nouns
    without a mask here (e.g. every object word of the probe set, `ProbeSet.noun_vocabulary()`).
    `word_classes`: normalised object word -> class (`ProbeSet.word_class_map()`), for the answer
    metrics' slots. Metrics that do not depend on the explainer (the answer metrics) are computed
    once, under method "answer".
    """
    if metrics is None:
        metrics = ["default"] + (["faithfulness"] if scorer is not None else [])
    names = resolve_metrics(metrics)
    chosen = [get_metric(name) for name in names]
    pair = [m.name for m in chosen if isinstance(m, PairMetric)]
    if pair:
        raise MetricError(f"{pair} compare two explanations: use compare_explanations()")
    if scorer is None and any(m.cost == "model" for m in chosen):
        raise MetricError("deletion/insertion AUC need a scorer (see auditors.metrics.faithfulness.replay_scorer)")
    methods = list(explanation.maps) if methods is None else list(methods)
    has_objects = probe is not None and bool(probe.objects)
    masks = [probe.load_mask(i) for i in range(len(probe.objects))] if has_objects else None
    vocabulary = frozenset(noun_vocabulary or ())
    values: list[MetricValue] = []
    for position, method in enumerate(methods):
        ctx = ProbeContext(explanation, probe, method, vocabulary, scorer=scorer, masks=masks, image=image,
                           faithfulness=faithfulness, word_classes=word_classes)
        for metric in chosen:
            if (metric.needs_masks and not has_objects) or (not metric.per_method and position > 0):
                continue
            values.extend(metric.compute(ctx))
    return values


def compare_explanations(
    a: "Explanation",
    b: "Explanation",
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | str = ("sanity",),
) -> list[MetricValue]:
    """Pair metrics (the randomisation sanity check) of two explanations of the same probe."""
    names = resolve_metrics(metrics)
    chosen = [get_metric(name) for name in names]
    not_pair = [m.name for m in chosen if not isinstance(m, PairMetric)]
    if not_pair:
        raise MetricError(f"{not_pair} score a single explanation: use score_explanation()")
    methods = [m for m in a.maps if m in b.maps] if methods is None else list(methods)
    values: list[MetricValue] = []
    for method in methods:
        ctx_a, ctx_b = ProbeContext(a, None, method), ProbeContext(b, None, method)
        for metric in chosen:
            values.extend(metric.compute_pair(ctx_a, ctx_b))
    return values


def aggregate_values(values: Sequence[MetricValue]) -> list[MetricValue]:
    """One value per (method, metric) over many probes, by each metric's own rule (pooled words;
    F1-IoU from the pooled Obj-IoU and Func-IoU)."""
    by_method: dict[str, list[MetricValue]] = {}
    for value in values:
        by_method.setdefault(value.method, []).append(value)
    result = []
    for method, method_values in by_method.items():
        for name in dict.fromkeys(v.metric for v in method_values):
            metric = get_metric(name)
            aggregated = metric.aggregate(method_values)
            if np.isfinite(aggregated):
                result.append(MetricValue(method, name, aggregated, metric.direction, None, metric.version))
    return result
