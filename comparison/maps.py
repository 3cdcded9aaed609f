"""How alike two attribution maps are, and how to put them on one grid.

Why one home: the regression check (map drift between versions), the randomised-weights sanity
check (a method whose maps survive re-drawn weights explains nothing) and the report (which token's
map changed most) all ask "how alike are these two maps?"; they must ask it the same way.

Degenerate maps: a constant map's ranks carry no information, so Spearman is 1.0 when both maps
are constant and identical in rank (both flat) and 0.0 when only one is flat.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

TOP_FRACTION = 0.2


def resize_grid(grid: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bilinear resize of a float map to (rows, cols); unchanged when already that shape."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.shape == tuple(shape):
        return grid
    img = Image.fromarray(grid.astype(np.float32), mode="F")
    return np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), np.float64)


def common_grid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both maps on the smaller of their two grids (each side separately)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape == b.shape:
        return a, b
    target = (min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1]))
    return resize_grid(a, target), resize_grid(b, target)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks (1-based, ties share their average rank) of each row of `x` [n, cells], as
    `scipy.stats.rankdata(x, axis=1)` gives them, without its per-call overhead."""
    n, k = x.shape
    order = np.argsort(x, axis=1, kind="stable")
    ordered = np.take_along_axis(x, order, axis=1)
    starts = np.concatenate([np.ones((n, 1), bool), np.diff(ordered, axis=1) != 0], axis=1)
    group = (np.cumsum(starts, axis=1) + (np.arange(n) * (k + 1))[:, None]).ravel()
    positions = np.tile(np.arange(1, k + 1, dtype=np.float64), n)
    mean_position = np.bincount(group, positions, n * (k + 1)) / np.maximum(np.bincount(group, None, n * (k + 1)), 1)
    ranks = np.empty_like(ordered)
    np.put_along_axis(ranks, order, mean_position[group].reshape(n, k), axis=1)
    return ranks


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rank correlation of each row of `x` [n, cells] with the same row of `y` (the flat-map rule
    of the module note per row); one call for many map pairs of one grid."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"need two [n, cells] arrays of one shape, got {x.shape} and {y.shape}")
    flat_x, flat_y = np.ptp(x, axis=1) == 0, np.ptp(y, axis=1) == 0
    rx, ry = average_ranks(x), average_ranks(y)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    out = np.divide((rx * ry).sum(axis=1), denominator, out=np.zeros(len(x)), where=denominator > 0)
    out[flat_x | flat_y] = 0.0
    out[flat_x & flat_y] = 1.0
    return out


def spearman_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two equally shaped maps (see the module note on flat maps)."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps differ in size: {np.shape(a)} vs {np.shape(b)}")
    return float(spearman_rows(np.ravel(a)[None], np.ravel(b)[None])[0])


def top_overlap(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """Share of the top `fraction` cells of `a` that are also among the top cells of `b`
    (k = ceil(fraction * cells); ties broken in row-major order)."""
    x, y = np.ravel(a), np.ravel(b)
    if x.shape != y.shape:
        raise ValueError(f"maps differ in size: {np.shape(a)} vs {np.shape(b)}")
    k = max(1, int(math.ceil(fraction * x.size)))
    top_x = set(np.argsort(-x, kind="stable")[:k].tolist())
    top_y = set(np.argsort(-y, kind="stable")[:k].tolist())
    return len(top_x & top_y) / k


def total_variation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Total-variation distance of the two maps' positive parts, each scaled to unit mass
    (0: same distribution, 1: disjoint); None when either map has no positive mass."""
    x = np.clip(np.asarray(a, dtype=np.float64), 0.0, None)
    y = np.clip(np.asarray(b, dtype=np.float64), 0.0, None)
    if x.shape != y.shape:
        raise ValueError(f"maps differ in size: {x.shape} vs {y.shape}")
    if x.sum() <= 0 or y.sum() <= 0:
        return None
    return 0.5 * float(np.abs(x / x.sum() - y / y.sum()).sum())
