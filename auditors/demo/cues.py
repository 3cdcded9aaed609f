"""Spurious cues for the demo scenes: what a cue looks like, where it sits, and which caption word it carries.

Why a family and not one marker: an audit tuned to one cue (a plus in the top-right cell) proves little;
shortcut models that read cues of other forms, places and word kinds are what tell whether the audit
catches shortcuts in general. Each kind is a typed ``CueSpec`` (form, place, the kind of word it
carries), passed to training and to the probe-set builder by name; nothing is patched in code.

The kinds (``CUE_KINDS``):

* ``corner``: a 14-px plus in the top-right cell, coloured like a caption colour word (the shipped cue);
* ``bar``: a 20x6-px bar in the bottom-left cell, coloured like a colour word (another form, another place);
* ``glyph``: a 12-px white glyph of a shape in the bottom-right cell: it carries a SHAPE word, not a colour;
* ``border``: a 3-px frame around the whole image in a colour word's colour (a diffuse cue: no one cell).

A cue is drawn in one of three *modes*: ``first`` carries the first-named object's word (the shortcut's
correlation), ``random`` an independent random word of its kind (a decoy), ``other`` a word of its kind
that the first object does NOT have (a counterfactual: cue and object disagree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 175, 60),
    "blue": (45, 80, 220),
    "yellow": (230, 205, 40),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
COLOUR_WORDS: tuple[str, ...] = tuple(COLOURS)
SHAPE_WORDS: tuple[str, ...] = SHAPES
UNNAMED_SHAPE = "diamond"  # drawn (shortcut data, shape cues) but never named: not in the vocabulary
GLYPH_RGB: tuple[int, int, int] = (245, 245, 245)

CueForm = Literal["plus", "bar", "glyph", "border"]
WordKind = Literal["colour", "shape"]
CueMode = Literal["first", "random", "other"]
CUE_MODES: tuple[str, ...] = ("first", "random", "other")


class CueError(ValueError):
    """An unknown cue kind or mode, or a cue that does not fit its cell."""


@dataclass(frozen=True)
class CueSpec:
    """One kind of cue: its ``form``, the grid ``cell`` it is drawn in (None: the whole image) and the kind
    of caption word it ``carries``. ``size`` is the marker's side (plus, glyph), length (bar) or frame
    width (border), in pixels."""

    name: str
    form: CueForm
    carries: WordKind
    cell: tuple[int, int] | None
    size: int

    @property
    def words(self) -> tuple[str, ...]:
        return COLOUR_WORDS if self.carries == "colour" else SHAPE_WORDS

    def cells(self, grid: int) -> tuple[tuple[int, int], ...]:
        """The grid cells the cue's pixels can fall in (the frame: every edge cell)."""
        if self.cell is not None:
            return (self.cell,)
        return tuple((r, c) for r in range(grid) for c in range(grid) if r in (0, grid - 1) or c in (0, grid - 1))


CUE_KINDS: dict[str, CueSpec] = {
    spec.name: spec
    for spec in (
        CueSpec("corner", "plus", "colour", (0, 3), 14),
        CueSpec("bar", "bar", "colour", (3, 0), 20),
        CueSpec("glyph", "glyph", "shape", (3, 3), 12),
        CueSpec("border", "border", "colour", None, 3),
    )
}
SHIPPED_CUE = "corner"


def cue_spec(name: str) -> CueSpec:
    """The ``CueSpec`` called ``name``, or a ``CueError`` naming the known kinds."""
    try:
        return CUE_KINDS[name]
    except KeyError:
        raise CueError(f"unknown cue kind {name!r}; known: {', '.join(CUE_KINDS)}") from None


def reserved_cells() -> tuple[tuple[int, int], ...]:
    """Cells that no object may touch in any scene: every single-cell cue's cell, drawn or not, so scenes
    keep the same objects whichever cues are drawn and a cue never hides an object."""
    return tuple(spec.cell for spec in CUE_KINDS.values() if spec.cell is not None)


@dataclass(frozen=True)
class CueRequest:
    """A cue to draw into a scene: which kind, in which mode."""

    kind: str
    mode: CueMode = "first"

    def __post_init__(self) -> None:
        cue_spec(self.kind)
        if self.mode not in CUE_MODES:
            raise CueError(f"cue mode must be one of {CUE_MODES}, got {self.mode!r}")

    @property
    def spec(self) -> CueSpec:
        return cue_spec(self.kind)


