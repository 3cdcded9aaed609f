"""The TAM evaluation protocol (Obj-IoU, Func-IoU, F1-IoU), piece by piece.

Why pieces: each step (bilinear resize with OpenCV's default interpolation, Otsu's threshold, the
IoU/precision/recall of one token, the merge of consecutive words of the same category, the
foreground threshold, Func-IoU on un-resized maps) must match the reference evaluation exactly, and
is tested against `eval_metrics.npz` (tam_reference fixtures) on its own.

Conventions (see the fixtures' README): maps are uint8 token-grid maps, one per answer token; a
caption's words are groups of token indices with a label: > 0 a category (an object with a mask),
-1 a noun without a mask, -2 a function word, -3 anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import cv2
import numpy as np

from auditors.metrics.base import MetricError
from auditors.metrics.words import FUNCTION_WORD, NOUN_WITHOUT_MASK


def resize_to_mask(token_map: np.ndarray, mask_shape: tuple[int, int]) -> np.ndarray:
    """Resize a token-grid map to the mask's (height, width) with cv2's default INTER_LINEAR."""
    height, width = mask_shape
    return cv2.resize(token_map, (int(width), int(height)), interpolation=cv2.INTER_LINEAR)


def otsu_binarise(resized: np.ndarray) -> tuple[float, np.ndarray]:
    """Otsu's threshold of a uint8 map and the 0/255 image of pixels strictly above it."""
    threshold, binary = cv2.threshold(resized, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(threshold), binary


def overlap_scores(predicted: np.ndarray, ground_truth: np.ndarray) -> tuple[float, float, float]:
    """(IoU, precision, recall) of a predicted foreground against a ground-truth mask (bool arrays)."""
    predicted = predicted.astype(bool)
    ground_truth = ground_truth.astype(bool)
    true_positive = float(np.logical_and(predicted, ground_truth).sum())
    union = float(np.logical_or(predicted, ground_truth).sum())
    n_predicted = float(predicted.sum())
    n_truth = float(ground_truth.sum())
    iou = true_positive / union if union else 0.0
    precision = true_positive / n_predicted if n_predicted else 0.0
    recall = true_positive / n_truth if n_truth else 0.0
    return iou, precision, recall


def function_word_score(token_maps: Sequence[np.ndarray], threshold: float) -> float:
    """Func-IoU of one function word: mean over its tokens of the share of grid cells below `threshold`."""
    return float(np.mean([float((np.asarray(m) < threshold).mean()) for m in token_maps]))


def to_uint8_maps(maps: np.ndarray) -> np.ndarray:
    """Quantise one answer's maps for the protocol, which thresholds uint8 images.

    * maps within [0, 1] (every explainer's normalised output) become ``(x * 255)`` truncated, the
      reference's own final step, so each method is scored on its own normalisation (a tiny
      epsilon keeps exact k/255 values at k despite float rounding);
    * maps that already hold integers in [0, 255] (the reference's uint8 maps) are kept as they are;
    * anything else is scaled by ONE factor for the whole answer (255 / the answer's maximum): a
      common scale keeps weak tokens weak, which is what Func-IoU measures.
    """
    maps = np.nan_to_num(np.asarray(maps, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    maps = np.clip(maps, 0.0, None)
    peak = float(maps.max()) if maps.size else 0.0
    if peak <= 1.0:
        return np.floor(maps * 255.0 + 1e-6).clip(0, 255).astype(np.uint8)
    if peak <= 255.0 and np.all(maps == np.floor(maps)):
        return maps.astype(np.uint8)
    return (maps / peak * 255.0).astype(np.uint8)


@dataclass(frozen=True)
class ObjectEntry:
    """One Obj-IoU entry: a noun word (or a merged run of words) of one category."""

    category: int
    word_indices: tuple[int, ...]
    best_word: int  # the word whose token was kept
    best_token: int
    iou: float
    precision: float
    recall: float


@dataclass(frozen=True)
class FunctionEntry:
    word_index: int
    func_iou: float


@dataclass
class CaptionEvaluation:
    """Everything the protocol computes for one caption (one probe, one method)."""

    objects: list[ObjectEntry] = field(default_factory=list)
    functions: list[FunctionEntry] = field(default_factory=list)
    otsu_thresholds: dict[int, float] = field(default_factory=dict)  # token index -> Otsu t
    word_ious: dict[int, tuple[float, int]] = field(default_factory=dict)  # word -> (best IoU, token) before merge
    foreground_threshold: float | None = None

    @property
    def obj_iou(self) -> list[float]:
        return [entry.iou for entry in self.objects]

    @property
    def precision(self) -> list[float]:
        return [entry.precision for entry in self.objects]

    @property
    def recall(self) -> list[float]:
        return [entry.recall for entry in self.objects]

    @property
    def func_iou(self) -> list[float]:
        return [entry.func_iou for entry in self.functions]


def evaluate_caption(
    maps: np.ndarray,
    category_masks: Mapping[int, np.ndarray],
    mask_shape: tuple[int, int],
    word_token_groups: Sequence[Sequence[int]],
    word_labels: Sequence[int],
) -> CaptionEvaluation:
    """Run the protocol on one caption.

    `maps`: uint8 [n_tokens, h, w]; `category_masks`: category id -> bool mask of `mask_shape`
    (an absent or empty mask means the category is not in the image: no IoU, but its word's
    threshold still counts); words are token groups with labels (see module docstring).
    """
    if len(word_token_groups) != len(word_labels):
        raise MetricError("word_token_groups and word_labels must have the same length")
    result = CaptionEvaluation()
    noun_thresholds: list[float] = []
    previous_entry_word: dict[int, int] = {}  # category -> word index of its latest entry
    for word, (tokens, label) in enumerate(zip(word_token_groups, word_labels)):
        if not (label > 0 or label == NOUN_WITHOUT_MASK) or not tokens:
            continue
        truth = category_masks.get(label) if label > 0 else None
        has_truth = truth is not None and bool(np.asarray(truth).any())
        word_threshold = -np.inf
        best: tuple[float, float, float, int] | None = None
        for token in tokens:
            threshold, binary = otsu_binarise(resize_to_mask(maps[token], mask_shape))
            result.otsu_thresholds[token] = threshold
            word_threshold = max(word_threshold, threshold)
            if has_truth:
                iou, precision, recall = overlap_scores(binary > 0, truth)
                if best is None or iou > best[0]:
                    best = (iou, precision, recall, token)
        noun_thresholds.append(word_threshold)
        if best is None:
            continue
        result.word_ious[word] = (best[0], best[3])
        entry = ObjectEntry(label, (word,), word, best[3], best[0], best[1], best[2])
        merge_with = previous_entry_word.get(label)
        if merge_with is not None and merge_with == word - 1 and result.objects and result.objects[-1].category == label:
            kept = result.objects[-1]
            if entry.iou > kept.iou:
                kept = entry
            result.objects[-1] = ObjectEntry(
                label,
                result.objects[-1].word_indices + (word,),
                kept.best_word,
                kept.best_token,
                kept.iou,
                kept.precision,
                kept.recall,
            )
        else:
            result.objects.append(entry)
        previous_entry_word[label] = word
    if noun_thresholds:
        result.foreground_threshold = float(np.mean(noun_thresholds))
        for word, (tokens, label) in enumerate(zip(word_token_groups, word_labels)):
            if label == FUNCTION_WORD and tokens:
                score = function_word_score([maps[t] for t in tokens], result.foreground_threshold)
                result.functions.append(FunctionEntry(word, score))
    return result


@dataclass(frozen=True)
class PooledScores:
    obj_iou: float
    func_iou: float
    f1_iou: float
    precision: float
    recall: float
    n_objects: int
    n_functions: int


def f1_iou(obj_iou: float, func_iou: float) -> float:
    """Harmonic mean of Obj-IoU and Func-IoU (0 when both are 0, NaN if either is missing)."""
    if not np.isfinite(obj_iou) or not np.isfinite(func_iou):
        return float("nan")
    total = obj_iou + func_iou
    return 2.0 * obj_iou * func_iou / total if total > 0 else 0.0


def pool(evaluations: Sequence[CaptionEvaluation]) -> PooledScores:
    """Aggregate over captions the way the protocol does: words pooled, then F1 of the two means."""
    objs = [v for e in evaluations for v in e.obj_iou]
    funcs = [v for e in evaluations for v in e.func_iou]
    precisions = [v for e in evaluations for v in e.precision]
    recalls = [v for e in evaluations for v in e.recall]
    mean = lambda values: float(np.mean(values)) if values else float("nan")  # noqa: E731
    obj, func = mean(objs), mean(funcs)
    return PooledScores(obj, func, f1_iou(obj, func), mean(precisions), mean(recalls), len(objs), len(funcs))
