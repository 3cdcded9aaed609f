"""Model adapters: registry, grids at each scale, letterboxing, prompt location, loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

import auditors
from auditors.adapters import adapter_for, adapter_for_architecture, supported_architectures
from auditors.errors import AuditorInputError, UnsupportedModelError
from tests.auditors.conftest import FAMILIES

PROMPT = "describe the image"
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }} "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}<|im_end|>{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant {% endif %}")


def test_registry_names_the_supported_architectures():
    assert set(supported_architectures()) == {"Qwen2VLForConditionalGeneration", "Qwen2_5_VLForConditionalGeneration",
                                              "LlavaForConditionalGeneration", "InternVLForConditionalGeneration"}
    with pytest.raises(UnsupportedModelError, match="'GPT2LMHeadModel'.*supported: InternVLForConditionalGeneration"):
        adapter_for_architecture("GPT2LMHeadModel")


@pytest.mark.parametrize("family", FAMILIES)
def test_prepare_finds_vision_tokens_and_prompt(tiny_models, noise_image, family):
    model, processor = tiny_models[family]
    adapter = adapter_for(model)
    prepared = adapter.prepare(model, processor, noise_image, PROMPT)
    ids = prepared.input_ids
    image_id = adapter.image_token_id(model)
    assert len(prepared.vision_positions) == prepared.grid_shape[0] * prepared.grid_shape[1]
    assert (ids[prepared.vision_positions] == image_id).all()
    assert (ids == image_id).sum() == len(prepared.vision_positions)
    assert processor.tokenizer.decode(ids[prepared.prompt_positions]) == PROMPT


def test_qwen_scales_change_the_grid_and_keep_the_prompt(tiny_models, noise_image):
    model, processor = tiny_models["qwen2_5_vl"]
    adapter = adapter_for(model)
    base = adapter.prepare(model, processor, noise_image, PROMPT)
    assert base.grid_shape == (3, 4)  # 112x140 fits the 112*112 pixel budget as 84x112 px
    double = adapter.prepare(model, processor, noise_image, PROMPT, 2.0, reference=base)
    assert double.grid_shape == (6, 8) and double.content_box == (0, 0, 8, 6)
    assert processor.tokenizer.decode(double.input_ids[double.prompt_positions]) == PROMPT
    with pytest.raises(AuditorInputError, match="smaller than one vision token"):
        adapter.prepare(model, processor, noise_image, PROMPT, 0.1, reference=base)


def test_chat_template_is_used_when_present(noise_image):
    from auditors.synthetic_models import build_synthetic_vlm

    model, processor = build_synthetic_vlm("qwen2_5_vl", seed=3)
    processor.chat_template = CHAT_TEMPLATE
    adapter = adapter_for(model)
    assert adapter.render_prompt(processor, PROMPT).startswith("<|im_start|>user <|vision_start|>")
    prepared = adapter.prepare(model, processor, noise_image, PROMPT)
    assert processor.tokenizer.decode(prepared.input_ids[prepared.prompt_positions]) == PROMPT
    assert prepared.input_ids[-1] != prepared.input_ids[prepared.prompt_positions[-1]]


@pytest.mark.parametrize(("family", "scale", "box"), [
    ("llava", 1.0, (0, 0, 7, 6)),  # 140x112 on a 112 px canvas of 16 px tokens: 7x6 cells, centred rows
    ("llava", 0.5, (1, 2, 5, 5)),  # 4x3 cells (3.5 rounds to 4), centred
    ("internvl", 1.0, (0, 0, 4, 3)),
])
def test_fixed_canvas_letterbox_content_box(tiny_models, noise_image, family, scale, box):
    model, processor = tiny_models[family]
    adapter = adapter_for(model)
    prepared = adapter.prepare(model, processor, noise_image, PROMPT, scale)
    assert prepared.content_box == box
    assert prepared.grid_shape == ((7, 7) if family == "llava" else (4, 4))


def test_load_pretrained_round_trip_qwen_and_llava(tiny_models, noise_image, tmp_path):
    for family in ("qwen2_5_vl", "llava", "internvl"):
        model, processor = tiny_models[family]
        folder = tmp_path / family
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        loaded, loaded_processor = auditors.load_pretrained(folder)
        assert type(loaded) is type(model) and not loaded.training
        settings = auditors.ExplainSettings(max_new_tokens=4)
        a = auditors.explain(model, processor, noise_image, PROMPT, methods=("logit_lens",), settings=settings)
        b = auditors.explain(loaded, loaded_processor, noise_image, PROMPT, methods=("logit_lens",), settings=settings)
        assert a.token_ids == b.token_ids, family
        np.testing.assert_allclose(a.maps["logit_lens"], b.maps["logit_lens"], atol=1e-5)


def test_load_pretrained_refuses_bad_folders(tmp_path, tiny_models):
    with pytest.raises(AuditorInputError, match="no config.json"):
        auditors.load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertForMaskedLM"]}))
    with pytest.raises(UnsupportedModelError, match="supported: "):
        auditors.load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlavaForConditionalGeneration"]}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(AuditorInputError, match="no .safetensors"):
        auditors.load_pretrained(tmp_path)


def test_generation_never_emits_a_vision_placeholder_internvl_video_included(tiny_models):
    """InternVL names its <video> placeholder only on the processor; a replay of an answer holding it
    would splice video features in, so generation must suppress it like the image placeholder."""
    from auditors.adapters import adapter_for

    model, processor = tiny_models["internvl"]
    suppressed = adapter_for(model).suppressed_token_ids(model, processor)
    video = processor.tokenizer.convert_tokens_to_ids(processor.video_token)
    assert video != processor.tokenizer.unk_token_id  # the tiny tokenizer knows <video> as one token
    assert video in suppressed and adapter_for(model).image_token_id(model) in suppressed
