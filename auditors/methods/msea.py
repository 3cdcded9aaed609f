"""MSEA (multi-scale explanation aggregation, arXiv 2509.22415).

An isolated vision token sees only its receptive field, so single-scale maps are fragmented.
MSEA explains the same answer with the image at several scales and averages:

1. each text record's logit-lens map at every scale (``ExplainState.record_maps_at``; one
   prompt-only forward per extra scale, the answer being fixed by the one generation);
2. optionally the rank Gaussian filter on each scale's map (``rank_filter="per_scale"``);
3. per-scale normalisation (``ExplainSettings.per_scale_normalisation``; by default rescaled to the
   original-scale map's maximum, so aggregated maps stay in logit units);
4. resizing onto the original grid (``to_original_grid``: the image's part of the scale's grid,
   resized onto the original image's part);
5. a weighted average over scales (``aggregated_record_maps``): equal weights, or with
   ``align_scales`` the RBO of each record's top-k list at that scale with the original scale's
   (``alignment_weights``, one teacher-forced replay per extra scale).

``msea`` then applies the rank Gaussian filter (``rank_filter="final"``) and a per-map min-max
to [0, 1]; ``msea_arc`` runs ARC on the aggregated maps instead. With scales (1.0,) this is
exactly the single-scale path: min-max of the rank-filtered logit lens.
"""

from __future__ import annotations

import time

import numpy as np

from auditors.core.normalise import minmax
from auditors.core.rank_filter import rank_gaussian_filter
from auditors.core.rbo import rbo_many
from auditors.methods.arc import record_topk
from auditors.methods.base import Explainer, finalise
from auditors.state import per_explanation


def to_original_grid(state, maps: np.ndarray, scale: float) -> np.ndarray:
    """Maps ``[N, h_s, w_s]`` at ``scale`` resized onto the original grid ``[N, h, w]`` (content boxes
    aligned: fixed-canvas families pad the image differently at each scale)."""
    import cv2

    if scale == 1.0:
        return maps
    x0, y0, x1, y1 = state.prepared_at(scale).content_box
    dst = state.prepared.content_box
    out = np.zeros((maps.shape[0], *state.grid_shape), dtype=np.float32)
    flag = cv2.INTER_LINEAR if state.settings.resize_interpolation == "bilinear" else cv2.INTER_NEAREST
    for i, m in enumerate(maps):
        crop = np.ascontiguousarray(m[y0:y1, x0:x1], dtype=np.float32)
        out[i, dst[1]:dst[3], dst[0]:dst[2]] = cv2.resize(crop, (dst[2] - dst[0], dst[3] - dst[1]),
                                                         interpolation=flag)
    return np.maximum(out, 0.0)


def alignment_weights(state) -> np.ndarray:
    """[n_scales, N]: RBO of each record's top-k list at each scale with the original scale's (all
    ones unless ``align_scales``)."""
    import torch

    from auditors.replay import teacher_forced_logits

    weights = np.ones((len(state.scales), len(state.record_ids)))
    if not state.settings.align_scales:
        return weights
    original = record_topk(state)
    k = original.shape[1]
    for si, scale in enumerate(state.scales):
        if scale == 1.0:
            continue
        prepared = state.prepared_at(scale)
        t0 = time.perf_counter()
        logits = teacher_forced_logits(state.model, state.adapter, prepared, state.capture.generated_ids)
        state.forward_seconds += time.perf_counter() - t0
        lists = [torch.topk(logits, k, dim=-1).indices.cpu().numpy()]
        if state.n_prompt:
            hidden = state.hidden_at(scale)
            prompt_logits = state.full_logits(hidden[prepared.prompt_positions - 1])
            lists.insert(0, torch.topk(prompt_logits, k, dim=-1).indices.cpu().numpy())
        at_scale = np.concatenate(lists)
        weights[si] = [rbo_many(original[j], at_scale[j: j + 1], state.settings.rbo_p)[0]
                       for j in range(len(state.record_ids))]
    return weights


@per_explanation
def aggregated_record_maps(state) -> np.ndarray:
    """Every text record's map averaged over scales on the original grid, [N, h, w] float32."""
    mode = state.settings.per_scale_normalisation
    per_scale_rgf = state.rank_filter == "per_scale"
    original = state.record_maps_at(1.0)
    if per_scale_rgf:
        original = np.nan_to_num(np.stack([rank_gaussian_filter(m) for m in original]))
    reference_max = original.reshape(len(original), -1).max(axis=1)
    weights = alignment_weights(state)
    total = np.zeros_like(original, dtype=np.float64)
    for si, scale in enumerate(state.scales):
        maps = state.record_maps_at(scale)
        if per_scale_rgf:
            maps = np.nan_to_num(np.stack([rank_gaussian_filter(m) for m in maps]))
        maps = to_original_grid(state, maps, scale).astype(np.float64)
        if mode == "match_original_max":
            peak = maps.reshape(len(maps), -1).max(axis=1)
            factor = np.divide(reference_max, peak, out=np.zeros_like(peak, dtype=np.float64), where=peak > 0)
            maps = maps * factor[:, None, None]
        elif mode == "minmax":
            maps = np.stack([minmax(m) for m in maps])
        total += weights[si][:, None, None] * maps
    norm = weights.sum(axis=0)
    norm = np.where(norm > 0, norm, 1.0)
    return (total / norm[:, None, None]).astype(np.float32)


class MultiScaleAggregation(Explainer):
    name = "msea"
    summary = "logit-lens maps averaged over image scales, rank-filtered"

    def needed_scales(self, state) -> tuple[float, ...]:
        return state.scales

    def needs_rankings(self, settings) -> bool:
        return settings.align_scales  # the alignment weights compare rankings across scales

    def attribute(self, state) -> np.ndarray:
        maps = aggregated_record_maps(state)[state.n_prompt:]
        if state.rank_filter == "final":
            maps = np.stack([rank_gaussian_filter(m) for m in maps]) if len(maps) else maps
        return finalise(np.stack([minmax(np.nan_to_num(m)) for m in maps]) if len(maps) else maps)
