"""Minimal stand-ins for the records a comparison reads.

Why not `storage.records`: the comparison room reads records by their attributes only, and its
tests prove it by using these plain classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    method: str
    metric: str
    value: float
    direction: str
    probe_key: str | None = None
    word: str | None = None


@dataclass(frozen=True)
class Answer:
    probe_key: str
    text: str
    tokens: tuple[str, ...]
    word_index: tuple[int, ...]


@dataclass(frozen=True)
class Map:
    probe_key: str
    token_index: int
    token_text: str
    word_index: int
    method: str
    map: np.ndarray


def blob(peak: tuple[int, int], shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((yy - peak[0]) ** 2 + (xx - peak[1]) ** 2) / 4.0)


def answer(probe: str, words: tuple[str, ...]) -> Answer:
    """An answer as byte-level BPE pieces ("a", "\u0120red", ...) plus an end-of-sequence token."""
    tokens = tuple(("\u0120" if i else "") + w for i, w in enumerate(words)) + ("<eos>",)
    return Answer(probe, " ".join(words), tokens, tuple(range(len(words))) + (-1,))


def small_runs(n_probes: int = 4, metric_shift: float = -0.3, peak: tuple[int, int] = (6, 6)):
    """(candidate, baseline) `RunResults`: obj_iou shifted by `metric_shift`, maps moved to `peak`."""
    from comparison import RunResults

    words = ("a", "red", "circle")
    runs = []
    for run_id, shift, where in ((2, metric_shift, peak), (1, 0.0, (1, 1))):
        answers = [answer(f"p{i}", words) for i in range(n_probes)]
        metrics = [Metric("tam", "obj_iou", 0.5 + shift + 0.01 * i, "higher_is_better", f"p{i}", w)
                   for i in range(n_probes) for w in words[1:]]
        maps = [Map(a.probe_key, t, a.tokens[t], t, "tam", blob(where)) for a in answers for t in range(3)]
        runs.append(RunResults(run_id, metrics, maps, answers))
    return runs[0], runs[1]
