"""Several probes through one left-padded greedy generation, each probe's capture cut back out.

WHY left padding: a decoder-only model appends each new token at the right; with every prompt
right-aligned, all rows decode in step. Generation derives positions from the attention mask
(Qwen2-VL's 3-D rope positions included), so a padded row computes what it computes alone up to
float rounding. Each probe keeps its own unpadded ``PreparedInput`` (its positions are those of its
own sequence); only here, inside the batch, are they shifted by the row's padding.

The same batched prefill serves MSEA's extra scales: ``batched_prompt_hidden_states`` runs a
one-token generation over the scaled inputs and keeps the prefill's post-norm states, so padding is
handled by the very code path that handles it for the answer.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.capture import FinalNormRecorder, GenerationCapture, head_topk
from auditors.errors import AuditorError

#: inputs with one entry per token, left-padded with these values; every other input is concatenated
PER_TOKEN_PADDING = {"attention_mask": 0, "mm_token_type_ids": 0, "token_type_ids": 0}


def collate_left_padded(prepared: Sequence[PreparedInput], pad_id: int) -> tuple[dict, np.ndarray]:
    """One batch of model inputs from single-probe inputs, and each row's number of padding tokens."""
    import torch

    lengths = [int(p.inputs["input_ids"].shape[1]) for p in prepared]
    longest = max(lengths)
    padding = np.asarray([longest - n for n in lengths], dtype=np.int64)
    batch: dict = {}
    for key in prepared[0].inputs:
        values = [p.inputs[key] for p in prepared]
        if key == "input_ids" or key in PER_TOKEN_PADDING:
            fill = pad_id if key == "input_ids" else PER_TOKEN_PADDING[key]
            batch[key] = torch.cat([torch.nn.functional.pad(v, (int(pad), 0), value=fill)
                                    for v, pad in zip(values, padding, strict=True)], dim=0)
        else:
            batch[key] = torch.cat(values, dim=0)
    if "attention_mask" not in batch:  # padding is only safe with a mask that hides it
        device = batch["input_ids"].device
        batch["attention_mask"] = torch.cat([torch.nn.functional.pad(torch.ones(1, n, dtype=torch.long, device=device),
                                                                     (int(pad), 0), value=0)
                                             for n, pad in zip(lengths, padding, strict=True)], dim=0)
    return batch, padding


def _eos_ids(model, processor) -> set[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        eos = processor.tokenizer.eos_token_id
    return {int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None}


def _answer_length(row: np.ndarray, eos: set[int]) -> int:
    """Tokens up to and including the first end-of-sequence token (a finished row is then padded)."""
    for i, token in enumerate(row.tolist()):
        if token in eos:
            return i + 1
    return len(row)


def _generate(model, processor, adapter: ModelAdapter, batch: dict, max_new_tokens: int):
    tokenizer = processor.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with FinalNormRecorder(adapter.final_norm(model), all_rows=True) as recorder:
        out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                             output_logits=True, return_dict_in_generate=True, pad_token_id=pad,
                             suppress_tokens=adapter.suppressed_token_ids(model, processor),
                             temperature=None, top_p=None, top_k=None)
    return out, recorder.chunks


def _pad_id(processor) -> int:
    tokenizer = processor.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise AuditorError("the tokenizer has neither a pad nor an end-of-sequence token: cannot pad a batch")
    return int(pad)


def generate_batch_with_capture(model, processor, adapter: ModelAdapter, prepared: Sequence[PreparedInput],
                                max_new_tokens: int, ranked_positions: Sequence[np.ndarray] | None = None,
                                topk: int = 0) -> list[GenerationCapture]:
    """``generate_with_capture`` for several probes in one left-padded generation.

    ``ranked_positions[b]``: probe b's prompt positions whose top-``topk`` ids are wanted; they are
    projected after generation in one head pass for the whole batch (the ride-along of the
    single-probe path only pays off for a one-row head call).
    """
    import torch

    batch, padding = collate_left_padded(prepared, _pad_id(processor))
    out, chunks = _generate(model, processor, adapter, batch, max_new_tokens)
    longest = batch["input_ids"].shape[1]
    eos = _eos_ids(model, processor)
    captures = []
    for b, item in enumerate(prepared):
        generated = out.sequences[b, longest:].cpu().numpy()
        generated = generated[: _answer_length(generated, eos)]
        n = len(generated)
        hidden = torch.cat([chunks[0][b, int(padding[b]):]] + [step[b] for step in chunks[1:n]], dim=0)
        expected = int(item.inputs["input_ids"].shape[1]) + n - 1
        if hidden.shape[0] != expected:
            raise AuditorError(f"captured {hidden.shape[0]} final-norm positions for batch row {b}, expected {expected}")
        step_logits = torch.stack([out.logits[t][b].float() for t in range(n)])
        captures.append(GenerationCapture(input_ids=item.input_ids, generated_ids=generated, hidden=hidden,
                                          step_logits=step_logits))
    if ranked_positions is not None and topk > 0:
        _attach_rankings(adapter.lm_head(model), captures, ranked_positions, topk)
    return captures


def _attach_rankings(head, captures: list[GenerationCapture], positions: Sequence[np.ndarray], topk: int) -> None:
    import torch

    wanted = [np.asarray(p, dtype=np.int64) for p in positions]
    rows = [capture.hidden[p] for capture, p in zip(captures, wanted, strict=True)]
    if not sum(len(p) for p in wanted):
        return
    k = min(int(topk), int(head.weight.shape[0]))
    ids = head_topk(head, torch.cat(rows, dim=0), k)
    start = 0
    for capture, p in zip(captures, wanted, strict=True):
        capture.ranked_positions, capture.ranked_topk = p, ids[start: start + len(p)]
        start += len(p)


def batched_prompt_hidden_states(model, processor, adapter: ModelAdapter, prepared: Sequence[PreparedInput]) -> list:
    """Post-norm hidden states ``[L_b, d]`` of each probe's prompt (what ``prompt_hidden_states``
    gives one probe), from one left-padded prefill."""
    batch, padding = collate_left_padded(prepared, _pad_id(processor))
    _, chunks = _generate(model, processor, adapter, batch, max_new_tokens=1)
    return [chunks[0][b, int(padding[b]):] for b in range(len(prepared))]
