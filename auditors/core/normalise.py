"""Joint image+text min-max normalisation and the reference's uint8 finalisation.

WHY joint: TAM normalises the image map together with the explained token's text scores, so a
token mostly explained by text context gets a faint image map (the text maximum dominates).
"""

from __future__ import annotations

import numpy as np


def joint_minmax(image_scores: np.ndarray, text_scores: np.ndarray | None) -> np.ndarray:
    """Min-max normalise ``image_scores`` jointly with ``text_scores`` (no epsilon, as the reference).

    Returns the image part only, shaped like ``image_scores``. If every value is equal the result
    is NaN, exactly like the reference (the rank filter then outputs 0).
    """
    img = np.asarray(image_scores, dtype=np.float64)
    parts = [img.ravel()]
    if text_scores is not None and np.size(text_scores):
        parts.append(np.asarray(text_scores, dtype=np.float64).ravel())
    joined = np.concatenate(parts)
    lo, hi = joined.min(), joined.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((img - lo) / (hi - lo)).reshape(img.shape)


def minmax(values: np.ndarray) -> np.ndarray:
    """Per-map min-max to [0, 1]; an all-equal map becomes all zeros (never NaN)."""
    arr = np.asarray(values, dtype=np.float64)
    lo, hi = np.nanmin(arr), np.nanmax(arr)
    if not np.isfinite(hi - lo) or hi - lo <= 0:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)


def to_uint8_truncated(values: np.ndarray) -> np.ndarray:
    """The reference's final step: ``(x * 255).astype(uint8)`` (truncation), NaN becoming 0."""
    scaled = np.nan_to_num(np.asarray(values, dtype=np.float64) * 255.0, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(scaled, 0, 255).astype(np.uint8)
