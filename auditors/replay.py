"""Teacher-forced replay: the probability a model gives a fixed answer, token by token.

Used by MSEA's optional cross-scale alignment weighting and by the deletion/insertion AUC metrics
(which ask how the probability of the explained tokens changes as image regions are removed).
Images of one size share a batch; only the answer positions are projected onto the vocabulary.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from auditors.adapters import adapter_for
from auditors.adapters.base import ModelAdapter, PreparedInput
from auditors.errors import AuditorInputError
from auditors.images import load_image


def teacher_forced_logits(model, adapter: ModelAdapter, prepared: PreparedInput, answer_ids):
    """Logits [n, V] of the distributions that predict each of ``answer_ids`` after the prompt."""
    import torch

    answer = np.asarray(answer_ids, dtype=np.int64)
    inputs = adapter.extend_inputs(prepared, answer[:-1])
    with torch.inference_mode():
        out = model(**inputs, use_cache=False, logits_to_keep=len(answer))
    return out.logits[0].float()


def _batch(inputs: list[dict]) -> dict:
    import torch

    return {key: torch.cat([item[key] for item in inputs], dim=0) for key in inputs[0]}


def answer_token_probs(model, processor, images: Sequence, prompt: str, answer_token_ids: Sequence[int],
                       batch_size: int = 8) -> np.ndarray:
    """Teacher-forced probability of each answer token given each image: ``[n_images, n_tokens]``.

    ``images``: PIL images or paths. Images whose inputs have the same shapes run in one batch
    (the usual case for perturbed copies of one image).
    """
    import torch

    answer = np.asarray(list(answer_token_ids), dtype=np.int64)
    if answer.size == 0:
        raise AuditorInputError("answer_token_ids is empty: nothing to score")
    if not prompt or not prompt.strip():
        raise AuditorInputError("the prompt is empty")
    adapter = adapter_for(model)
    prepared = [adapter.prepare(model, processor, load_image(img), prompt, 1.0) for img in images]
    extended = [adapter.extend_inputs(p, answer[:-1]) for p in prepared]
    probs = np.zeros((len(images), len(answer)), dtype=np.float64)
    target = torch.as_tensor(answer)
    groups: dict[tuple, list[int]] = {}
    for i, item in enumerate(extended):
        groups.setdefault(tuple((k, tuple(v.shape)) for k, v in sorted(item.items())), []).append(i)
    with torch.inference_mode():
        for members in groups.values():
            for start in range(0, len(members), batch_size):
                chunk = members[start: start + batch_size]
                out = model(**_batch([extended[i] for i in chunk]), use_cache=False, logits_to_keep=len(answer))
                logp = torch.log_softmax(out.logits.float(), dim=-1)
                index = target.to(logp.device).view(1, -1, 1).expand(len(chunk), -1, 1)  # the model's device (GPU)
                picked = logp.gather(-1, index)[..., 0]
                probs[chunk] = picked.exp().cpu().numpy()
    return probs
