"""One run's word maps with what the probe set says about each word: its class, its slot in the
answer ("the first colour word") and whether an object of the probe has it.

Why one home: the fixed-locus check, the attention-shift panel and the counterfactual summary all
walk a run's word maps with these labels; they must label them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from comparison.drift import run_answers, word_maps
from comparison.groups import answer_slots
from comparison.inputs import RunResults
from comparison.layout import ProbeSetLayout
from comparison.words import WordKey, occurrence_keys


@dataclass(frozen=True)
class WordMap:
    """The map (mean of the word's tokens' maps) of one answer word by one method."""

    probe_key: str
    method: str
    key: WordKey  # (word, occurrence)
    word_class: str | None
    slot: str | None  # "<class>@<k>"
    on_object: bool  # an object of the probe has this word
    map: np.ndarray

    def groups(self, all_label: str) -> tuple[str, ...]:
        """`all_label` (every object word), the class and the slot, where known."""
        return tuple(g for g in (all_label, self.word_class, self.slot) if g)


def run_word_maps(run: RunResults, layout: ProbeSetLayout) -> list[WordMap]:
    """Every classed or object word's map of `run`, on probes the layout knows."""
    words, _, maps = run_answers(run)
    out: list[WordMap] = []
    for probe_key in sorted(words):
        probe = layout.get(probe_key)
        if probe is None:
            continue
        occurrence = occurrence_keys(words[probe_key])
        slots = answer_slots(words[probe_key], layout.word_classes)
        held = probe.words()
        for method, by_word in sorted(word_maps(maps.get(probe_key, []), occurrence).items()):
            for key, grid in sorted(by_word.items()):
                word_class = layout.class_of(key[0])
                if word_class is None and key[0] not in held:
                    continue
                out.append(WordMap(probe_key, method, key, word_class, slots.get(key), key[0] in held, grid))
    return out


def peak_cell(grid: np.ndarray) -> tuple[int, int] | None:
    """The argmax cell (first in row-major order), None for a flat or non-finite map."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.size == 0 or not np.isfinite(grid).all() or grid.max() == grid.min():
        return None
    row, col = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return int(row), int(col)


def mass_share(grid: np.ndarray) -> np.ndarray | None:
    """The map's positive part scaled to sum 1 (None: no positive mass)."""
    positive = np.clip(np.nan_to_num(np.asarray(grid, dtype=np.float64)), 0.0, None)
    total = positive.sum()
    return positive / total if total > 0 else None
