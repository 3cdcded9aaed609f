"""Explanation-quality metrics (docs/DESIGN.md section 4): one small class per metric, in a registry.

`score_explanation(explanation, probe)` scores one explanation; `compare_explanations(a, b)` gives
the randomisation sanity check; `aggregate_values(values)` pools over a probe set.
"""

from auditors.metrics.base import (
    PRESETS,
    Metric,
    MetricError,
    MetricValue,
    available_metrics,
    get_metric,
    register_metric,
    resolve_metrics,
)
from auditors.metrics.context import ProbeContext
from auditors.metrics.faithfulness import FaithfulnessSettings, replay_scorer
from auditors.metrics.localisation import energy_in_mask, pointing_chance, pointing_hit
from auditors.metrics.sanity import force_answer, randomised_copy, untrained_copy
from auditors.metrics.scoring import aggregate_values, compare_explanations, score_explanation
from auditors.metrics.words import FUNCTION_WORDS, normalize_word  # the one definition: comparison.words

__all__ = [
    "FUNCTION_WORDS",
    "PRESETS",
    "FaithfulnessSettings",
    "Metric",
    "MetricError",
    "MetricValue",
    "ProbeContext",
    "aggregate_values",
    "available_metrics",
    "compare_explanations",
    "energy_in_mask",
    "force_answer",
    "get_metric",
    "normalize_word",
    "pointing_chance",
    "pointing_hit",
    "randomised_copy",
    "register_metric",
    "replay_scorer",
    "resolve_metrics",
    "score_explanation",
    "untrained_copy",
]
