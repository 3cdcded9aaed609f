"""Confidence intervals of a rate: how often an audit caught a shortcut, or flagged an honest retrain.

Why Wilson: a validity benchmark reports rates such as 8 of 8 or 0 of 8, where the textbook
normal interval collapses to a point (and goes below 0 or above 1 near the ends); Wilson's score
interval stays inside [0, 1] and keeps close to its nominal coverage at small n.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """`k` of `n`, its share and its Wilson interval."""

    k: int
    n: int
    rate: float
    low: float
    high: float
    confidence: float


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> Rate:
    """Wilson score interval of k successes in n trials (n = 0: the whole of [0, 1])."""
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if n == 0:
        return Rate(0, 0, float("nan"), 0.0, 1.0, confidence)
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = k / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denominator
    return Rate(k, n, p, max(0.0, centre - half), min(1.0, centre + half), confidence)
