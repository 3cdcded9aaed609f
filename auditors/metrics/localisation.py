"""Localisation metrics: does a word's map land on the object the word names?

Obj-IoU, Func-IoU and F1-IoU follow the TAM protocol (`tam_protocol.py`). Pointing game and energy
in mask work at the vision-token granularity, where the explanation was made:

* pointing game: the word map's argmax cell (first in row-major order on ties) is a hit when the
  object's mask overlaps that cell (the mask downsampled to the grid, any overlap counts: on a
  coarse grid a small object may cover no cell centre, and a perfect map could never hit it). A map
  with no peak (constant) is a miss. Chance level (a uniformly random cell) is the fraction of
  cells the mask touches, `pointing_chance`; it is higher than the mask's area fraction.
* energy in mask: the share of the map's mass inside the mask, each cell weighted by the fraction
  of its pixels that the mask covers (exact for a piecewise-constant map; chance = area fraction).
"""

from __future__ import annotations

import cv2
import numpy as np

from auditors.metrics.base import Metric, pooled_mean, register_metric
from auditors.metrics.context import ProbeContext
from auditors.metrics.tam_protocol import f1_iou, otsu_binarise, overlap_scores, resize_to_mask


def cell_coverage(mask: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
    """Fraction of each grid cell's pixels inside `mask` (area averaging), shape `grid_shape`."""
    rows, cols = grid_shape
    return cv2.resize(np.asarray(mask, np.float32), (int(cols), int(rows)), interpolation=cv2.INTER_AREA)


def pointing_hit(token_map: np.ndarray, mask: np.ndarray, min_coverage: float = 0.0) -> bool:
    """True when the map's argmax cell overlaps the mask (coverage > `min_coverage`)."""
    token_map = np.asarray(token_map, np.float64)
    if token_map.size == 0 or not np.isfinite(token_map).all() or token_map.max() == token_map.min():
        return False
    cell = np.unravel_index(int(np.argmax(token_map)), token_map.shape)
    return bool(cell_coverage(mask, token_map.shape)[cell] > min_coverage)


def pointing_chance(mask: np.ndarray, grid_shape: tuple[int, int], min_coverage: float = 0.0) -> float:
    """Hit rate of a uniformly random cell: the share of cells the mask overlaps."""
    return float((cell_coverage(mask, grid_shape) > min_coverage).mean())


def energy_in_mask(token_map: np.ndarray, mask: np.ndarray) -> float:
    """Share of the (non-negative) map mass inside the mask; 0 for an all-zero map."""
    token_map = np.clip(np.nan_to_num(np.asarray(token_map, np.float64)), 0.0, None)
    total = token_map.sum()
    if total <= 0:
        return 0.0
    return float((token_map * cell_coverage(mask, token_map.shape)).sum() / total)


def word_iou(ctx: ProbeContext, tokens: tuple[int, ...], mask: np.ndarray) -> float:
    """The TAM per-word IoU (best token, Otsu on the resized map) of `tokens` against `mask`."""
    best = 0.0
    for token in tokens:
        _, binary = otsu_binarise(resize_to_mask(ctx.maps_u8[token], mask.shape))
        best = max(best, overlap_scores(binary > 0, mask)[0])
    return best


class _EntryMean(Metric):
    """Per Obj-IoU entry (a noun word, or a merged run of words naming one object) values."""

    attribute = ""

    def compute(self, ctx):
        values = []
        for entry in ctx.caption.objects:
            words = [ctx.words[i] for i in entry.word_indices]
            label = " ".join(w.label for w in words)
            values.append(self.value(ctx, getattr(entry, self.attribute), label, words[0].index))
        return self.probe_values(ctx, values)


@register_metric
class ObjIoU(_EntryMean):
    name = "obj_iou"
    direction = "higher_is_better"
    needs_masks = True
    attribute = "iou"
    description = "TAM Obj-IoU: Otsu-binarised, resized map vs the named object's mask; consecutive words of one object merged."


@register_metric
class ObjIoUPerWord(Metric):
    name = "obj_iou_per_word"
    direction = "higher_is_better"
    needs_masks = True
    description = "Obj-IoU of every object word on its own (no merging), e.g. to compare colour and shape words."

    def compute(self, ctx):
        values = []
        for position, (iou, _) in sorted(ctx.caption.word_ious.items()):
            word = ctx.words[position]
            values.append(self.value(ctx, iou, word.label, word.index))
        return self.probe_values(ctx, values)


@register_metric
class ObjPrecision(_EntryMean):
    name = "obj_precision"
    direction = "higher_is_better"
    needs_masks = True
    attribute = "precision"
    description = "Precision of the Otsu foreground of the kept token (TAM protocol)."


@register_metric
class ObjRecall(_EntryMean):
    name = "obj_recall"
    direction = "higher_is_better"
    needs_masks = True
    attribute = "recall"
    description = "Recall of the Otsu foreground of the kept token (TAM protocol)."


@register_metric
class FuncIoU(Metric):
    name = "func_iou"
    direction = "higher_is_better"
    needs_masks = True  # the threshold comes from the noun words, which need masks to be known
    description = "TAM Func-IoU: share of a function word's grid cells below the caption's mean noun threshold."

    def compute(self, ctx):
        values = []
        for entry in ctx.caption.functions:
            word = ctx.words[entry.word_index]
            values.append(self.value(ctx, entry.func_iou, word.label, word.index))
        return self.probe_values(ctx, values)


@register_metric
class F1IoU(Metric):
    name = "f1_iou"
    direction = "higher_is_better"
    needs_masks = True
    per_word = False
    description = "Harmonic mean of Obj-IoU and Func-IoU; over many probes, of the pooled means."

    def compute(self, ctx):
        caption = ctx.caption
        if not caption.obj_iou or not caption.func_iou:
            return []
        return [self.value(ctx, f1_iou(float(np.mean(caption.obj_iou)), float(np.mean(caption.func_iou))))]

    def aggregate(self, values):
        """F1 of the pooled Obj-IoU and Func-IoU (the protocol), not a mean of per-probe F1s."""
        return f1_iou(pooled_mean(values, "obj_iou", True), pooled_mean(values, "func_iou", True))


@register_metric
class PointingGame(Metric):
    name = "pointing_game"
    direction = "higher_is_better"
    needs_masks = True
    description = "1 if the word map's argmax vision token lies on the named object, else 0."

    def compute(self, ctx):
        values = [
            self.value(ctx, float(pointing_hit(ctx.word_map(w), ctx.categories[w.category].mask)), w.label, w.index)
            for w in ctx.object_words()
        ]
        return self.probe_values(ctx, values)


@register_metric
class EnergyInMask(Metric):
    name = "energy_in_mask"
    direction = "higher_is_better"
    needs_masks = True
    description = "Share of the word map's mass on the named object (cells weighted by mask coverage)."

    def compute(self, ctx):
        values = [
            self.value(ctx, energy_in_mask(ctx.word_map(w), ctx.categories[w.category].mask), w.label, w.index)
            for w in ctx.object_words()
        ]
        return self.probe_values(ctx, values)


def peak_off_objects(token_map: np.ndarray, masks: list[np.ndarray]) -> float | None:
    """1.0 when the map's argmax cell touches none of `masks`, 0.0 when it touches one; None for a
    map without a peak (constant or not finite)."""
    token_map = np.asarray(token_map, np.float64)
    if token_map.size == 0 or not np.isfinite(token_map).all() or token_map.max() == token_map.min():
        return None
    cell = np.unravel_index(int(np.argmax(token_map)), token_map.shape)
    return float(not any(cell_coverage(mask, token_map.shape)[cell] > 0 for mask in masks))


@register_metric
class PeakOffObject(Metric):
    name = "peak_off_object"
    direction = "lower_is_better"
    needs_masks = True
    description = ("1 if the word map's argmax vision token touches no object of the probe (the map points at "
                   "something that is not an object), else 0.")

    def compute(self, ctx):
        values = []
        for w in ctx.object_words():
            off = peak_off_objects(ctx.word_map(w), ctx.object_masks)
            if off is not None:
                values.append(self.value(ctx, off, w.label, w.index))
        return self.probe_values(ctx, values)
