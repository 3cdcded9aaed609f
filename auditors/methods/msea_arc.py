"""MSEA+ARC: aggregate every record's map over scales first, then ARC on the aggregated maps,
then joint normalisation and the rank Gaussian filter. With scales (1.0,) it equals ``arc``."""

from __future__ import annotations

import numpy as np

from auditors.methods.base import Explainer, finalise
from auditors.methods.context_removal import arc_weighting, remove_context


class MultiScaleARC(Explainer):
    name = "msea_arc"
    summary = "ARC applied to maps aggregated over image scales"

    def needed_scales(self, state) -> tuple[float, ...]:
        return state.scales

    def explain(self, state) -> np.ndarray:
        weighting = arc_weighting(state, state.settings.arc_weighting)
        return finalise(remove_context(state.aggregated_record_maps, state, weighting,
                                       rank_filter=state.rank_filter == "final"))
