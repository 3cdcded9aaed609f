"""MSEA+ARC: aggregate every record's map over scales first (MSEA's ``aggregated_record_maps``,
shared with ``msea`` when both run), then ARC's context removal on the aggregated maps (its
``arc_weighting`` over the original-scale rankings), then joint normalisation and the rank
Gaussian filter. With scales (1.0,) it equals ``arc``."""

from __future__ import annotations

import numpy as np

from auditors.methods.arc import arc_weighting
from auditors.methods.base import Explainer, finalise
from auditors.methods.context_removal import remove_context
from auditors.methods.msea import aggregated_record_maps


class MultiScaleARC(Explainer):
    name = "msea_arc"
    summary = "ARC applied to maps aggregated over image scales"

    def needed_scales(self, state) -> tuple[float, ...]:
        return state.scales

    def needs_rankings(self, settings) -> bool:
        return True

    def attribute(self, state) -> np.ndarray:
        weighting = arc_weighting(state, state.settings.arc_weighting)
        return finalise(remove_context(aggregated_record_maps(state), state, weighting,
                                       rank_filter=state.rank_filter == "final"))
