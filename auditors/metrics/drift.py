"""Map-to-map comparisons that need no masks: drift between model versions and the sanity check.

* Map drift (for the regression layer): for each word both answers share, the Spearman rank
  correlation of the two word maps and the overlap of their top-20% cells. Words are paired by text
  and occurrence ("dog", "dog#2"), so two versions that answer differently are compared on the words
  they share.
* Randomised-weights sanity check (Adebayo et al.): the same computation between the trained model's
  maps and those of a copy with re-drawn weights; a method whose maps barely change (high Spearman)
  is not explaining the model. `auditors.metrics.sanity` makes that copy and forces its answer.

Similarity itself (Spearman, top overlap, flat maps) is defined once, in `comparison.maps`.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import numpy as np

from auditors.metrics.base import Metric, MetricError, MetricValue, register_metric
from auditors.metrics.context import ProbeContext
from comparison.maps import TOP_FRACTION, spearman_similarity, top_overlap

@dataclass(frozen=True)
class MapDrift:
    spearman: float
    top_overlap: float


def map_drift(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION) -> MapDrift:
    return MapDrift(spearman_similarity(a, b), top_overlap(a, b, fraction))


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
        return spearman_similarity(a, b)


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
        return spearman_similarity(a, b)
