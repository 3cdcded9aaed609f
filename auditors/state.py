"""What every explainer reads for one (model, image, prompt): computed once, lazily.

The state holds the quantities shared by several methods -- the one generation's capture, the
inputs and prompt-only hidden states at each scale, the logit-lens map of every text record at a
scale, the explained tokens' text scores -- and a per-explanation cache that the methods fill
through functions defined in their own modules (``per_explanation``): MSEA's aggregation lives in
``methods/msea.py``, ARC's rankings in ``methods/arc.py``, and each is still computed once per
explanation however many methods use it (MSEA+ARC reuses both).

Cost discipline: every map is a product of gathered LM-head rows with hidden states (never the
full vocabulary at vision positions); scales other than 1 cost one prompt-only forward each;
full-vocabulary logits appear only where top-k lists are needed (answer tokens: from generation;
prompt tokens: one row each).
"""

from __future__ import annotations

import functools
import time
from functools import cached_property
from typing import Callable, TypeVar

import numpy as np

from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.capture import GenerationCapture
from auditors.settings import ExplainSettings
from auditors.tokens import token_pieces

T = TypeVar("T")


def per_explanation(compute: Callable[["ExplainState"], T]) -> Callable[["ExplainState"], T]:
    """Decorator: ``compute(state)`` runs at most once per explanation; later calls, from any
    method, get the same result. The function stays in its method's module, where it is read."""

    @functools.wraps(compute)
    def shared(state: "ExplainState") -> T:
        return state.shared(shared, compute)

    return shared


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
        self._shared: dict[Callable, object] = {}
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

    # --- the per-explanation cache of method quantities -------------------------------------------
    def shared(self, key: Callable, compute: Callable[["ExplainState"], T]) -> T:
        """``compute(self)`` once per key (see ``per_explanation``)."""
        if key not in self._shared:
            self._shared[key] = compute(self)
        return self._shared[key]  # type: ignore[return-value]

    def override(self, quantity: Callable, value) -> None:
        """Replace a ``per_explanation`` quantity before it is computed (tests and experiments)."""
        self._shared[quantity] = value

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
        """Full-vocabulary logits of a few positions (only where top-k rankings are needed), float32.

        Computed in the head's own dtype, as generation computes its logits: casting a bfloat16
        head to float32 first would copy it whole (1.2 GB for Qwen2.5-VL-3B) on every call.
        """
        import torch

        return torch.nn.functional.linear(hidden.to(self.weight.dtype), self.weight, self.bias).float()

    # --- scales -----------------------------------------------------------------------------------
    @cached_property
    def scales(self) -> tuple[float, ...]:
        """MSEA's scales for this input (``ExplainSettings.resolve_scales``), 1.0 first."""
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

    def provide_hidden(self, scale: float, hidden) -> None:
        """Hand in the prompt's hidden states at ``scale`` computed elsewhere (a batched forward over
        several probes), so ``hidden_at`` does not run the model for this probe alone."""
        if scale == 1.0:
            raise ValueError("scale 1's hidden states come from the generation")
        self._vision_at[scale] = hidden.float()

    def record_maps_at(self, scale: float) -> np.ndarray:
        """Logit-lens maps of every text record (own class) at ``scale``: [N, h_s, w_s] float32, >= 0.

        Every method starts from these: A_j = max(0, W[c_j] . h_L[vision]) for record j."""
        if scale not in self._record_maps_at:
            prepared = self.prepared_at(scale)
            hidden = self.hidden_at(scale)[prepared.vision_positions]
            maps = np.maximum(self.class_logits(self.record_ids, hidden), 0.0)
            self._record_maps_at[scale] = maps.reshape(len(self.record_ids), *prepared.grid_shape)
        return self._record_maps_at[scale]

    # --- text scores ------------------------------------------------------------------------------
    @cached_property
    def explained_text_scores(self) -> np.ndarray:
        """[n_generated, N-1]: logit of each generated token's class at every text record's position
        (the last record, the final generated token, is never fed back and never context)."""
        positions = self.record_positions[:-1]
        ids = self.capture.generated_ids
        return self.class_logits(ids, self.capture.hidden[positions])
