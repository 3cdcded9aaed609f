"""The one greedy generation, with the final post-norm hidden states of every position captured.

WHY a hook on the final norm: ``output_hidden_states`` would keep every layer of every step; the
explainers only need what the LM head reads. The hook sees the prefill (all prompt positions,
vision tokens included) and then one position per decoding step, so after generation we hold
``[L + n - 1, d]`` states: every position except the last generated token's, which is never fed
back. Generation's own full-vocabulary logits (``output_logits``) give the top-k lists ARC needs
for answer tokens without projecting anything else onto the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.errors import AuditorError


@dataclass
class GenerationCapture:
    input_ids: np.ndarray  # [L] prompt ids (vision placeholders included)
    generated_ids: np.ndarray  # [n] greedy answer ids (EOS included when generated)
    hidden: "object"  # torch.Tensor [L + n - 1, d], float32, post-norm
    step_logits: "object"  # torch.Tensor [n, V], the logits that chose each generated token


class FinalNormRecorder:
    """Context manager that records the final norm's output of every forward (batch row 0)."""

    def __init__(self, norm_module):
        self.norm_module = norm_module
        self.chunks: list = []
        self._handle = None

    def _hook(self, module, args, output):
        tensor = output[0] if isinstance(output, tuple) else output
        self.chunks.append(tensor[0].detach().float())

    def __enter__(self) -> "FinalNormRecorder":
        self._handle = self.norm_module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()

    def stacked(self):
        import torch

        return torch.cat(self.chunks, dim=0)


def generate_with_capture(model, processor, adapter: ModelAdapter, prepared: PreparedInput,
                          max_new_tokens: int) -> GenerationCapture:
    """Greedy-generate once and capture the post-norm hidden states of every position."""
    import torch

    tokenizer = processor.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with FinalNormRecorder(adapter.final_norm(model)) as recorder:
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
                             step_logits=step_logits)
