"""The one greedy generation, with the final post-norm hidden states of every position captured.

WHY a hook on the final norm: ``output_hidden_states`` would keep every layer of every step; the
explainers only need what the LM head reads. The hook sees the prefill (all prompt positions,
vision tokens included) and then one position per decoding step, so after generation we hold
``[L + n - 1, d]`` states: every position except the last generated token's, which is never fed
back. Generation's own full-vocabulary logits (``output_logits``) give the top-k lists ARC needs
for answer tokens without projecting anything else onto the vocabulary.

ARC also needs the top-k lists of a few prompt positions (the ones that predicted each prompt
token). Those rows are known before generation starts, so they ride along generation's own
LM-head calls (``HeadRideAlong``): a couple of extra rows are appended to each head call, whose
cost is one read of the LM-head weight whether it projects one row or three. Measured on the
project's CPU (``benchmarks/arc_rankings_cost.py``; torch 2.13, one thread, a 150k x 512 fp32
head): 1, 2 or 3 rows cost 23-28 ms a call, 4 rows 50 ms (the kernel switches from a
matrix-vector to a matrix-matrix product), so at most ``RIDE_ALONG_ROWS`` = 2 extra rows join a
one-row call. A separate pass after generation costs a whole extra weight read: work after
generation 5.6 % of generation on a 123.5 M-parameter model that way, 1.6 % riding along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.errors import AuditorError

RIDE_ALONG_ROWS = 2


@dataclass
class GenerationCapture:
    input_ids: np.ndarray  # [L] prompt ids (vision placeholders included)
    generated_ids: np.ndarray  # [n] greedy answer ids (EOS included when generated)
    hidden: "object"  # torch.Tensor [L + n - 1, d], float32, post-norm
    step_logits: "object"  # torch.Tensor [n, V], the logits that chose each generated token
    ranked_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ranked_topk: np.ndarray | None = None  # [len(ranked_positions), k]: top-k ids of the logits there

    def topk_at(self, positions: np.ndarray, k: int) -> np.ndarray | None:
        """Top-``k`` ids of the logits at prompt ``positions`` when generation captured them, else None."""
        if self.ranked_topk is None or self.ranked_topk.shape[1] < k:
            return None
        if not np.array_equal(np.asarray(positions), self.ranked_positions):
            return None
        return self.ranked_topk[:, :k]


class FinalNormRecorder:
    """Context manager that records the final norm's output of every forward: batch row 0
    (``[s, d]`` per forward), or every row with ``all_rows`` (``[B, s, d]``, batched generation)."""

    def __init__(self, norm_module, all_rows: bool = False):
        self.norm_module = norm_module
        self.all_rows = all_rows
        self.chunks: list = []
        self._handle = None

    def _hook(self, module, args, output):
        tensor = output[0] if isinstance(output, tuple) else output
        self.chunks.append((tensor if self.all_rows else tensor[0]).detach().float())

    def __enter__(self) -> "FinalNormRecorder":
        self._handle = self.norm_module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()

    def stacked(self):
        import torch

        return torch.cat(self.chunks, dim=0)


class HeadRideAlong:
    """Context manager: appends prompt rows to generation's own LM-head calls, a few per call, and
    keeps the top-k ids of their logits (see the module docstring for why this is cheaper).

    The rows are read from the recorded prefill at the first head call (the norm runs before the
    head in the same forward); rows still pending when generation ends are projected by ``finish``.
    """

    def __init__(self, head, recorder: FinalNormRecorder, positions: np.ndarray, k: int):
        self.head, self.recorder, self.k = head, recorder, k
        self.positions = np.asarray(positions, dtype=np.int64)
        self._pending = None  # torch.Tensor [P', d] of rows not projected yet
        self._carried = 0
        self._topk: list = []
        self._handles: list = []

    def __enter__(self) -> "HeadRideAlong":
        if len(self.positions):
            self._handles = [self.head.register_forward_pre_hook(self._before),
                             self.head.register_forward_hook(self._after)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    def _before(self, module, args):
        import torch

        hidden = args[0]
        if self._pending is None:
            self._pending = self.recorder.chunks[0][self.positions]
        self._carried = min(RIDE_ALONG_ROWS, len(self._pending)) if hidden.shape[0] == 1 else 0
        if not self._carried:
            return None
        extra = self._pending[: self._carried].to(hidden.dtype).unsqueeze(0)
        self._pending = self._pending[self._carried:]
        return (torch.cat([hidden, extra], dim=1), *args[1:])

    def _after(self, module, args, output):
        import torch

        if not self._carried:
            return None
        carried, self._carried = self._carried, 0
        self._topk.append(torch.topk(output[0, -carried:].float(), self.k, dim=-1).indices)
        return output[:, :-carried]

    def finish(self) -> np.ndarray:
        """[P, k] top-k ids of every requested row (those generation did not carry projected now)."""
        import torch

        if self._pending is None:  # generation made no head call (cannot happen with max_new_tokens >= 1)
            self._pending = self.recorder.chunks[0][self.positions]
        if len(self._pending):
            self._topk.append(torch.as_tensor(head_topk(self.head, self._pending, self.k)))
            self._pending = self._pending[:0]
        return torch.cat(self._topk).cpu().numpy() if self._topk else np.zeros((0, self.k), dtype=np.int64)


def head_topk(head, rows, k: int) -> np.ndarray:
    """Top-``k`` ids of the LM head's logits at hidden ``rows`` [m, d] (one pass over the head)."""
    import torch

    logits = torch.nn.functional.linear(rows.to(head.weight.dtype), head.weight, getattr(head, "bias", None))
    return torch.topk(logits.float(), k, dim=-1).indices.cpu().numpy()


def generate_with_capture(model, processor, adapter: ModelAdapter, prepared: PreparedInput, max_new_tokens: int,
                          ranked_positions: np.ndarray | None = None, topk: int = 0) -> GenerationCapture:
    """Greedy-generate once and capture the post-norm hidden states of every position.

    ``ranked_positions``: prompt positions whose top-``topk`` next-token ids are wanted (ARC's
    rankings of the prompt tokens); they ride along generation's LM-head calls.
    """
    import torch

    tokenizer = processor.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    head = adapter.lm_head(model)
    positions = np.zeros(0, dtype=np.int64) if ranked_positions is None or topk < 1 else np.asarray(ranked_positions)
    k = min(int(topk), int(head.weight.shape[0]))
    with FinalNormRecorder(adapter.final_norm(model)) as recorder, HeadRideAlong(head, recorder, positions,
                                                                                   k) as riding:
        out = model.generate(**prepared.inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             output_logits=True, return_dict_in_generate=True, pad_token_id=pad,
                             suppress_tokens=adapter.suppressed_token_ids(model, processor),
                             temperature=None, top_p=None, top_k=None)
    input_len = prepared.inputs["input_ids"].shape[1]
    generated = out.sequences[0, input_len:].cpu().numpy()
    hidden = recorder.stacked()
    expected = input_len + len(generated) - 1
    if hidden.shape[0] != expected:
        raise AuditorError(f"captured {hidden.shape[0]} final-norm positions during generation, expected {expected}")
    step_logits = torch.stack([step[0].float() for step in out.logits])
    return GenerationCapture(input_ids=prepared.input_ids, generated_ids=generated, hidden=hidden,
                             step_logits=step_logits, ranked_positions=positions,
                             ranked_topk=riding.finish() if len(positions) else None)
