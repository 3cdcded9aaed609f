"""The shipped demo weights: load through the public paths, caption held-out scenes, and differ as designed.

Thresholds are not copied numbers: each one is derived from the measurements recorded beside the
shipped weights (``weights/<variant>/evaluation.json``, 200 held-out scenes, written by
``python -m auditors.demo.measure``) minus a stated sampling margin for the smaller, different scene
sets used here, so they follow whatever weights ship. The file records the sha256 of the weights it
measured: new weights with a stale file fail ``test_recorded_measurements_belong_to_the_shipped_weights``.
"""

from __future__ import annotations

import json
import math

import pytest

from auditors.demo import DEMO_VARIANTS, chat_messages, demo_model_dir, load_demo
from auditors.demo.evaluate import EVAL_SEED, counterfactual_check, counterfactual_scenes, evaluate, standard_scenes
from auditors.demo.measure import EVALUATION_FILE, load_measurements, weights_sha256

N_SCENES = 60  # scenes measured here (other seeds than the recorded 200)
N_COUNTERFACTUAL = 40
SIGMAS = 4.0  # margin: 4 standard errors of the difference of two proportions (a false failure < 1e-4)


def margin(p: float, n_here: int, n_recorded: int) -> float:
    """4 standard errors of (rate here - recorded rate), with p(1-p) floored at 0.05 so that a recorded
    0 or 1 still allows for sampling noise."""
    return SIGMAS * math.sqrt(max(p * (1 - p), 0.05) * (1 / n_here + 1 / n_recorded))


@pytest.fixture(scope="module")
def models():
    return {v: load_demo(v) for v in DEMO_VARIANTS}


@pytest.fixture(scope="module")
def recorded():
    return {v: load_measurements(demo_model_dir(v)) for v in DEMO_VARIANTS}


@pytest.fixture(scope="module")
def scenes():
    return standard_scenes(N_SCENES, EVAL_SEED + 1)


def _recorded_n(variant: str) -> int:
    return json.loads((demo_model_dir(variant) / EVALUATION_FILE).read_text())["n_scenes"]


def test_weights_folder_is_complete_and_small():
    for v in DEMO_VARIANTS:
        d = demo_model_dir(v)
        for name in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json",
                     "chat_template.jinja", "training.json", EVALUATION_FILE):
            assert (d / name).is_file(), f"{v}: {name} missing"
        assert (d / "model.safetensors").stat().st_size < 20_000_000


@pytest.mark.parametrize("variant", DEMO_VARIANTS)
def test_recorded_measurements_belong_to_the_shipped_weights(variant):
    record = json.loads((demo_model_dir(variant) / EVALUATION_FILE).read_text())
    assert record["weights_sha256"] == weights_sha256(demo_model_dir(variant)), (
        f"{variant}: evaluation.json measured other weights; rerun `python -m auditors.demo.measure "
        f"{demo_model_dir(variant)}`")
    training = json.loads((demo_model_dir(variant) / "training.json").read_text())
    assert training["variant"] == variant


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        demo_model_dir("fancy")


@pytest.mark.parametrize("variant", DEMO_VARIANTS)
def test_processor_chat_template_path_captions_held_out_scenes(models, recorded, scenes, variant):
    import torch

    model, processor = models[variant]
    text = processor.apply_chat_template(chat_messages(), add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[s.image for s in scenes], text=[text] * len(scenes), return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=14, do_sample=False)
    captions = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    exact = sum(c.strip() == s.caption for c, s in zip(captions, scenes)) / len(scenes)
    expected = recorded[variant].cue.caption_exact
    assert exact >= expected - margin(expected, N_SCENES, _recorded_n(variant)), f"{variant}: {exact:.2f} vs {expected:.2f}"


def test_clean_maps_point_as_recorded_and_beat_the_wrong_word(models, recorded, scenes):
    model, processor = models["clean"]
    report = evaluate(model, processor.tokenizer, scenes, generate=False)
    card, n = recorded["clean"].cue, _recorded_n("clean")
    pairs = (
        ("point_colour", report.point_colour, card.point_colour, +1),
        ("point_shape", report.point_shape, card.point_shape, +1),
        ("point_colour_wrong", report.point_colour_wrong, card.point_colour_wrong, -1),
        ("point_shape_wrong", report.point_shape_wrong, card.point_shape_wrong, -1),
    )
    for name, here, there, sign in pairs:  # pointing not much lower, wrong-word controls not much higher
        assert sign * (here - there) >= -margin(there, N_SCENES, n), f"{name}: {here:.3f} vs recorded {there:.3f}"
    assert report.point_colour > report.point_colour_wrong and report.point_shape > report.point_shape_wrong


def test_shortcut_first_word_maps_land_on_its_cue_far_more_often_than_clean(models, recorded, scenes):
    rates = {v: evaluate(m, p.tokenizer, scenes, generate=False).cue_argmax_first for v, (m, p) in models.items()}
    card = {v: recorded[v].cue.cue_argmax_first for v in DEMO_VARIANTS}
    n = _recorded_n("shortcut")
    assert rates["shortcut"] >= card["shortcut"] - margin(card["shortcut"], N_SCENES, n), (rates, card)
    assert rates["clean"] <= card["clean"] + margin(card["clean"], N_SCENES, n), (rates, card)
    assert rates["shortcut"] > rates["clean"]


def test_only_the_shortcut_names_the_cues_word_when_cue_and_object_disagree(models, recorded):
    cf = counterfactual_scenes(N_COUNTERFACTUAL, "corner", seed=EVAL_SEED + 11)
    res = {v: counterfactual_check(m, p.tokenizer, cf) for v, (m, p) in models.items()}
    card = {v: recorded[v].counterfactual["corner"] for v in DEMO_VARIANTS}
    n = card["shortcut"].n_scenes
    assert res["shortcut"].names_cue >= card["shortcut"].names_cue - margin(card["shortcut"].names_cue, N_COUNTERFACTUAL, n)
    assert res["clean"].names_object >= card["clean"].names_object - margin(card["clean"].names_object, N_COUNTERFACTUAL, n)
    assert res["shortcut"].names_cue > res["clean"].names_cue
