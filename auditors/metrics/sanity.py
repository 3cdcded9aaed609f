"""The randomised-weights sanity check and the untrained-model control, with forced answers.

Why forced answers: a model with random weights generates a different (nonsense) answer, and maps
of different tokens cannot be compared. `force_answer` makes the model's greedy generation produce
a given token sequence (a logits processor that keeps only the wanted token; the raw logits the
explainers read are untouched), so the randomised copy is explained on the trained model's answer,
token for token.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from typing import Iterator, Sequence


def randomised_copy(model, seed: int = 0):
    """A deep copy of a torch model with every floating weight re-drawn at random.

    Each tensor is replaced by normal noise with the original tensor's mean and standard deviation
    (so scales stay plausible and activations do not explode); constant tensors (norm weights of 1,
    zero biases) are kept. The original model is untouched.
    """
    import torch

    clone = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for _, parameter in sorted(clone.named_parameters(), key=lambda item: item[0]):
            if not parameter.is_floating_point() or parameter.numel() < 2:
                continue
            std = float(parameter.detach().float().std())
            if std == 0.0 or not math.isfinite(std):
                continue
            mean = float(parameter.detach().float().mean())
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float32) * std + mean
            parameter.copy_(noise.to(parameter.dtype))
    return clone


def untrained_copy(model, seed: int = 0):
    """A freshly initialised model of the same class and config (the "untrained model" control)."""
    import torch

    torch.manual_seed(int(seed))
    fresh = type(model)(copy.deepcopy(model.config))
    return fresh.eval()


class _ForceTokens:
    """Logits processor: at step k only `token_ids[k]` may be generated (other logits -inf)."""

    def __init__(self, token_ids: Sequence[int], prompt_length: int):
        self.token_ids = [int(t) for t in token_ids]
        self.prompt_length = int(prompt_length)

    def __call__(self, input_ids, scores):
        import torch

        step = input_ids.shape[1] - self.prompt_length
        if 0 <= step < len(self.token_ids):
            forced = torch.full_like(scores, float("-inf"))
            forced[:, self.token_ids[step]] = 0.0
            return forced
        return scores


@contextlib.contextmanager
def force_answer(model, answer_token_ids: Sequence[int]) -> Iterator[None]:
    """Within the block, `model.generate` produces exactly `answer_token_ids` (then stops if the
    last one is EOS, or continues greedily). The model object itself is restored afterwards."""
    from transformers import LogitsProcessorList

    original = model.generate
    had_instance_attr = "generate" in vars(model)

    @functools.wraps(original)
    def generate(*args, **kwargs):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
        processors.append(_ForceTokens(answer_token_ids, input_ids.shape[1]))
        kwargs["max_new_tokens"] = len(answer_token_ids)
        return original(*args, logits_processor=processors, **kwargs)

    model.generate = generate
    try:
        yield
    finally:
        if had_instance_attr:
            model.generate = original
        else:
            del model.generate
