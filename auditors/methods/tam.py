"""TAM (Token Activation Map, ICCV 2025): logit lens minus estimated context interference, denoised.

Modes (``ExplainSettings.tam_mode``):
* ``corrected`` (default): every generated token, token 0 included, is explained with its own class;
  context = the prompt's tokens and earlier answer tokens with different text; weights
  s_j / sum s (``tam_weighting``), removed by ECI (``methods/context_removal.py``); output =
  rank-filtered joint-normalised map in [0, 1] (float, not truncated).
* ``reference``: the reference implementation bit for bit (auditors/core/tam_reference.py), its
  quirks included: generated token 0 gets the map of the first prompt position's argmax class, and
  maps are the reference's uint8 values / 255.
"""

from __future__ import annotations

import numpy as np

from auditors.core.tam_reference import tam_reference_trace
from auditors.errors import AuditorError
from auditors.methods.base import Explainer, finalise
from auditors.methods.context_removal import remove_context


def tam_weighting(e: int, context: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """TAM's context weights: the relevance s_j = max(0, logit of c_t at j) itself."""
    return relevance


class TokenActivationMap(Explainer):
    name = "tam"
    summary = "Token Activation Map: logit lens minus estimated causal interference of context, rank-filtered"

    def attribute(self, state) -> np.ndarray:
        if state.settings.tam_mode == "reference":
            return finalise(reference_maps(state))
        rank_filter = state.rank_filter != "none"
        return finalise(remove_context(state.record_maps_at(1.0), state, tam_weighting, rank_filter=rank_filter))


def reference_maps(state) -> np.ndarray:
    """Run the reference pipeline on the captured hidden states (gathered rows only)."""
    capture = state.capture
    vision = state.prepared.vision_positions
    prompt = state.prepared.prompt_positions
    if len(prompt) == 0:
        raise AuditorError("TAM reference mode needs the prompt's token positions")
    if not (np.all(np.diff(vision) == 1) and np.all(np.diff(prompt) == 1)):
        raise AuditorError("TAM reference mode needs contiguous vision and prompt spans")
    hidden = capture.hidden  # every position 0 .. S-2
    token_ids = np.concatenate([capture.input_ids, capture.generated_ids])
    first_argmax = int(state.full_logits(hidden[int(prompt[0]): int(prompt[0]) + 1]).argmax(dim=-1)[0])
    pieces = state.prompt_pieces + state.answer_pieces

    def scores(classes: np.ndarray) -> np.ndarray:
        return state.class_logits(classes, hidden)

    trace = tam_reference_trace(token_ids=token_ids, n_input=len(capture.input_ids),
                                vision_span=(int(vision[0]), int(vision[-1]) + 1),
                                prompt_span=(int(prompt[0]), int(prompt[-1]) + 1), vision_shape=state.grid_shape,
                                text_tokens=pieces, scores_for_classes=scores, first_argmax_class=first_argmax)
    return trace.round_maps.astype(np.float32) / np.float32(255.0)
