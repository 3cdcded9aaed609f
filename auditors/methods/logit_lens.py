"""Logit lens: A_t[j] = max(0, W[c_t] . h_L[j]), the raw activation map TAM starts from.

One matmul of the original-scale vision states with the gathered LM-head rows of the generated
ids (done once for all text records in ``ExplainState.record_maps_at``). Values are in logit
units, not normalised.
"""

from __future__ import annotations

import numpy as np

from auditors.methods.base import Explainer, finalise


class LogitLens(Explainer):
    name = "logit_lens"
    summary = "raw logit-lens activation of each token's class at each vision token"

    def attribute(self, state) -> np.ndarray:
        return finalise(state.record_maps_at(1.0)[state.n_prompt:])
