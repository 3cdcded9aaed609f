"""Everything the explainers share for one (model, image, prompt): computed once, lazily.

Cost discipline (issue 2, item 5): every map is a product of gathered LM-head rows with hidden
states (never the full vocabulary at vision positions); scales other than 1 cost one prompt-only
forward each; full-vocabulary logits appear only where top-k lists are needed (answer tokens:
from generation; prompt tokens: one row each).
"""

from __future__ import annotations

import time
from functools import cached_property

import numpy as np

from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.capture import GenerationCapture
from auditors.core.normalise import minmax
from auditors.core.rank_filter import rank_gaussian_filter
from auditors.core.rbo import rbo_many
from auditors.settings import ExplainSettings
from auditors.tokens import token_pieces


class ExplainState:
    """Shared, cached quantities; methods read from it and never run the model themselves
    (except the attention baseline, which needs attention weights)."""

    def __init__(self, model, processor, adapter: ModelAdapter, image, prompt: str, settings: ExplainSettings,
                 prepared: PreparedInput, capture: GenerationCapture):
        self.model, self.processor, self.adapter = model, processor, adapter
        self.image, self.prompt, self.settings = image, prompt, settings
        self.prepared, self.capture = prepared, capture
        head = adapter.lm_head(model)
        self.weight = head.weight
        self.bias = getattr(head, "bias", None)
        self.n_input = len(capture.input_ids)
        self.n_generated = len(capture.generated_ids)
        self.grid_shape = prepared.grid_shape
        self._prepared_at: dict[float, PreparedInput] = {1.0: prepared}
        self._vision_at: dict[float, object] = {}
        self._record_maps_at: dict[float, np.ndarray] = {}
        self.forward_seconds = 0.0  # time spent in model forwards after generation (extra scales, replays)
        special = set(getattr(processor.tokenizer, "all_special_ids", []) or [])
        prompt_pos = prepared.prompt_positions if settings.include_prompt_context else np.zeros(0, dtype=np.int64)
        self.prompt_positions = np.asarray(prompt_pos, dtype=np.int64)
        self.n_prompt = len(self.prompt_positions)
        # text records: the prompt's tokens, then the generated tokens (the explained ones)
        self.record_ids = np.concatenate([capture.input_ids[self.prompt_positions],
                                          capture.generated_ids]).astype(np.int64)
        self.record_positions = np.concatenate([self.prompt_positions,
                                                self.n_input + np.arange(self.n_generated)]).astype(np.int64)
        tok = processor.tokenizer
        self.prompt_pieces = token_pieces(tok, capture.input_ids[prepared.prompt_positions]) if len(
            prepared.prompt_positions) else []
        self.answer_pieces = token_pieces(tok, capture.generated_ids)
        self.answer_special = [int(i) in special for i in capture.generated_ids]
        pieces = (self.prompt_pieces if settings.include_prompt_context else []) + self.answer_pieces
        self.record_strings = [p.strip() for p in pieces]

    # --- logits through gathered rows -------------------------------------------------------------
    def rows(self, ids):
        import torch

        index = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=self.weight.device)
        return self.weight.index_select(0, index).float(), (
            None if self.bias is None else self.bias.index_select(0, index).float())

    def class_logits(self, ids, hidden) -> np.ndarray:
        """Logits of classes ``ids`` at each row of ``hidden`` [m, d] -> [len(ids), m] float32."""
        rows, bias = self.rows(ids)
        out = rows @ hidden.float().T
        if bias is not None:
            out = out + bias[:, None]
        return out.cpu().numpy().astype(np.float32)

    def full_logits(self, hidden):
        """Full-vocabulary logits of a few positions (only where top-k rankings are needed)."""
        out = hidden.float() @ self.weight.float().T
        return out if self.bias is None else out + self.bias.float()

    # --- scales -----------------------------------------------------------------------------------
    @cached_property
    def scales(self) -> tuple[float, ...]:
        return self.settings.resolve_scales(self.grid_shape, self.adapter.fixed_canvas)

    @cached_property
    def rank_filter(self) -> str:
        """Where the rank Gaussian filter applies on this generation (``auto`` resolved by grid size)."""
        return self.settings.resolve_rank_filter(self.grid_shape)

    def prepared_at(self, scale: float) -> PreparedInput:
        if scale not in self._prepared_at:
            self._prepared_at[scale] = self.adapter.prepare(self.model, self.processor, self.image, self.prompt,
                                                           scale, reference=self.prepared)
        return self._prepared_at[scale]

    def check_scales(self, scales) -> None:
        """Prepare every scale up front so a bad scale set fails before any work is kept."""
        for s in scales:
            self.prepared_at(s)

    def hidden_at(self, scale: float):
        """Post-norm hidden states of the prompt at ``scale`` ([L_s, d]); scale 1 from generation."""
        if scale == 1.0:
            return self.capture.hidden[: self.n_input]
        if scale not in self._vision_at:
            prepared = self.prepared_at(scale)
            t0 = time.perf_counter()
            self._vision_at[scale] = self.adapter.prompt_hidden_states(self.model, prepared).float()
            self.forward_seconds += time.perf_counter() - t0
        return self._vision_at[scale]

    def record_maps_at(self, scale: float) -> np.ndarray:
        """Logit-lens maps of every text record (own class) at ``scale``: [N, h_s, w_s] float32, >= 0."""
        if scale not in self._record_maps_at:
            prepared = self.prepared_at(scale)
            hidden = self.hidden_at(scale)[prepared.vision_positions]
            maps = np.maximum(self.class_logits(self.record_ids, hidden), 0.0)
            self._record_maps_at[scale] = maps.reshape(len(self.record_ids), *prepared.grid_shape)
        return self._record_maps_at[scale]

    # --- text scores and rankings -----------------------------------------------------------------
    @cached_property
    def explained_text_scores(self) -> np.ndarray:
        """[n_generated, N-1]: logit of each generated token's class at every text record's position
        (the last record, the final generated token, is never fed back and never context)."""
        positions = self.record_positions[:-1]
        ids = self.capture.generated_ids
        return self.class_logits(ids, self.capture.hidden[positions])

    @cached_property
    def record_topk(self) -> np.ndarray:
        """[N, k]: top-k ids of the distribution that predicted each text record."""
        import torch

        k = min(self.settings.topk, self.weight.shape[0])
        parts = []
        if self.n_prompt:  # generation projected only the last prompt position: one more head pass
            logits = self.full_logits(self.capture.hidden[self.prompt_positions - 1])
            parts.append(torch.topk(logits, k, dim=-1).indices)
        parts.append(torch.topk(self.capture.step_logits, k, dim=-1).indices)
        return torch.cat(parts).cpu().numpy()

    # --- MSEA aggregation -------------------------------------------------------------------------
    def _to_original_grid(self, maps: np.ndarray, scale: float) -> np.ndarray:
        import cv2

        if scale == 1.0:
            return maps
        src = self.prepared_at(scale).content_box
        dst = self.prepared.content_box
        x0, y0, x1, y1 = src
        out = np.zeros((maps.shape[0], *self.grid_shape), dtype=np.float32)
        flag = cv2.INTER_LINEAR if self.settings.resize_interpolation == "bilinear" else cv2.INTER_NEAREST
        for i, m in enumerate(maps):
            crop = np.ascontiguousarray(m[y0:y1, x0:x1], dtype=np.float32)
            out[i, dst[1]:dst[3], dst[0]:dst[2]] = cv2.resize(crop, (dst[2] - dst[0], dst[3] - dst[1]),
                                                             interpolation=flag)
        return np.maximum(out, 0.0)

    def alignment_weights(self) -> np.ndarray:
        """[n_scales, N] RBO of each record's top-k list at each scale with the original scale's."""
        import torch

        weights = np.ones((len(self.scales), len(self.record_ids)))
        if not self.settings.align_scales:
            return weights
        from auditors.replay import teacher_forced_logits

        k = self.record_topk.shape[1]
        for si, scale in enumerate(self.scales):
            if scale == 1.0:
                continue
            prepared = self.prepared_at(scale)
            t0 = time.perf_counter()
            logits = teacher_forced_logits(self.model, self.adapter, prepared, self.capture.generated_ids)
            self.forward_seconds += time.perf_counter() - t0
            lists = [torch.topk(logits, k, dim=-1).indices.cpu().numpy()]
            if self.n_prompt:
                hidden = self.hidden_at(scale)
                prompt_logits = self.full_logits(hidden[prepared.prompt_positions - 1])
                lists.insert(0, torch.topk(prompt_logits, k, dim=-1).indices.cpu().numpy())
            topk_s = np.concatenate(lists)
            weights[si] = [rbo_many(self.record_topk[j], topk_s[j: j + 1], self.settings.rbo_p)[0]
                           for j in range(len(self.record_ids))]
        return weights

    @cached_property
    def aggregated_record_maps(self) -> np.ndarray:
        """MSEA: every record's map averaged over scales on the original grid, [N, h, w] float32."""
        mode = self.settings.per_scale_normalisation
        per_scale_rgf = self.rank_filter == "per_scale"
        original = self.record_maps_at(1.0)
        if per_scale_rgf:
            original = np.nan_to_num(np.stack([rank_gaussian_filter(m) for m in original]))
        reference_max = original.reshape(len(original), -1).max(axis=1)
        weights = self.alignment_weights()
        total = np.zeros_like(original, dtype=np.float64)
        for si, scale in enumerate(self.scales):
            maps = self.record_maps_at(scale)
            if per_scale_rgf:
                maps = np.nan_to_num(np.stack([rank_gaussian_filter(m) for m in maps]))
            maps = self._to_original_grid(maps, scale).astype(np.float64)
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
