"""The explainer interface and its registry (one class per method behind one verb, as Captum does).

An explainer's ``attribute`` turns the shared ``ExplainState`` into one map per generated token
over the original-scale vision grid: float32 ``[n_generated, h, w]``, finite and non-negative.
Each method's algorithm is in its own module; quantities several methods need are computed once
per explanation (``auditors.state.per_explanation``). Users call ``auditors.explain``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from auditors.errors import AuditorInputError


class Explainer(ABC):
    name: ClassVar[str] = ""
    #: one line for docs and reports
    summary: ClassVar[str] = ""

    @abstractmethod
    def attribute(self, state) -> np.ndarray:
        """Maps ``[n_generated, h, w]`` float32 for the generated tokens."""

    def needs_rankings(self, settings) -> bool:
        """Whether this method reads the prompt tokens' top-k rankings (``methods.arc.record_topk``):
        generation then projects them along with its own LM-head calls, which is cheaper."""
        return False

    def needed_scales(self, state) -> tuple[float, ...]:
        """Scales whose inputs this method needs (validated before any work is kept)."""
        return (1.0,)


EXPLAINERS: dict[str, Explainer] = {}


def register_explainer(explainer: Explainer) -> Explainer:
    EXPLAINERS[explainer.name] = explainer
    return explainer


def get_explainer(name: str) -> Explainer:
    try:
        return EXPLAINERS[name]
    except KeyError:
        raise AuditorInputError(f"unknown explanation method {name!r}; available: {', '.join(EXPLAINERS)}") from None


def finalise(maps: np.ndarray) -> np.ndarray:
    """The contract every explainer's output meets: float32, finite, non-negative."""
    return np.maximum(np.nan_to_num(np.asarray(maps, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0), 0.0)
