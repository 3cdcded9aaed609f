"""MSEA (multi-scale explanation aggregation, arXiv 2509.22415).

Each token's logit-lens map at every scale (one prompt-only forward per extra scale), normalised
per scale, resized onto the original grid and averaged (``ExplainState.aggregated_record_maps``);
then the rank Gaussian filter (``rank_filter="final"``) and a per-map min-max to [0, 1]. With
scales (1.0,) this is exactly the single-scale path: min-max of the rank-filtered logit lens.
"""

from __future__ import annotations

import numpy as np

from auditors.core.normalise import minmax
from auditors.core.rank_filter import rank_gaussian_filter
from auditors.methods.base import Explainer, finalise


class MultiScaleAggregation(Explainer):
    name = "msea"
    summary = "logit-lens maps averaged over image scales, rank-filtered"

    def needed_scales(self, state) -> tuple[float, ...]:
        return state.scales

    def explain(self, state) -> np.ndarray:
        maps = state.aggregated_record_maps[state.n_prompt:]
        if state.rank_filter == "final":
            maps = np.stack([rank_gaussian_filter(m) for m in maps]) if len(maps) else maps
        return finalise(np.stack([minmax(np.nan_to_num(m)) for m in maps]) if len(maps) else maps)
