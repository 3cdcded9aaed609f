"""What a comparison knows about the probe set beyond the two runs' records: where each probe's
objects lie, which class each object word belongs to, the reference answer, and the probe's
counterfactual cue.

Why typed and here: the per-word-class checks, the fixed-locus check, the attention-shift panel and
the counterfactual summary all ask "which cells of this map hold an object?" and "what kind of word
is this?"; they must ask the same way. The layout is built once per probe set from its masks
(`auditors.probes.layout.probe_set_layout`, the only code that reads mask files) and handed to
`comparison.compare_runs` by the flow; this package never reads files.

Footprints: each object's mask is kept as an area-averaged footprint of at most `FOOTPRINT_SIDE`
pixels a side (the share of each footprint pixel the mask covers). A map cell *holds* an object
when the footprint, area-averaged onto the map's grid, covers any of it (the pointing game's rule,
`auditors.metrics.localisation`). On grids that do not divide the footprint evenly, a cell that the
object only borders can count as held: a cell counts as free of objects only when it surely is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from PIL import Image

FOOTPRINT_SIDE = 64
DEFAULT_CLASS = "object word"  # the class of an object word the probe set puts in no declared class
_HELD = 1e-6  # coverage above this (float rounding of an empty cell) counts as held


def area_resize(footprint: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Area-averaged resize of a [0, 1] coverage array to `shape` (rows, cols)."""
    footprint = np.asarray(footprint, dtype=np.float32)
    if footprint.shape == tuple(shape):
        return footprint.astype(np.float64)
    image = Image.fromarray(footprint, mode="F")
    return np.asarray(image.resize((int(shape[1]), int(shape[0])), Image.Resampling.BOX), np.float64)


@dataclass(frozen=True)
class ObjectLayout:
    """One object of a probe: its normalised words and its footprint."""

    words: tuple[str, ...]
    footprint: np.ndarray = field(repr=False, compare=False)

    def cells(self, grid: tuple[int, int]) -> np.ndarray:
        """Bool [rows, cols]: the grid cells this object touches."""
        return area_resize(self.footprint, grid) > _HELD


@dataclass(frozen=True)
class CueLayout:
    """A probe's counterfactual cue (probe metadata `cue`): something that is not an object but may
    carry an object's word. `mode`: present (carries the named object's word), absent (not drawn),
    conflicting (carries another word of its class); `word` None when it is not drawn."""

    kind: str
    mode: str
    word: str | None
    carries: str | None  # the class of the word it carries, e.g. "colour"
    footprint: np.ndarray | None = field(default=None, repr=False, compare=False)

    def cells(self, grid: tuple[int, int]) -> np.ndarray:
        if self.footprint is None:
            return np.zeros(grid, dtype=bool)
        return area_resize(self.footprint, grid) > _HELD


@dataclass(frozen=True)
class ProbeLayout:
    """One probe: its objects (in the probe set's order), its reference answer and its cue."""

    probe_key: str
    objects: tuple[ObjectLayout, ...] = ()
    caption: str | None = None
    cue: CueLayout | None = None

    def held_cells(self, grid: tuple[int, int]) -> np.ndarray:
        """Bool [rows, cols]: cells that hold any object."""
        held = np.zeros(tuple(int(g) for g in grid), dtype=bool)
        for obj in self.objects:
            held |= obj.cells(grid)
        return held

    def words(self) -> frozenset[str]:
        return frozenset(w for obj in self.objects for w in obj.words)


@dataclass(frozen=True)
class ProbeSetLayout:
    """Every probe's layout, the class of each object word, and whether objects are listed in the
    order a reference answer names them (`ordered_objects`)."""

    probes: Mapping[str, ProbeLayout] = field(default_factory=dict)
    word_classes: Mapping[str, str] = field(default_factory=dict)  # normalised word -> class
    ordered_objects: bool = False

    _held: dict[tuple[str, tuple[int, int]], np.ndarray] = field(default_factory=dict, init=False, repr=False,
                                                               compare=False)
    _vocabulary: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def get(self, probe_key: str) -> ProbeLayout | None:
        return self.probes.get(probe_key)

    def held_cells(self, probe_key: str, grid: tuple[int, int]) -> np.ndarray | None:
        """Bool [rows, cols]: the cells of probe `probe_key` that hold an object (None: no layout
        for that probe); computed once per probe and grid."""
        layout = self.probes.get(probe_key)
        if layout is None:
            return None
        key = (probe_key, (int(grid[0]), int(grid[1])))
        if key not in self._held:
            self._held[key] = layout.held_cells(key[1])
        return self._held[key]

    def class_of(self, word: str) -> str | None:
        """The class of a normalised word: its declared class, `DEFAULT_CLASS` for another object
        word of the set, None for a word no object has (function words, names of nothing here)."""
        if word in self.word_classes:
            return self.word_classes[word]
        if not self._vocabulary:
            self._vocabulary.update(w for p in self.probes.values() for w in p.words())
        return DEFAULT_CLASS if word in self._vocabulary else None

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.word_classes.values())))
