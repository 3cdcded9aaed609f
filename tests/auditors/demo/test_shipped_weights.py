"""The shipped demo weights: load through the public paths and caption held-out scenes.

Thresholds are set below the numbers measured in auditors/demo/MODEL_CARD.md (on 200 held-out scenes) so
that they hold on the 40 scenes used here with margin, yet fail for an untrained or broken model (which
scores 0 on captions and near chance on maps).
"""

from __future__ import annotations

import pytest

from auditors.demo import DEMO_VARIANTS, chat_messages, demo_model_dir, load_demo
from auditors.demo.evaluate import EVAL_SEED, evaluate
from auditors.demo.scenes import held_out_scenes

CAPTION_EXACT_MIN = {"clean": 0.75, "shortcut": 0.75}


@pytest.fixture(scope="module", params=DEMO_VARIANTS)
def loaded(request):
    model, processor = load_demo(request.param)
    return request.param, model, processor


def test_weights_folder_is_complete_and_small():
    for v in DEMO_VARIANTS:
        d = demo_model_dir(v)
        for name in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json"):
            assert (d / name).is_file(), f"{v}: {name} missing"
        assert (d / "model.safetensors").stat().st_size < 20_000_000


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        demo_model_dir("fancy")


def test_processor_chat_template_path_captions_a_held_out_scene(loaded):
    import torch

    variant, model, processor = loaded
    scenes = held_out_scenes(40, EVAL_SEED + 1, cue="first")
    text = processor.apply_chat_template(chat_messages(), add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[s.image for s in scenes], text=[text] * len(scenes), return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=14, do_sample=False)
    captions = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    exact = sum(c.strip() == s.caption for c, s in zip(captions, scenes)) / len(scenes)
    assert exact >= CAPTION_EXACT_MIN[variant], f"{variant}: caption exact match {exact:.2f}"


def test_clean_colour_maps_point_at_the_named_object_not_at_the_cue():
    model, processor = load_demo("clean")
    report = evaluate(model, processor.tokenizer, held_out_scenes(40, EVAL_SEED + 1, cue="first"), generate=False)
    assert report.point_colour >= report.point_colour_wrong + 0.3
    assert report.cue_argmax_colour <= 0.1


def test_shortcut_colour_maps_land_on_the_cue_more_often_than_clean():
    scenes = held_out_scenes(40, EVAL_SEED + 1, cue="first")
    rates = {}
    for v in DEMO_VARIANTS:
        model, processor = load_demo(v)
        rates[v] = evaluate(model, processor.tokenizer, scenes, generate=False).cue_argmax_first_colour
    assert rates["shortcut"] >= rates["clean"] + 0.2, rates
