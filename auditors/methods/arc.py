"""ARC (activation ranking correlation, arXiv 2509.22415), single scale.

Context whose next-token ranking agrees with the explained token's (high RBO of the top-k lists)
is semantically coherent and kept; incoherent context is interference: w_j ~ s_j (1 - r_j)
(``ExplainSettings.arc_weighting``), then least-squares removal, joint normalisation and the
rank Gaussian filter as in TAM.
"""

from __future__ import annotations

import numpy as np

from auditors.methods.base import Explainer, finalise
from auditors.methods.context_removal import arc_weighting, remove_context


class ActivationRankingCorrelation(Explainer):
    name = "arc"
    summary = "logit lens minus context that ranks candidates differently (RBO-weighted), rank-filtered"

    def explain(self, state) -> np.ndarray:
        weighting = arc_weighting(state, state.settings.arc_weighting)
        return finalise(remove_context(state.record_maps_at(1.0), state, weighting,
                                       rank_filter=state.rank_filter != "none"))
