"""Estimated causal inference (ECI): subtract the interference of earlier context tokens.

I = sum_i w_i A_i (A_i: context token i's raw map), alpha = argmin_x ||A_t - x I||^2 in closed form
<A_t, I> / <I, I> (0 when I = 0, as the reference), map = max(0, A_t - alpha I).
TAM and ARC differ only in the weights w_i, so both use this one function.
"""

from __future__ import annotations

import numpy as np


def least_squares_scale(target: np.ndarray, interference: np.ndarray) -> float:
    """Closed-form scalar least squares ``<target, I> / <I, I>``; 0.0 when ``I`` is all zero."""
    t = np.asarray(target, dtype=np.float64).ravel()
    i = np.asarray(interference, dtype=np.float64).ravel()
    denom = float(i @ i)
    if denom == 0.0:
        return 0.0
    return float(t @ i) / denom


def remove_interference(target: np.ndarray, context_maps: np.ndarray, weights: np.ndarray,
                        ) -> tuple[np.ndarray, np.ndarray, float]:
    """Return ``(map, interference, alpha)`` for one explained token.

    ``target`` [n_cells], ``context_maps`` [n_context, n_cells] (float32, as the reference),
    ``weights`` [n_context] (float32). The interference map is float32 (as the reference computes
    it); alpha and the returned map are float64.
    """
    target32 = np.asarray(target, dtype=np.float32)
    if len(weights) == 0:
        interference = np.zeros_like(target32)
    else:
        w = np.asarray(weights, dtype=np.float32)
        interference = (w[:, None] * np.asarray(context_maps, dtype=np.float32)).sum(axis=0, dtype=np.float32)
    alpha = least_squares_scale(target32, interference)
    cleaned = np.maximum(0.0, target32.astype(np.float64) - alpha * interference.astype(np.float64))
    return cleaned, interference, alpha
