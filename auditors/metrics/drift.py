"""Map-to-map comparisons that need no masks: drift between model versions and the sanity check.

* Map drift (for the regression layer): for each word both answers share, the Spearman rank
  correlation of the two word maps and the overlap of their top-20% cells. Words are paired by text
  and occurrence ("dog", "dog#2"), so two versions that answer differently are compared on the words
  they share.
* Randomised-weights sanity check (Adebayo et al.): the same computation between the trained model's
  maps and those of a copy with re-drawn weights; a method whose maps barely change (high Spearman)
  is not explaining the model. `auditors.metrics.sanity` makes that copy and forces its answer.

Degenerate maps: when a map is constant its ranks carry no information; Spearman is then 1.0 if
both maps are identical and 0.0 otherwise.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from auditors.metrics.base import Metric, MetricError, MetricValue, register_metric
from auditors.metrics.context import ProbeContext

TOP_FRACTION = 0.2


@dataclass(frozen=True)
class MapDrift:
    spearman: float
    top_overlap: float


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise MetricError(f"maps differ in size: {a.shape} vs {b.shape}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(spearmanr(a, b).statistic)


def top_overlap(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """|top(a) ∩ top(b)| / k with k = ceil(fraction * cells); ties broken in row-major order."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    k = max(1, math.ceil(fraction * a.size))
    top_a = set(np.argsort(-a, kind="stable")[:k].tolist())
    top_b = set(np.argsort(-b, kind="stable")[:k].tolist())
    return len(top_a & top_b) / k


def map_drift(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION) -> MapDrift:
    return MapDrift(spearman(a, b), top_overlap(a, b, fraction))


class PairMetric(Metric):
    """A metric of two explanations of the same probe (same method): `compute_pair(a, b)`."""

    needs_masks = False
    cost = "pair"

    def compute(self, ctx):
        raise TypeError(f"{self.name} compares two explanations: call compute_pair(a, b)")

    @abstractmethod
    def word_value(self, a: np.ndarray, b: np.ndarray) -> float: ...

    def compute_pair(self, a: ProbeContext, b: ProbeContext) -> list[MetricValue]:
        if a.maps.shape[1:] != b.maps.shape[1:]:
            raise MetricError(f"grids differ: {a.maps.shape[1:]} vs {b.maps.shape[1:]}")
        b_words = {w.label: w for w in b.words if w.key}
        values = []
        for word in a.words:
            other = b_words.get(word.label) if word.key else None
            if other is not None:
                values.append(self.value(a, self.word_value(a.word_map(word), b.word_map(other)), word.label, word.index))
        return self.probe_values(a, values)


@register_metric
class DriftSpearman(PairMetric):
    name = "drift_spearman"
    direction = "higher_is_better"
    description = "Spearman rank correlation of a word's maps from two explanations of one probe."

    def word_value(self, a, b):
        return spearman(a, b)


@register_metric
class DriftTopOverlap(PairMetric):
    name = "drift_top20_overlap"
    direction = "higher_is_better"
    description = "Overlap of the top-20% vision tokens of a word's maps from two explanations of one probe."

    def word_value(self, a, b):
        return top_overlap(a, b)


@register_metric
class RandomisationSpearman(PairMetric):
    name = "randomisation_spearman"
    direction = "lower_is_better"
    description = "Spearman between a word's map from the trained model and from a weight-randomised copy."

    def word_value(self, a, b):
        return spearman(a, b)
