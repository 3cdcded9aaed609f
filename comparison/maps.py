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


def spearman_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two equally shaped maps (see the module note on flat maps)."""
    x, y = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"maps differ in size: {np.shape(a)} vs {np.shape(b)}")
    flat_x, flat_y = np.ptp(x) == 0, np.ptp(y) == 0
    if flat_x or flat_y:
        return 1.0 if (flat_x and flat_y) else 0.0
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    return float((rx * ry).sum() / math.sqrt((rx * rx).sum() * (ry * ry).sum()))


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
