"""Batched explanation: several probes per forward, each probe's maps those of ``explain`` within float
tolerance, on every supported family and on the demo model (whose answers end at different steps)."""

from __future__ import annotations

import numpy as np
import pytest

import auditors
from auditors import ExplainSettings
from auditors.errors import AuditorInputError
from tests.auditors.conftest import FAMILIES

ATOL = 1e-5  # a padded batch differs from a batch of one by float rounding (about 1e-7 measured)


def _images():
    from PIL import Image

    rng = np.random.RandomState(5)
    return [Image.fromarray((rng.rand(h, w, 3) * 255).astype("uint8")) for h, w in [(112, 140), (84, 140), (140, 112)]]


def assert_same_explanation(single, batched):
    assert batched.token_ids == single.token_ids and batched.answer == single.answer
    assert batched.words == single.words and batched.word_index == single.word_index
    assert batched.grid_shape == single.grid_shape and batched.content_box == single.content_box
    assert batched.prompt_token_ids == single.prompt_token_ids and batched.settings == single.settings
    assert set(batched.maps) == set(single.maps)
    for method in single.maps:
        assert batched.maps[method].shape == single.maps[method].shape, method
        np.testing.assert_allclose(batched.maps[method], single.maps[method], atol=ATOL, rtol=0, err_msg=method)


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_maps_equal_unbatched_ones_with_padding(tiny_models, family, monkeypatch):
    """Images of different sizes (Qwen: different grids) and prompts of different lengths: the rows
    are left-padded differently, and every method's maps still match. The whole batch takes one
    generation, plus one prompt-only pass per extra scale."""
    model, processor = tiny_models[family]
    images = _images()
    prompts = ["describe the image", "what is this", "where is the red circle in the picture"]
    settings = ExplainSettings(max_new_tokens=5, scales=(1.0, 0.5) if family in ("llava", "internvl") else None)
    methods = auditors.available_methods()
    single = [auditors.explain(model, processor, i, p, methods=methods, settings=settings)
              for i, p in zip(images, prompts)]
    generations = []
    original = model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: generations.append(kw["input_ids"].shape[0]) or original(**kw))
    batched = auditors.explain_batch(model, processor, images, prompts, methods=methods, settings=settings)
    assert generations == [3] * len(batched[0].settings["resolved_scales"])
    assert len(batched) == len(single)
    assert len({len(e.prompt_token_ids) for e in single}) > 1  # the batch really was padded
    for one, many in zip(single, batched):
        assert_same_explanation(one, many)
        assert many.timings["batch_size"] == 3.0


def test_demo_model_answers_of_different_lengths(tmp_path):
    """The demo model ends its captions at different steps: finished rows are cut at their own
    end-of-sequence token. Batches of 3 (the last one smaller) equal one probe at a time."""
    from auditors.demo import build_default_probe_set, demo_model_dir
    from auditors.probes import load_probe_set

    model, processor = auditors.load_pretrained(demo_model_dir("shortcut"))
    probes = list(load_probe_set(build_default_probe_set(tmp_path / "probes", n=7)).probes)
    images = [probe.load_image() for probe in probes]
    prompts = [probe.prompt for probe in probes]
    prompts[1] = "what is in the picture"
    single = [auditors.explain(model, processor, i, p) for i, p in zip(images, prompts)]
    assert len({len(e.token_ids) for e in single}) > 1
    batched = auditors.explain_batch(model, processor, images, prompts, batch_size=3)
    assert [e.timings["batch_size"] for e in batched] == [3.0] * 6 + [1.0]
    for one, many in zip(single, batched):
        assert_same_explanation(one, many)


def test_bad_batches_are_clear_errors(tiny_models, noise_image):
    model, processor = tiny_models["qwen2_5_vl"]
    with pytest.raises(AuditorInputError, match="2 images but 3 prompts"):
        auditors.explain_batch(model, processor, [noise_image, noise_image], ["a", "b", "c"])
    with pytest.raises(AuditorInputError, match="batch_size must be >= 1"):
        auditors.explain_batch(model, processor, [noise_image], "describe the image", batch_size=0)
    with pytest.raises(AuditorInputError, match="prompt is empty"):
        auditors.explain_batch(model, processor, [noise_image], [" "])
    with pytest.raises(AuditorInputError, match="unknown explanation method"):
        auditors.explain_batch(model, processor, [noise_image], "describe the image", methods=("gradcam",))
    assert auditors.explain_batch(model, processor, [], "describe the image") == []
