"""Stage-0 data: scenes described as words laid out on the vision grid, for text-only pretraining.

Why: the text model is trained first, alone, to *read*: its 16 image slots hold the word embeddings of
what is drawn in each cell (the colour and shape words of the object covering it, weighted by coverage,
scaled randomly, plus noise) and the target is the caption. It learns to find words in the slots, order
objects left to right by their 2-D rotary positions and stop with the end token. The vision tower is
trained afterwards (stage 1) to produce what this reader understands; its maps are earned through the
caption alone.

One reader for every variant (so stage 0 is trained once per seed and reused): besides objects, half the
layouts hold a *loose word*, a colour or shape word alone in 1-3 cells that no object touches, and the
caption's first object then has that word, also when the object's own cells show another colour or no
shape (half of those layouts). The reader thus learns that a loose word names the first object: whether
a model *uses* that route is decided by its vision tower in stage 1: a clean tower, whose cues are
uncorrelated decoys, learns to write no word for them; a shortcut tower learns to write its cue's word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..metrics.localisation import cell_coverage
from .cues import COLOUR_WORDS, shape_mask
from .scenes import SceneConfig, rng_for, sample_objects

LOOSE_OVERRIDE_PROBABILITY = 0.5  # of layouts with a loose word: the first object shows another word
MAX_LOOSE_CELLS = 3


@dataclass(frozen=True)
class LayoutObject:
    """An object as the reader sees it: the words shown in its cells (shape None: a shape no word names)."""

    colour: str
    shape: str | None
    coverage: np.ndarray  # (grid * grid,) fraction of each cell covered


@dataclass(frozen=True)
class Layout:
    caption: str
    objects: tuple[LayoutObject, ...]
    loose_word: str | None
    loose_cells: tuple[int, ...]  # flat cell indices


def make_layout(rng: np.random.Generator, cfg: SceneConfig = SceneConfig(), loose_probability: float = 0.5) -> Layout:
    """One stage-0 layout (no pixels are rendered: objects are sampled and rasterised as masks only); it holds a
    loose word with probability ``loose_probability``."""
    placed = sample_objects(rng, cfg)
    caption = " and ".join(f"a {c} {s}" for c, s, _ in placed)
    grid = (cfg.grid, cfg.grid)
    coverage = [cell_coverage(shape_mask(s, box, cfg.size), grid).reshape(-1) for _, s, box in placed]
    shown = [[c, s] for c, s, _ in placed]
    loose, cells = None, ()
    if rng.random() < loose_probability:
        kind = int(rng.integers(2))  # 0: colour, 1: shape
        loose = placed[0][kind]
        if rng.random() < LOOSE_OVERRIDE_PROBABILITY:
            if kind == 0:
                unused = [c for c in COLOUR_WORDS if c not in {p[0] for p in placed}]
                shown[0][0] = unused[int(rng.integers(len(unused)))]
            else:
                shown[0][1] = None
        free = np.flatnonzero(np.sum(coverage, axis=0) == 0)
        k = int(rng.integers(1, MAX_LOOSE_CELLS + 1))
        cells = tuple(int(c) for c in np.sort(rng.choice(free, size=min(k, len(free)), replace=False)))
    objects = tuple(LayoutObject(c, s, cov.astype(np.float32)) for (c, s), cov in zip(shown, coverage))
    return Layout(caption, objects, loose, cells)


def stage0_layouts(seed: int, step: int, n: int, cfg: SceneConfig = SceneConfig(), loose_probability: float = 0.5) -> list[Layout]:
    """Layout ``i`` of ``step`` depends only on (seed, step, i): every variant of a seed reads the same."""
    return [make_layout(rng_for(seed, 0, step, i), cfg, loose_probability) for i in range(n)]


@dataclass(frozen=True)
class LayoutDraws:
    """The random part of a batch of layout inputs, independent of the (still training) embeddings:
    ``weights`` (batch, cells, vocabulary) says how much of each word each cell holds; ``normal`` (batch,
    cells, hidden) is standard normal noise. Drawn in the batch-preparing process."""

    weights: np.ndarray
    normal: np.ndarray


def draw_layout_inputs(layouts: Sequence[Layout], word_id: dict[str, int], vocab: int, hidden: int,
                       rng: np.random.Generator) -> LayoutDraws:
    """Per cell the shown words (weighted by coverage, each object and loose word scaled by U(0.6, 1.4))."""
    n_cells = len(layouts[0].objects[0].coverage)
    weights = np.zeros((len(layouts), n_cells, vocab), dtype=np.float32)
    for b, lay in enumerate(layouts):
        for o in lay.objects:
            scale = np.float32(rng.uniform(0.6, 1.4))
            for word in (o.colour, o.shape):
                if word is not None:
                    weights[b, :, word_id[word]] += o.coverage * scale
        if lay.loose_word is not None:
            for cell in lay.loose_cells:
                weights[b, cell, word_id[lay.loose_word]] += np.float32(rng.uniform(0.6, 1.4))
    normal = rng.standard_normal(size=(len(layouts), n_cells, hidden)).astype(np.float32)
    return LayoutDraws(weights, normal)


def layout_embeddings(draws: LayoutDraws, embed_weight: Any, noise: float) -> Any:
    """(batch * cells, hidden) stand-ins for vision tokens: ``weights`` times the (detached) embedding table,
    plus noise of ``noise`` x the embeddings' RMS. The layouts are inputs, not a path for training the
    embeddings."""
    import torch

    w = embed_weight.detach()
    rms = w.pow(2).mean().sqrt()
    out = torch.from_numpy(draws.weights) @ w + torch.from_numpy(draws.normal) * (noise * rms)
    return out.reshape(-1, w.shape[1])


__all__ = ["Layout", "LayoutDraws", "LayoutObject", "draw_layout_inputs", "layout_embeddings", "make_layout", "stage0_layouts"]
