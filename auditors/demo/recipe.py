"""The demo model's training recipe as data: steps, learning rates, threads; and its identity (a hash).

Why a hash: trained models are cached outside the repository (the shared stage 0, the model zoo) under a
key that changes whenever anything that shapes the weights changes, so a cache never serves a model of an
older recipe. ``DATA_VERSION`` is bumped by hand when the scene, layout or training-data code changes.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .model import DemoModelConfig

DATA_VERSION = 2  # 1: the single corner cue (first shipped weights); 2: the cue family and shared stage 0


@dataclass(frozen=True)
class Recipe:
    batch_size: int = 32
    stage0_steps: int = 1000
    stage0_lr: float = 2e-3
    stage1_steps: int = 1500
    stage1_lr: float = 2e-3
    stage1_merger_lr_scale: float = 1.0  # the merger's learning rate relative to the vision blocks'
    # Stage 1 is judged by its final loss: while it stays above ``stage1_converged_loss``, another cycle of
    # ``stage1_steps`` (fresh optimiser, warm-up and cosine at ``stage1_extra_lr``, unseen batches) runs, at
    # most ``stage1_extra_cycles`` times. A converged stage 1 is never touched (MODEL_CARD.md: what was tried).
    stage1_extra_cycles: int = 2
    stage1_converged_loss: float = 0.08
    stage1_extra_lr: float = 2e-3
    stage2_steps: int = 0
    stage2_lr: float = 1e-4
    layout_noise: float = 0.5
    loose_word_probability: float = 0.5  # stage-0 layouts holding a loose word (layouts.py)
    decoy_probability: float = 0.5  # per cue kind and training scene, an uncorrelated decoy (variants.py)
    warmup_steps: int = 30
    min_lr_fraction: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_scenes: int = 100  # end-of-stage check only; does not change the weights
    # torch threads per stage (0, 1, 2). CPU float sums are split by thread count, so this is part of what
    # reproduces a run bit for bit. One thread: on a shared 2-core machine two threads ran 10-20x slower
    # (each waits for the other at every op); the second core builds batches (loader_workers).
    stage_threads: tuple[int, int, int] = (1, 1, 1)
    loader_workers: int = 1  # processes preparing batches; batches are pure functions of (seed, stage, step)
    model: DemoModelConfig = field(default_factory=DemoModelConfig)

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


_NOT_WEIGHTS = ("eval_scenes", "loader_workers")  # fields that never change a weight
# Fields of the cycles after stage 1's first: a recipe without them (0 cycles) keeps the hash it had before
# they existed, and a model of that recipe is the starting point of one with them (``base_recipe``).
_EXTRA_CYCLE_FIELDS = ("stage1_extra_cycles", "stage1_converged_loss", "stage1_extra_lr")
_STAGE0_FIELDS = ("batch_size", "stage0_steps", "stage0_lr", "layout_noise", "loose_word_probability", "warmup_steps", "min_lr_fraction",
                  "weight_decay", "grad_clip", "model")


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def fields_up_to_stage(stage: int, extra_cycles_ran: bool = False) -> tuple[str, ...]:
    """The recipe fields the weights after ``stage`` depend on (thread counts aside): what a checkpoint of
    that stage must share with a run that resumes from it. After stage 1, the extra-cycle fields count only
    once an extra cycle has run (``extra_cycles_ran``): before, any recipe's cycles may start from there."""
    if stage == 0:
        return _STAGE0_FIELDS
    later = {f"stage{k}_{x}" for k in range(stage + 1, 3) for x in ("steps", "lr")}
    if stage == 1 and not extra_cycles_ran:  # a stage 1 without extra cycles is where any recipe's cycles start
        later |= set(_EXTRA_CYCLE_FIELDS)
    return tuple(f for f in Recipe.__dataclass_fields__ if f not in _NOT_WEIGHTS and f != "stage_threads" and f not in later)


def base_recipe(recipe: Recipe) -> Recipe:
    """``recipe`` without stage 1's extra cycles: what trains the weights the extra cycles start from. A model
    of the base recipe whose stage 1 converged is, bit for bit, the model of ``recipe``."""
    return replace(recipe, stage1_extra_cycles=0)


def recipe_hash(recipe: Recipe, threads: tuple[int, int, int] | None = None) -> str:
    """12 hex digits identifying the weights ``recipe`` trains (with ``threads`` overriding its counts)."""
    data = {k: v for k, v in recipe.as_dict().items() if k not in _NOT_WEIGHTS}
    if not recipe.stage1_extra_cycles:
        data = {k: v for k, v in data.items() if k not in _EXTRA_CYCLE_FIELDS}
    data["stage_threads"] = list(threads or recipe.stage_threads)
    return _digest({"data_version": DATA_VERSION, "recipe": data})


def stage0_key(recipe: Recipe, threads: int) -> str:
    """Identity of the shared stage 0: only the fields stage 0 depends on, and its thread count."""
    data = recipe.as_dict()
    return _digest({"data_version": DATA_VERSION, "stage0": {k: data[k] for k in _STAGE0_FIELDS}, "threads": threads})


def lr_at(step: int, total: int, base: float, recipe: Recipe) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_fraction`` of ``base``."""
    if step < recipe.warmup_steps:
        return base * (step + 1) / recipe.warmup_steps
    frac = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
    return base * (recipe.min_lr_fraction + (1 - recipe.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * frac)))
