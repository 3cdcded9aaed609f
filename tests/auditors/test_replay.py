"""Teacher-forced answer probabilities (used by the deletion/insertion metrics)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditors.adapters import adapter_for
from auditors.capture import generate_with_capture
from auditors.errors import AuditorInputError
from auditors.replay import answer_token_probs

PROMPT = "describe the image"


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava", "internvl"])
def test_probs_match_generation_and_batching(tiny_models, noise_image, family):
    model, processor = tiny_models[family]
    adapter = adapter_for(model)
    prepared = adapter.prepare(model, processor, noise_image, PROMPT)
    with torch.inference_mode():
        capture = generate_with_capture(model, processor, adapter, prepared, 4)
    answer = capture.generated_ids
    expected = torch.softmax(capture.step_logits, dim=-1)[torch.arange(len(answer)), torch.as_tensor(answer)].numpy()
    dark = noise_image.point(lambda v: v // 4)
    probs = answer_token_probs(model, processor, [noise_image, dark, noise_image], PROMPT, answer, batch_size=2)
    assert probs.shape == (3, len(answer))
    np.testing.assert_allclose(probs[0], expected, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(probs[2], probs[0], rtol=1e-4, atol=1e-7)
    single = answer_token_probs(model, processor, [dark], PROMPT, answer)
    np.testing.assert_allclose(probs[1], single[0], rtol=1e-4, atol=1e-7)
    assert ((probs > 0) & (probs <= 1)).all()


def test_empty_answer_is_a_clear_error(tiny_models, noise_image):
    model, processor = tiny_models["qwen2_5_vl"]
    with pytest.raises(AuditorInputError, match="empty"):
        answer_token_probs(model, processor, [noise_image], PROMPT, [])

