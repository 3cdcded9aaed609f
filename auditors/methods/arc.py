"""ARC (activation ranking correlation, arXiv 2509.22415), single scale.

Sequential text dependence makes context tokens light up the image for reasons of their own. ARC
asks, for explained token t and each earlier text record j, whether the two next-token
distributions that predicted them rank the same candidates on top:

1. rankings (``record_topk``): the top-k vocabulary ids of the distribution that predicted each
   text record -- for answer tokens the logits generation already computed, for prompt tokens the
   positions before them, projected along with generation's own LM-head calls
   (``auditors.capture.HeadRideAlong``; ``needs_rankings`` asks for them);
2. coherence r_j = RBO_p(top-k of t, top-k of j) (extrapolated rank-biased overlap, 1 for
   identical lists);
3. weights (``arc_weighting``): coherent context is kept, incoherent context is interference,
   w_j ~ s_j (1 - r_j) with s_j = max(0, logit of c_t at j) (``ExplainSettings.arc_weighting``);
4. ECI removal with those weights, joint normalisation and the rank Gaussian filter, exactly as
   TAM does them (``methods/context_removal.py``).
"""

from __future__ import annotations

import numpy as np

from auditors.core.rbo import rbo_many
from auditors.methods.base import Explainer, finalise
from auditors.methods.context_removal import Weighting, remove_context
from auditors.state import per_explanation


@per_explanation
def record_topk(state) -> np.ndarray:
    """[N, k]: top-k ids of the distribution that predicted each text record (prompt, then answer)."""
    import torch

    k = min(state.settings.topk, state.weight.shape[0])
    parts = []
    if state.n_prompt:
        predicting = state.prompt_positions - 1  # the positions whose logits predicted the prompt tokens
        captured = state.capture.topk_at(predicting, k)  # projected along with generation's head calls
        if captured is None:  # not requested at generation: one more head pass
            captured = torch.topk(state.full_logits(state.capture.hidden[predicting]), k, dim=-1).indices.cpu().numpy()
        parts.append(np.asarray(captured))
    parts.append(torch.topk(state.capture.step_logits, k, dim=-1).indices.cpu().numpy())
    return np.concatenate(parts).astype(np.int64)


def arc_weighting(state, variant: str) -> Weighting:
    """Context weights of ARC's variant ``variant`` (``relevance_incoherence``, ``incoherence`` or
    ``relevance``, the last being TAM's weighting) over the rankings of ``record_topk``."""
    topk = record_topk(state)
    p = state.settings.rbo_p

    def weights(e: int, context: np.ndarray, relevance: np.ndarray) -> np.ndarray:
        if len(context) == 0:
            return relevance
        incoherence = 1.0 - rbo_many(topk[e], topk[context], p)
        if variant == "incoherence":
            return incoherence.astype(np.float32)
        if variant == "relevance":
            return relevance
        return (relevance * incoherence).astype(np.float32)

    return weights


class ActivationRankingCorrelation(Explainer):
    name = "arc"
    summary = "logit lens minus context that ranks candidates differently (RBO-weighted), rank-filtered"

    def needs_rankings(self, settings) -> bool:
        return True

    def attribute(self, state) -> np.ndarray:
        weighting = arc_weighting(state, state.settings.arc_weighting)
        return finalise(remove_context(state.record_maps_at(1.0), state, weighting,
                                       rank_filter=state.rank_filter != "none"))
