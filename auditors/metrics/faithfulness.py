"""Causal faithfulness: deletion and insertion AUC at vision-token granularity.

Why vision tokens: the maps are made on the vision-token grid, so the unit removed (or revealed) is
the image region of one vision token, in the map's order (highest attribution first; ties keep
row-major order). The model's teacher-forced probability of the explained word's tokens is tracked
after each step; the area under that curve (x = fraction of tokens removed/revealed, trapezoid rule)
is the score. Deletion: a faithful map makes the probability drop fast (low AUC is better).
Insertion: starting from a blank image, revealing the top tokens first makes it rise fast (high AUC
is better). Removed regions are filled from a baseline image: the image's mean colour or a strong
blur (`FaithfulnessSettings`).

The probabilities come from a *scorer*: a function images -> [n_images, n_answer_tokens] (see
`replay_scorer`, which wraps `auditors.replay.answer_token_probs`); tests inject a fake one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from PIL import Image, ImageFilter

from auditors.metrics.base import Metric, MetricError, register_metric
from auditors.metrics.context import AnswerWord, ProbabilityScorer, ProbeContext

Baseline = Literal["mean", "blur"]
Scorer = ProbabilityScorer


@dataclass(frozen=True)
class FaithfulnessSettings:
    max_steps: int = 16  # curve points after the start (fewer than the number of tokens: tokens grouped)
    deletion_baseline: Baseline = "mean"
    insertion_baseline: Baseline = "blur"
    blur_radius_cells: float = 1.0  # Gaussian blur radius, in vision-token cells


def replay_scorer(model, processor, prompt: str, answer_token_ids: Sequence[int]) -> Scorer:
    """A scorer for one explanation: teacher-forced probabilities of its answer tokens."""
    from auditors.replay import answer_token_probs

    def score(images: Sequence[Image.Image]) -> np.ndarray:
        return np.asarray(answer_token_probs(model, processor, list(images), prompt, list(answer_token_ids)))

    return score


def cell_boxes(image_size: tuple[int, int], grid_shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Pixel box (x0, y0, x1, y1) of every grid cell, row-major; cells tile the image exactly."""
    width, height = image_size
    rows, cols = grid_shape
    ys = [round(r * height / rows) for r in range(rows + 1)]
    xs = [round(c * width / cols) for c in range(cols + 1)]
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(rows) for c in range(cols)]


def baseline_image(image: Image.Image, kind: Baseline, grid_shape: tuple[int, int], blur_cells: float = 1.0):
    image = image.convert("RGB")
    if kind == "mean":
        mean = tuple(int(round(v)) for v in np.asarray(image, np.float64).reshape(-1, 3).mean(axis=0))
        return Image.new("RGB", image.size, mean)
    if kind == "blur":
        cell = max(image.size[0] / grid_shape[1], image.size[1] / grid_shape[0])
        return image.filter(ImageFilter.GaussianBlur(radius=max(1.0, blur_cells * cell)))
    raise MetricError(f"unknown baseline {kind!r} (use 'mean' or 'blur')")


def perturbation_series(
    image: Image.Image, order: np.ndarray, grid_shape: tuple[int, int], fill: Image.Image, max_steps: int
) -> tuple[list[Image.Image], np.ndarray]:
    """Images with the first k cells of `order` taken from `fill` (k from 0 to all), and k / n."""
    boxes = cell_boxes(image.size, grid_shape)
    n_cells = len(boxes)
    steps = min(max_steps, n_cells)
    counts = sorted({round(i * n_cells / steps) for i in range(steps + 1)})
    images = []
    for count in counts:
        current = image.copy()
        for cell in order[:count]:
            box = boxes[int(cell)]
            current.paste(fill.crop(box), box[:2])
        images.append(current)
    return images, np.asarray(counts, np.float64) / n_cells


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    return float(np.trapezoid(values, fractions))


def deletion_insertion_curve(
    scorer: Scorer,
    image: Image.Image,
    token_map: np.ndarray,
    token_indices: Sequence[int],
    mode: Literal["deletion", "insertion"],
    settings: FaithfulnessSettings = FaithfulnessSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """(fractions, mean probability of `token_indices`) along the deletion or insertion path."""
    image = image.convert("RGB")
    grid_shape = token_map.shape
    order = np.argsort(-np.asarray(token_map, np.float64).ravel(), kind="stable")
    if mode == "deletion":
        fill = baseline_image(image, settings.deletion_baseline, grid_shape, settings.blur_radius_cells)
        images, fractions = perturbation_series(image, order, grid_shape, fill, settings.max_steps)
    elif mode == "insertion":
        start = baseline_image(image, settings.insertion_baseline, grid_shape, settings.blur_radius_cells)
        images, fractions = perturbation_series(start, order, grid_shape, image, settings.max_steps)
    else:
        raise MetricError(f"unknown mode {mode!r}")
    probs = np.asarray(scorer(images), np.float64)
    if probs.ndim != 2 or probs.shape[0] != len(images):
        raise MetricError(f"scorer returned shape {probs.shape}, expected [{len(images)}, n_answer_tokens]")
    return fractions, probs[:, list(token_indices)].mean(axis=1)


def faithfulness_words(ctx: ProbeContext) -> list[AnswerWord]:
    """Words whose faithfulness is measured: object words, or (without masks) all non-function words."""
    if ctx.has_masks:
        return ctx.object_words()
    from auditors.metrics.words import FUNCTION_WORDS

    return [w for w in ctx.words if w.key and w.key not in FUNCTION_WORDS]


class _Faithfulness(Metric):
    mode: Literal["deletion", "insertion"]
    needs_masks = False
    cost = "model"

    def compute(self, ctx):
        if ctx.scorer is None:
            raise MetricError(f"{self.name} needs a probability scorer (pass scorer=..., see replay_scorer)")
        image = ctx.image
        if image is None:
            raise MetricError(f"{self.name} needs the probe image")
        # With a padded canvas the maps are already cropped to the content box, which is the image.
        values = []
        for word in faithfulness_words(ctx):
            fractions, probs = deletion_insertion_curve(
                ctx.scorer, image, ctx.word_map(word), word.tokens, self.mode, ctx.faithfulness
            )
            values.append(self.value(ctx, auc(fractions, probs), word.label, word.index))
        return self.probe_values(ctx, values)


@register_metric
class DeletionAUC(_Faithfulness):
    name = "deletion_auc"
    direction = "lower_is_better"
    mode = "deletion"
    description = "Area under the explained word's probability as its top vision tokens are removed."


@register_metric
class InsertionAUC(_Faithfulness):
    name = "insertion_auc"
    direction = "higher_is_better"
    mode = "insertion"
    description = "Area under the explained word's probability as its top vision tokens are revealed."