@dataclass(frozen=True)
class Cue:
    """A cue as drawn: its kind, the word it carries, its pixel box (x1/y1 exclusive) and grid cells."""

    kind: str
    word: str
    carries: WordKind
    mode: CueMode
    box: tuple[int, int, int, int]
    cells: tuple[tuple[int, int], ...]

    @property
    def cell(self) -> tuple[int, int] | None:
        return self.cells[0] if len(self.cells) == 1 else None

    def as_metadata(self) -> dict:
        meta = {"kind": self.kind, "word": self.word, "carries": self.carries, "mode": self.mode,
                "box": list(self.box), "cells": [list(c) for c in self.cells]}
        if self.cell is not None:
            meta["cell"] = list(self.cell)
        return meta


def choose_word(rng: np.random.Generator, spec: CueSpec, mode: CueMode, first_word: str) -> str:
    """The word a cue carries in ``mode``, given the first-named object's word of the cue's kind."""
    if mode == "first":
        return first_word
    options = spec.words if mode == "random" else tuple(w for w in spec.words if w != first_word)
    return options[int(rng.integers(len(options)))]


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int) -> np.ndarray:
    return np.clip(np.asarray(rgb, dtype=np.float32) + rng.uniform(-amount, amount, size=3), 0, 255)


def shape_mask(shape: str, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Boolean (size, size) mask of ``shape`` filling ``box`` (x1/y1 exclusive)."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse([x0, y0, x1 - 1, y1 - 1], fill=255)
    elif shape == "square":
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=255)
    elif shape == "triangle":
        draw.polygon([((x0 + x1 - 1) / 2, y0), (x0, y1 - 1), (x1 - 1, y1 - 1)], fill=255)
    elif shape == UNNAMED_SHAPE:
        cx, cy = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2
        draw.polygon([(cx, y0), (x1 - 1, cy), (cx, y1 - 1), (x0, cy)], fill=255)
    else:
        raise CueError(f"unknown shape {shape!r}; known: {SHAPES + (UNNAMED_SHAPE,)}")
    return np.asarray(canvas) > 127


def _box_in_cell(rng: np.random.Generator, cell: tuple[int, int], cell_px: int, w: int, h: int) -> tuple[int, int, int, int]:
    if w > cell_px - 4 or h > cell_px - 4:
        raise CueError(f"a {w}x{h}-px cue does not fit a {cell_px}-px cell")
    r, c = cell
    x0 = c * cell_px + int(rng.integers(2, cell_px - w - 1))
    y0 = r * cell_px + int(rng.integers(2, cell_px - h - 1))
    return (x0, y0, x0 + w, y0 + h)


def draw_cue(img: np.ndarray, rng: np.random.Generator, spec: CueSpec, word: str, mode: CueMode, cell_px: int,
             jitter: int) -> Cue:
    """Paint ``spec`` carrying ``word`` into the float image ``img`` (H, W, 3) in place; return what was drawn."""
    size = img.shape[0]
    grid = size // cell_px
    if spec.form == "border":
        rgb = _jitter(rng, COLOURS[word], jitter)
        t = spec.size
        img[:t], img[-t:], img[:, :t], img[:, -t:] = rgb, rgb, rgb, rgb
        return Cue(spec.name, word, spec.carries, mode, (0, 0, size, size), spec.cells(grid))
    assert spec.cell is not None
    if spec.form == "plus":
        box = _box_in_cell(rng, spec.cell, cell_px, spec.size, spec.size)
        x0, y0, x1, y1 = box
        t = max(2, spec.size // 3)
        a = (spec.size - t) // 2
        rgb = _jitter(rng, COLOURS[word], jitter)
        img[y0:y1, x0 + a : x0 + a + t] = rgb
        img[y0 + a : y0 + a + t, x0:x1] = rgb
    elif spec.form == "bar":
        box = _box_in_cell(rng, spec.cell, cell_px, spec.size, max(3, spec.size * 3 // 10))
        x0, y0, x1, y1 = box
        img[y0:y1, x0:x1] = _jitter(rng, COLOURS[word], jitter)
    elif spec.form == "glyph":
        box = _box_in_cell(rng, spec.cell, cell_px, spec.size, spec.size)
        img[shape_mask(word, box, size)] = _jitter(rng, GLYPH_RGB, jitter // 2)
    else:  # pragma: no cover - CueSpec's Literal keeps this unreachable
        raise CueError(f"unknown cue form {spec.form!r}")
    return Cue(spec.name, word, spec.carries, mode, box, (spec.cell,))
