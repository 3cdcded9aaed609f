"""ECI-style context removal shared by TAM (corrected mode), ARC and MSEA+ARC.

For generated token t (record e = n_prompt + t) the context is every earlier text record j
(optionally except those with the same text). With s_j = max(0, logit of c_t at record j's
position) a method's ``Weighting`` gives the unnormalised weights -- TAM's ``s_j``
(``methods/tam.py``) or ARC's ``s_j (1 - r_j)`` (``methods/arc.py``) -- normalised here by their
sum + 1e-8. Then I = sum w_j A_j, alpha by least squares, map = max(0, A_e - alpha I), joint
min-max with the text scores of all earlier records, and the rank Gaussian filter.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from auditors.core.eci import remove_interference
from auditors.core.normalise import joint_minmax, minmax
from auditors.core.rank_filter import rank_gaussian_filter

Weighting = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""(explained record e, context indices, relevance s_j) -> unnormalised weights."""


def remove_context(record_maps: np.ndarray, state, weighting: Weighting, rank_filter: bool = True) -> np.ndarray:
    """Maps ``[n_generated, h, w]`` after context removal and post-processing."""
    settings = state.settings
    n_records = len(record_maps)
    flat = record_maps.reshape(n_records, -1).astype(np.float32)
    scores = np.maximum(state.explained_text_scores, np.float32(0.0))  # [n_gen, N-1]
    out = np.zeros((state.n_generated, *record_maps.shape[1:]), dtype=np.float32)
    for t in range(state.n_generated):
        e = state.n_prompt + t
        earlier = np.arange(e)
        if settings.exclude_identical_context:
            own = state.record_strings[e]
            context = np.asarray([j for j in earlier if state.record_strings[j] != own], dtype=np.int64)
        else:
            context = earlier
        relevance = scores[t, context].astype(np.float32)
        raw_weights = np.asarray(weighting(e, context, relevance), dtype=np.float32)
        weights = (raw_weights / (raw_weights.sum() + np.float32(1e-8))).astype(np.float32)
        cleaned, _, _ = remove_interference(flat[e], flat[context], weights)
        if settings.joint_normalisation:
            norm = joint_minmax(cleaned, scores[t, :e])
        else:
            norm = minmax(cleaned)
        grid = norm.reshape(record_maps.shape[1:])
        if rank_filter:
            grid = rank_gaussian_filter(grid)
        out[t] = np.nan_to_num(grid, nan=0.0)
    return out
