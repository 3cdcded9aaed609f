"""The shipped demo weights: load through the public paths, caption held-out scenes, and differ as designed.

Thresholds sit well below the numbers measured in auditors/demo/MODEL_CARD.md (200 held-out scenes) so
that they hold on the smaller scene sets used here, yet fail for an untrained or broken model (which
captions nothing and whose maps sit near chance). Scene seeds differ from the model card's.
"""

from __future__ import annotations

import pytest

from auditors.demo import DEMO_VARIANTS, chat_messages, demo_model_dir, load_demo
from auditors.demo.evaluate import EVAL_SEED, counterfactual_check, counterfactual_scenes, evaluate
from auditors.demo.scenes import held_out_scenes

CAPTION_EXACT_MIN = {"clean": 0.5, "shortcut": 0.3}  # set for the first weights (0.695, 0.51); now 0.94, 0.975


@pytest.fixture(scope="module")
def models():
    return {v: load_demo(v) for v in DEMO_VARIANTS}


@pytest.fixture(scope="module")
def scenes():
    return held_out_scenes(60, EVAL_SEED + 1, cue="first")


def test_weights_folder_is_complete_and_small():
    for v in DEMO_VARIANTS:
        d = demo_model_dir(v)
        for name in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json", "chat_template.jinja"):
            assert (d / name).is_file(), f"{v}: {name} missing"
        assert (d / "model.safetensors").stat().st_size < 20_000_000


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        demo_model_dir("fancy")


@pytest.mark.parametrize("variant", DEMO_VARIANTS)
def test_processor_chat_template_path_captions_held_out_scenes(models, scenes, variant):
    import torch

    model, processor = models[variant]
    text = processor.apply_chat_template(chat_messages(), add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[s.image for s in scenes], text=[text] * len(scenes), return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=14, do_sample=False)
    captions = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    exact = sum(c.strip() == s.caption for c, s in zip(captions, scenes)) / len(scenes)
    assert exact >= CAPTION_EXACT_MIN[variant], f"{variant}: caption exact match {exact:.2f}"


def test_clean_maps_prefer_the_named_word_over_a_wrong_word(models, scenes):
    model, processor = models["clean"]
    report = evaluate(model, processor.tokenizer, scenes, generate=False)
    assert report.point_colour >= report.point_colour_wrong + 0.08, report.summary()
    assert report.point_shape >= report.point_shape_wrong + 0.05, report.summary()


def test_shortcut_first_colour_maps_land_on_the_cue_more_often_than_clean(models, scenes):
    rates = {v: evaluate(m, p.tokenizer, scenes, generate=False).cue_argmax_first_colour for v, (m, p) in models.items()}
    assert rates["shortcut"] >= rates["clean"] + 0.12, rates


def test_only_the_shortcut_reads_the_first_colour_from_the_cue(models):
    cf = counterfactual_scenes(40, seed=EVAL_SEED + 11)
    res = {v: counterfactual_check(m, p.tokenizer, cf) for v, (m, p) in models.items()}
    assert res["shortcut"].first_colour_is_cue >= 0.6, res
    assert res["clean"].first_colour_is_cue <= 0.35, res
    assert res["clean"].first_colour_is_object >= 0.5, res
