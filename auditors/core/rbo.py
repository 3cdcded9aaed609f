"""Rank-biased overlap (Webber, Moffat & Zobel 2010), extrapolated form, for top-k id lists.

RBO_ext(S, T; p, k) = (X_k / k) p^k + (1 - p)/p * sum_{d=1..k} (X_d / d) p^d, where X_d is the
size of the overlap of the two lists' first d items. Identical lists give 1, disjoint lists 0.
WHY RBO: ARC compares which candidates two next-token distributions rank on top, with more
weight on the top ranks; RBO does exactly that and handles lists that share few items.
"""

from __future__ import annotations

import numpy as np


def rbo_extrapolated(first: list[int] | np.ndarray, second: list[int] | np.ndarray, p: float = 0.9) -> float:
    """RBO_ext of two rankings of equal length k (items are distinct within a list)."""
    a, b = list(first), list(second)
    if len(a) != len(b):
        raise ValueError(f"rbo_extrapolated needs lists of equal length, got {len(a)} and {len(b)}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"RBO persistence p must be in (0, 1), got {p}")
    k = len(a)
    if k == 0:
        return 1.0
    seen_a: set = set()
    seen_b: set = set()
    overlap = 0
    total = 0.0
    for d in range(1, k + 1):
        x, y = a[d - 1], b[d - 1]
        if x == y:
            overlap += 1
        else:
            overlap += (x in seen_b) + (y in seen_a)
        seen_a.add(x)
        seen_b.add(y)
        total += overlap / d * p**d
    return float(overlap / k * p**k + (1.0 - p) / p * total)


def rbo_many(query: np.ndarray, others: np.ndarray, p: float = 0.9) -> np.ndarray:
    """RBO_ext of one ranking ``query`` [k] against each row of ``others`` [n, k], vectorised.

    An item shared by both lists enters the overlap at depth max(rank_a, rank_b) + 1, so the
    overlaps X_d are a cumulative count of those depths.
    """
    query = np.asarray(query)
    others = np.asarray(others)
    if others.ndim != 2 or others.shape[1] != query.shape[0]:
        raise ValueError(f"rbo_many: others must be [n, {query.shape[0]}], got {others.shape}")
    n, k = others.shape
    if n == 0:
        return np.zeros(0)
    if k == 0:
        return np.ones(n)
    rank_in_query = {int(item): r for r, item in enumerate(query.tolist())}
    entry_depth = np.full((n, k), k, dtype=np.int64)  # k = "never enters" (dropped by the histogram)
    for row in range(n):
        for r, item in enumerate(others[row].tolist()):
            q = rank_in_query.get(int(item))
            if q is not None:
                entry_depth[row, r] = max(q, r)
    counts = np.zeros((n, k + 1), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n), k), entry_depth.ravel()), 1)
    overlap = np.cumsum(counts[:, :k], axis=1)  # X_d for d = 1..k
    depths = np.arange(1, k + 1)
    pd = p ** depths
    return overlap[:, -1] / k * p**k + (1.0 - p) / p * (overlap / depths * pd).sum(axis=1)
