"""Training batches, prepared ahead in a worker process.

Why a worker: drawing and rendering 32 scenes and patchifying them costs about a quarter of a training
step's compute on this model; a worker prepares the next batches while the main process trains.
Why it stays deterministic: every batch is a pure function of (seed, stage, step) - scenes come from
integer seed sequences, never from shared state - so which process builds it, and when, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .data import BatchBuilder
from .layouts import LayoutDraws, draw_layout_inputs, stage0_layouts
from .scenes import COLOUR_WORDS, SHAPE_WORDS, SceneConfig, rng_for
from .variants import Variant, training_scenes


@dataclass
class StageBatches:
    """Batch ``step`` of a stage: a dict of tensors (stage 1, 2) or (text batch, ``LayoutDraws``) (stage 0)."""

    builder: BatchBuilder
    stage: int
    seed: int
    variant: Variant
    batch_size: int
    hidden: int
    loose_probability: float = 0.5
    decoy_probability: float = 0.5
    config: SceneConfig = SceneConfig()

    def __getitem__(self, step: int) -> Any:
        if self.stage == 0:
            layouts = stage0_layouts(self.seed, step, self.batch_size, self.config, self.loose_probability)
            ids = self.builder.word_ids(COLOUR_WORDS + SHAPE_WORDS)
            draws = draw_layout_inputs(layouts, ids, len(self.builder.tokenizer), self.hidden, rng_for(self.seed, 100, step, 0))
            return self.builder.text_batch([lay.caption for lay in layouts]), draws
        scenes = training_scenes(self.seed, self.stage, step, self.batch_size, self.variant, self.config,
                                 self.decoy_probability)
        return self.builder.image_batch(scenes)


def iterate_batches(batches: StageBatches, steps: int, workers: int, first: int = 0) -> Iterator[Any]:
    """Batches first..first+steps-1 in order; ``workers`` > 0 builds them in that many worker processes."""
    if workers <= 0:
        for step in range(first, first + steps):
            yield batches[step]
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(batches, batch_size=None, sampler=range(first, first + steps), num_workers=workers, prefetch_factor=4,
                        collate_fn=_identity, multiprocessing_context="fork")
    yield from loader


def _identity(x: Any) -> Any:
    return x


__all__ = ["LayoutDraws", "StageBatches", "iterate_batches"]
