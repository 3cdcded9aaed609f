"""Pair metrics: a metric of two explanations of the same probe, word by word.

The one pair metric is the randomised-weights sanity check (Adebayo et al.): the Spearman rank
correlation between a word's map from the trained model and from a copy with re-drawn weights
(`auditors.metrics.sanity` makes that copy and forces its answer); a method whose maps barely
change (high Spearman) is not explaining the model.

Map drift between two model versions is not here: it is part of judging a candidate against a
baseline, in `comparison.drift`. Similarity itself (Spearman, flat maps) is defined once, in
`comparison.maps`, and used by both.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from auditors.metrics.base import Metric, MetricError, MetricValue, register_metric
from auditors.metrics.context import ProbeContext
from comparison.maps import spearman_similarity


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
class RandomisationSpearman(PairMetric):
    name = "randomisation_spearman"
    direction = "lower_is_better"
    description = "Spearman between a word's map from the trained model and from a weight-randomised copy."

    def word_value(self, a, b):
        return spearman_similarity(a, b)
