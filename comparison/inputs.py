"""What a comparison reads: one run's metric values, maps and answers, as plain structural types.

Why Protocols and not `storage.records`: this package imports none of the project's packages, so
it names only the attributes it reads. `storage.records.MetricRecord`, `TokenMapRecord` and
`GenerationRecord` have them, and so has any test double.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from comparison.words import GenerationLike, TokenMapLike

Direction = Literal["higher_is_better", "lower_is_better"]


class MetricLike(Protocol):
    """One metric value: per probe (and per word) when `probe_key` is set, else an aggregate."""

    method: str
    metric: str
    value: float
    direction: Direction
    probe_key: str | None
    word: str | None


class MapLike(TokenMapLike, Protocol):
    """One token's attribution map by one method."""

    probe_key: str
    method: str
    map: np.ndarray


class AnswerLike(GenerationLike, Protocol):
    """The answer a run generated for one probe."""

    probe_key: str
    text: str


@dataclass(frozen=True)
class RunResults:
    """What one audited run produced, as read from storage once and shared by the comparison and
    the report."""

    run_id: int
    metrics: list[MetricLike] = field(default_factory=list)
    maps: list[MapLike] = field(default_factory=list)
    generations: list[AnswerLike] = field(default_factory=list)

    def per_probe_metrics(self) -> list[MetricLike]:
        return [m for m in self.metrics if m.probe_key is not None]

    def aggregate_metrics(self) -> list[MetricLike]:
        return [m for m in self.metrics if m.probe_key is None]
