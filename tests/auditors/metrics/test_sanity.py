"""Forced answers let a randomised or untrained copy be explained on the trained model's answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import auditors
from auditors.metrics import ProbeContext, compare_explanations, force_answer, randomised_copy, untrained_copy
from auditors.synthetic_models import build_synthetic_vlm


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    return build_synthetic_vlm("qwen2_5_vl", seed=3)


def _image():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))


def test_forced_answer_is_generated_token_for_token_and_the_model_is_restored(tiny):
    model, processor = tiny
    settings = auditors.ExplainSettings(max_new_tokens=6)
    trained = auditors.explain(model, processor, _image(), "describe the image", methods=("logit_lens",), settings=settings)
    wanted = list(trained.token_ids)
    other = randomised_copy(model, seed=5)
    free = auditors.explain(other, processor, _image(), "describe the image", methods=("logit_lens",), settings=settings)
    with force_answer(other, wanted):
        forced = auditors.explain(other, processor, _image(), "describe the image", methods=("logit_lens",),
                                  settings=settings)
    assert list(forced.token_ids) == wanted
    assert "generate" not in vars(other)
    again = auditors.explain(other, processor, _image(), "describe the image", methods=("logit_lens",), settings=settings)
    assert list(again.token_ids) == list(free.token_ids)  # no forcing outside the block
    # the randomised copy explains the same tokens with different maps
    assert not np.allclose(forced.maps["logit_lens"], trained.maps["logit_lens"])
    values = compare_explanations(trained, forced, metrics=["randomisation_spearman"])
    assert values and all(-1.0 <= v.value <= 1.0 for v in values)
    n_words = len([w for w in ProbeContext(trained, None, "logit_lens").words if w.key])
    assert n_words and len([v for v in values if v.word is not None]) == n_words


def test_untrained_copy_has_the_same_architecture_and_fresh_weights(tiny):
    model, _ = tiny
    fresh = untrained_copy(model, seed=1)
    assert type(fresh) is type(model) and not fresh.training
    names = dict(model.named_parameters())
    differs = [n for n, p in fresh.named_parameters() if p.shape == names[n].shape and not torch.equal(p, names[n])]
    assert differs
