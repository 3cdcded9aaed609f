"""The one generation's capture: hidden states of every position, and the prompt rows' rankings
projected along with generation's own LM-head calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditors.adapters import adapter_for
from auditors.capture import RIDE_ALONG_ROWS, generate_with_capture

PROMPT = "describe the image"


@pytest.mark.parametrize("family", ["qwen2_vl", "llava", "internvl"])
@pytest.mark.parametrize("max_new_tokens", [1, 5])
def test_rankings_ride_along_generation_and_equal_a_separate_head_pass(tiny_models, noise_image, family,
                                                                       max_new_tokens, monkeypatch):
    model, processor = tiny_models[family]
    adapter = adapter_for(model)
    head = adapter.lm_head(model)
    prepared = adapter.prepare(model, processor, noise_image, PROMPT)
    positions = prepared.prompt_positions - 1
    rows_per_call: list[int] = []
    handle = head.register_forward_hook(lambda module, args, output: rows_per_call.append(args[0].shape[1]))
    try:
        with torch.inference_mode():
            plain = generate_with_capture(model, processor, adapter, prepared, max_new_tokens)
            ranked = generate_with_capture(model, processor, adapter, prepared, max_new_tokens,
                                           ranked_positions=positions, topk=7)
    finally:
        handle.remove()
    calls = len(plain.generated_ids)
    assert rows_per_call[:calls] == [1] * calls  # plain generation: one row per head call
    carried = rows_per_call[calls:]
    assert max(carried) == 1 + RIDE_ALONG_ROWS and sum(carried) - len(carried) == min(
        len(positions), RIDE_ALONG_ROWS * len(carried))
    np.testing.assert_array_equal(ranked.generated_ids, plain.generated_ids)  # the answer is untouched
    torch.testing.assert_close(ranked.step_logits, plain.step_logits)
    torch.testing.assert_close(ranked.hidden, plain.hidden)
    expected = torch.topk(plain.hidden[positions] @ head.weight.float().T, 7, dim=-1).indices.numpy()
    np.testing.assert_array_equal(ranked.topk_at(positions, 7), expected)
    np.testing.assert_array_equal(ranked.topk_at(positions, 3), expected[:, :3])
    assert ranked.topk_at(positions, 8) is None and ranked.topk_at(positions[1:], 3) is None
    assert plain.topk_at(positions, 3) is None
