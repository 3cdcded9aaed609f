"""Rank Gaussian filter (TAM's denoiser) on a token-grid map.

In each 3x3 window (numpy ``reflect`` padding: the edge value is not repeated) the 9 values are
sorted; with m the window mean and sigma = std/m (population std), the output is the weighted sum
of the sorted values with weights exp(-a^2 / (2 sigma^2)) over rank offsets a = -4..4, normalised
to sum 1. Where m <= 0 (or is NaN) the output is 0. A constant positive window gives sigma = 0 and
a NaN output, exactly like the reference (callers turn NaN into 0 when they finalise a map).
WHY ranks: it smooths isolated spikes (one token firing alone) while keeping coherent blobs.
"""

from __future__ import annotations

import numpy as np

_KERNEL = 3


def rank_gaussian_filter(grid: np.ndarray) -> np.ndarray:
    """Filter a 2-D map, or each frame of a 3-D ``[T, h, w]`` map; keeps the input dtype."""
    arr = np.asarray(grid)
    if arr.ndim == 3:
        return np.stack([rank_gaussian_filter(frame) for frame in arr]).astype(arr.dtype, copy=False)
    if arr.ndim != 2:
        raise ValueError(f"rank_gaussian_filter expects a 2-D or 3-D map, got shape {arr.shape}")
    work = arr.astype(np.float64)
    pad = _KERNEL // 2
    modes = [("reflect" if n > 1 else "edge") for n in work.shape]  # a 1-pixel axis repeats its value
    padded = work
    for axis, mode in enumerate(modes):
        widths = [(0, 0), (0, 0)]
        widths[axis] = (pad, pad)
        padded = np.pad(padded, widths, mode=mode)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (_KERNEL, _KERNEL))
    windows = windows.reshape(work.shape[0], work.shape[1], _KERNEL * _KERNEL)
    ordered = np.sort(windows, axis=-1)
    mean = ordered.mean(axis=-1)
    std = ordered.std(axis=-1)
    offsets = np.arange(_KERNEL * _KERNEL) - (_KERNEL * _KERNEL) // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = std / mean
        weights = np.exp(-(offsets[None, None, :] ** 2) / (2.0 * sigma[..., None] ** 2))
        weights = weights / weights.sum(axis=-1, keepdims=True)
        filtered = (weights * ordered).sum(axis=-1)
    out = np.where(mean > 0, filtered, 0.0)
    return out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64)
