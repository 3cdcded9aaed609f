"""Metric classes and their registry (small classes + presets, in the style of Evidently).

Why one class per metric with declared properties: callers (the audit flow, the benchmark, the
regression layer) choose metrics by what they need and what they cost without knowing how each is
computed: `needs_masks` (skip on probes without objects), `cost` ("map": from the maps alone,
"model": extra forward passes, "pair": needs a second explanation), `direction` (for regression
verdicts) and `version` (stored with every value, so a changed definition never compares against
values of the old one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Sequence

import numpy as np

from auditors.errors import AuditorInputError

if TYPE_CHECKING:
    from auditors.metrics.context import ProbeContext

Direction = Literal["higher_is_better", "lower_is_better"]
Cost = Literal["map", "model", "pair"]


class MetricError(AuditorInputError):
    """A metric asked for something it cannot compute (unknown name, missing scorer, ...)."""


@dataclass(frozen=True)
class MetricValue:
    """One value of one metric for one method on one probe.

    `word` is None for the probe-level value, else the answer word it belongs to (the k-th repeat
    of a word, k >= 2, is written "word#k" so that (probe, word) stays a unique key);
    `word_index` is that word's position in the answer.
    """

    method: str
    metric: str
    value: float
    direction: Direction
    word: str | None = None
    metric_version: str = "1"
    word_index: int | None = None


class Metric(ABC):
    """A metric computed from one probe's explanation (one method at a time)."""

    name: ClassVar[str]
    direction: ClassVar[Direction]
    needs_masks: ClassVar[bool]
    cost: ClassVar[Cost] = "map"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    per_word: ClassVar[bool] = True  # emits per-word values (pooled when aggregating)
    per_method: ClassVar[bool] = True  # False: one value set per probe whatever the explainer (answers)

    @abstractmethod
    def compute(self, ctx: "ProbeContext") -> list[MetricValue]:
        """Per-word values (if any) followed by the probe-level value (word None)."""

    def aggregate(self, values: Sequence[MetricValue]) -> float:
        """Value over many probes from all values of one method (each metric picks its own).

        Per-word values are pooled over all words of all probes (the TAM protocol's rule); metrics
        without per-word values average their probe-level values.
        """
        return pooled_mean(values, self.name, self.per_word)

    def value(self, ctx: "ProbeContext", value: float, word: str | None = None, word_index: int | None = None):
        return MetricValue(ctx.method, self.name, float(value), self.direction, word, self.version, word_index)

    def probe_values(self, ctx: "ProbeContext", per_word: list[MetricValue]) -> list[MetricValue]:
        """Per-word values plus their mean as the probe-level value (nothing if there are none)."""
        if not per_word:
            return []
        return per_word + [self.value(ctx, float(np.mean([v.value for v in per_word])))]


def pooled_mean(values: Sequence[MetricValue], metric: str, per_word: bool) -> float:
    """Mean of `metric`'s per-word values (per_word) or probe-level values, ignoring NaN."""
    chosen = [v.value for v in values if v.metric == metric and (v.word is not None) == per_word]
    chosen = [v for v in chosen if np.isfinite(v)]
    return float(np.mean(chosen)) if chosen else float("nan")


_REGISTRY: dict[str, type] = {}

PRESETS: dict[str, tuple[str, ...]] = {
    "tam": ("obj_iou", "func_iou", "f1_iou"),
    "localisation": (
        "obj_iou",
        "obj_iou_per_word",
        "func_iou",
        "f1_iou",
        "obj_precision",
        "obj_recall",
        "pointing_game",
        "energy_in_mask",
        "peak_off_object",
    ),
    "answer": ("answer_recall", "answer_precision", "answer_exact"),
    "faithfulness": ("deletion_auc", "insertion_auc"),
    "sanity": ("randomisation_spearman",),
}
PRESETS["default"] = PRESETS["localisation"] + PRESETS["answer"]


def register_metric(cls: type) -> type:
    """Class decorator: add a metric class to the registry under its `name`."""
    name = getattr(cls, "name", None)
    if not name:
        raise MetricError(f"{cls.__name__} has no name")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise MetricError(f"metric {name!r} is registered twice ({_REGISTRY[name].__name__}, {cls.__name__})")
    _REGISTRY[name] = cls
    return cls


def get_metric(name: str):
    """An instance of the registered metric `name`."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise MetricError(f"unknown metric {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def available_metrics(cost: Cost | None = None) -> list[str]:
    _ensure_loaded()
    return sorted(name for name, cls in _REGISTRY.items() if cost is None or cls.cost == cost)


def resolve_metrics(names: Sequence[str] | str | None) -> list[str]:
    """Expand preset names and metric names into a list of metric names (order kept, no repeats)."""
    _ensure_loaded()
    if names is None:
        names = ["default"]
    elif isinstance(names, str):
        names = [names]
    resolved: list[str] = []
    for name in names:
        for item in PRESETS.get(name, (name,)):
            if item not in _REGISTRY:
                raise MetricError(f"unknown metric or preset {item!r}; metrics: {', '.join(sorted(_REGISTRY))}; "
                                  f"presets: {', '.join(sorted(PRESETS))}")
            if item not in resolved:
                resolved.append(item)
    return resolved


def _ensure_loaded() -> None:
    # The metric modules register themselves on import.
    from auditors.metrics import answer, drift, faithfulness, localisation  # noqa: F401
