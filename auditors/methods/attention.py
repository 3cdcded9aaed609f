"""Attention baseline: attention from the position that predicts each generated token to the
vision tokens, heads averaged over the last layers (or attention rollout over all layers).

Needs attention weights, so it runs one teacher-forced forward (prompt + answer) with the eager
attention implementation (switched temporarily when the model uses another one). Each map is
min-max normalised to [0, 1].
"""

from __future__ import annotations

import numpy as np

from auditors.core.normalise import minmax
from auditors.methods.base import Explainer, finalise


class AttentionBaseline(Explainer):
    name = "attention"
    summary = "attention of the predicting position to vision tokens (last layers, heads averaged)"

    def attribute(self, state) -> np.ndarray:
        import torch

        model, settings = state.model, state.settings
        inputs = state.adapter.extend_inputs(state.prepared, state.capture.generated_ids[:-1])
        previous = getattr(model.config, "_attn_implementation", None)
        switched = previous != "eager"
        if switched:
            model.set_attn_implementation("eager")
        try:
            out = model(**inputs, output_attentions=True, use_cache=False, logits_to_keep=1)
        finally:
            if switched:
                model.set_attn_implementation(previous)
        layers = [a[0].float() for a in out.attentions]  # each [heads, S, S]
        predicting = state.n_input - 1 + np.arange(state.n_generated)
        vision = state.prepared.vision_positions
        if settings.attention_rollout:
            size = layers[0].shape[-1]
            eye = torch.eye(size)
            rollout = eye
            for att in layers:
                mixed = 0.5 * att.mean(dim=0) + 0.5 * eye
                mixed = mixed / mixed.sum(dim=-1, keepdim=True)
                rollout = mixed @ rollout
            scores = rollout[predicting][:, vision]
        else:
            last = layers[-settings.attention_last_layers:]
            scores = torch.stack([att.mean(dim=0) for att in last]).mean(dim=0)[predicting][:, vision]
        maps = scores.cpu().numpy().reshape(state.n_generated, *state.grid_shape)
        return finalise(np.stack([minmax(m) for m in maps]))
