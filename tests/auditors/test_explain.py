"""End-to-end explain() on a tiny random model of every adapter."""

from __future__ import annotations

import numpy as np
import pytest

import auditors
from auditors import ExplainSettings, Explanation
from auditors.errors import AuditorInputError, UnsupportedModelError
from tests.auditors.conftest import FAMILIES, bright_square_image

PROMPT = "describe the image"
FAST = ExplainSettings(max_new_tokens=5)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_method_gives_finite_nonnegative_maps_of_the_grid(tiny_models, noise_image, family):
    model, processor = tiny_models[family]
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=auditors.available_methods(),
                           settings=FAST)
    assert set(exp.maps) == set(auditors.available_methods())
    n = len(exp.token_ids)
    assert 1 <= n <= FAST.max_new_tokens
    assert len(exp.tokens) == len(exp.word_index) == n
    for method, maps in exp.maps.items():
        assert maps.dtype == np.float32, method
        assert maps.shape == (n, *exp.grid_shape), method
        assert np.isfinite(maps).all() and (maps >= 0).all(), method
    assert exp.prompt_tokens == ["describe", " the", " image"]
    assert exp.image_size == noise_image.size
    x0, y0, x1, y1 = exp.content_box
    assert 0 <= x0 < x1 <= exp.grid_shape[1] and 0 <= y0 < y1 <= exp.grid_shape[0]
    assert exp.architecture == type(model).__name__


def test_reference_tam_mode_runs_and_differs_from_corrected_on_token_zero(tiny_models, noise_image):
    model, processor = tiny_models["qwen2_vl"]
    ref = auditors.explain(model, processor, noise_image, PROMPT, methods=("tam",),
                           settings=ExplainSettings(max_new_tokens=5, tam_mode="reference"))
    cor = auditors.explain(model, processor, noise_image, PROMPT, methods=("tam",), settings=FAST)
    assert ref.token_ids == cor.token_ids
    maps = ref.maps["tam"]
    np.testing.assert_array_equal(np.round(maps * 255), maps * 255)  # reference maps are uint8 / 255
    assert not np.allclose(ref.maps["tam"][0], cor.maps["tam"][0])


def test_save_load_round_trip(tiny_models, noise_image, tmp_path):
    model, processor = tiny_models["llava"]
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=("tam", "msea_arc"), settings=FAST)
    path = exp.save(tmp_path / "sub" / "exp")
    assert path.suffix == ".npz" and path.with_suffix(".json").is_file()
    back = Explanation.load(path)
    assert back.methods == exp.methods
    for method in exp.maps:
        np.testing.assert_array_equal(back.maps[method], exp.maps[method])
    for field in ("prompt", "answer", "token_ids", "tokens", "word_index", "words", "grid_shape", "image_size",
                  "settings", "architecture", "prompt_token_ids", "prompt_tokens", "content_box"):
        assert getattr(back, field) == getattr(exp, field), field
    up = back.upsample(back.token_map("tam", 0))
    assert up.shape == (noise_image.size[1], noise_image.size[0])
    if back.words:
        assert back.word_map("tam", 0).shape == tuple(back.grid_shape)
    with pytest.raises(AuditorInputError, match="not found"):
        Explanation.load(tmp_path / "missing")


# --- planted signal ------------------------------------------------------------------------------

def _plant(model, family, direction, bright_threshold):
    """Hook the vision features: tokens over bright pixels are replaced by ``direction``.

    Which features sit over bright pixels is computed from the pixel tensors the processor produced,
    in each family's own order (Qwen: 2x2 merge windows of consecutive patch rows), independently
    of the adapters under test.
    """

    seen = {}
    inner = model.model
    if family.startswith("qwen"):
        merge = model.config.vision_config.spatial_merge_size

        def hook(module, args, kwargs, output):
            pixels = (args[0] if args else kwargs["hidden_states"]).float()
            bright = pixels.mean(dim=1).view(-1, merge * merge).mean(dim=1) > bright_threshold
            output.pooler_output[bright] = direction.to(output.pooler_output.dtype)
            return output

        return [inner.visual.register_forward_hook(hook, with_kwargs=True)]

    cell = 16 if family == "llava" else 28

    def remember(module, args, kwargs):
        seen["pixels"] = (args[0] if args else kwargs["pixel_values"]).float()

    def hook(module, args, output):
        px = seen["pixels"][0].mean(dim=0)
        g = px.shape[0] // cell
        bright = px[: g * cell, : g * cell].reshape(g, cell, g, cell).mean(dim=(1, 3)).flatten() > bright_threshold
        output[0, bright] = direction.to(output.dtype)
        return output

    return [inner.vision_tower.register_forward_pre_hook(remember, with_kwargs=True),
            inner.multi_modal_projector.register_forward_hook(hook)]


@pytest.mark.parametrize("family", FAMILIES)
def test_planted_signal_lights_up_its_region_for_its_word(family):
    """Vision features over a white 56 px square are replaced by (a multiple of) one word's LM-head
    row, orthogonalised against the prompt words' rows and tilted away from them, so that the
    context tokens carry none of the signal. Every method must then light up that square for that
    word (generated token 0)."""
    import torch

    from auditors.synthetic_models import SyntheticModelSpec, build_synthetic_vlm

    model, processor = build_synthetic_vlm(family, SyntheticModelSpec(image_px=224), seed=11)
    box = (112, 56, 168, 112)  # x0, y0, x1, y1 in pixels: 2x2 tokens of 28 px (3.5x3.5 of LLaVA's 16 px)
    image = bright_square_image(size=(224, 224), box=box)
    weight = model.get_output_embeddings().weight.detach()
    prompt_ids = processor.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    basis, _ = torch.linalg.qr(weight[prompt_ids].T)  # orthonormal basis of the prompt words' rows
    settings = ExplainSettings(max_new_tokens=3, scales=(1.0, 0.5))
    # the word (not a prompt word) whose row is planted; the model is also made to SAY it first, by an
    # output bias that leaves every hidden state and LM-head row (what the maps read) untouched
    word_id = processor.tokenizer.convert_tokens_to_ids("circle")
    own = weight[word_id] - basis @ (basis.T @ weight[word_id])
    # ...and pointing away from the prompt words' rows, so that their maps are exactly 0 over the square
    away = sum(weight[j] / weight[j].norm() for j in prompt_ids)
    direction = own / own.norm() - 0.5 * away / away.norm()
    direction = 4.0 * direction / direction.norm() * model.config.get_text_config().hidden_size ** 0.5

    def say_the_word(module, args, output):
        output[..., word_id] += 100.0
        return output

    handles = _plant(model, family, direction, bright_threshold=1.0)
    handles.append(model.get_output_embeddings().register_forward_hook(say_the_word))
    try:
        exp = auditors.explain(model, processor, image, PROMPT, methods=("logit_lens", "tam", "arc", "msea_arc"),
                               settings=settings)
    finally:
        for h in handles:
            h.remove()
    assert exp.token_ids[0] == word_id, exp.tokens
    hits = [0]
    x0, y0, x1, y1 = box
    for method in ("logit_lens", "tam", "arc", "msea_arc"):
        on_image = exp.upsample(exp.token_map(method, hits[0]))  # back on the 224x224 image
        mask = np.zeros(on_image.shape, dtype=bool)
        mask[y0:y1, x0:x1] = True
        inside, outside = on_image[mask].mean(), np.percentile(on_image[~mask], 90)
        peak = np.unravel_index(np.argmax(on_image), on_image.shape)
        assert inside > outside, (method, inside, outside)  # the square stands out of 90% of the rest
        assert y0 - 16 <= peak[0] < y1 + 16 and x0 - 16 <= peak[1] < x1 + 16, (method, peak)


# --- clear errors --------------------------------------------------------------------------------

def test_unreadable_image_is_a_clear_error(tiny_models, tmp_path):
    model, processor = tiny_models["qwen2_5_vl"]
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(AuditorInputError, match="image .*broken.png is not a readable image"):
        auditors.explain(model, processor, bad, PROMPT)
    with pytest.raises(AuditorInputError, match="not found"):
        auditors.explain(model, processor, tmp_path / "absent.png", PROMPT)


def test_empty_prompt_is_a_clear_error(tiny_models, noise_image):
    model, processor = tiny_models["qwen2_5_vl"]
    with pytest.raises(AuditorInputError, match="prompt is empty"):
        auditors.explain(model, processor, noise_image, "   ")


def test_unknown_method_is_a_clear_error(tiny_models, noise_image):
    model, processor = tiny_models["qwen2_5_vl"]
    with pytest.raises(AuditorInputError, match="unknown explanation method 'gradcam'"):
        auditors.explain(model, processor, noise_image, PROMPT, methods=("gradcam",))


def test_model_without_vision_tower_is_a_clear_error(noise_image):
    from auditors.synthetic_models import build_synthetic_vlm

    model, processor = build_synthetic_vlm("qwen2_vl", seed=1)
    model.model.visual = None
    with pytest.raises(UnsupportedModelError, match="no vision tower"):
        auditors.explain(model, processor, noise_image, PROMPT)


def test_text_only_model_is_unsupported_and_names_supported_ones(tiny_models, noise_image):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    _, processor = tiny_models["qwen2_vl"]
    with pytest.raises(UnsupportedModelError, match="supported: .*Qwen2_5_VLForConditionalGeneration"):
        auditors.explain(model, processor, noise_image, PROMPT)


@pytest.mark.parametrize(("family", "scales", "match"), [
    ("qwen2_5_vl", (1.0, 0.05), "smaller than one vision token"),
    ("llava", (1.0, 0.01), "smaller than one vision token"),
    ("llava", (1.0, 2.0), "scales above 1"),
])
def test_scale_set_too_small_is_a_clear_error(tiny_models, noise_image, family, scales, match):
    model, processor = tiny_models[family]
    with pytest.raises(AuditorInputError, match=match):
        auditors.explain(model, processor, noise_image, PROMPT, methods=("msea",),
                         settings=ExplainSettings(max_new_tokens=2, scales=scales))


def test_corrected_tam_explains_token_zero_with_its_own_class(tiny_models, noise_image):
    """Without prompt context, generated token 0 has no context: its TAM map is its own class's
    logit-lens map, jointly normalised (no text) and rank-filtered."""
    from auditors.core.normalise import joint_minmax
    from auditors.core.rank_filter import rank_gaussian_filter

    model, processor = tiny_models["qwen2_5_vl"]
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=("logit_lens", "tam"),
                           settings=ExplainSettings(max_new_tokens=3, include_prompt_context=False, rank_filter="final"))
    expected = np.nan_to_num(rank_gaussian_filter(joint_minmax(exp.maps["logit_lens"][0], None)))
    np.testing.assert_allclose(exp.maps["tam"][0], expected, atol=1e-6)


def test_auto_rank_filter_skips_small_grids_and_is_recorded(tiny_models, noise_image):
    """The tiny model's grid is a few tokens a side: ``auto`` leaves the filter out there (and says so in
    the explanation's settings), while a threshold the grid meets filters exactly as ``final`` does."""
    from auditors.core.normalise import joint_minmax

    model, processor = tiny_models["qwen2_5_vl"]
    base = dict(max_new_tokens=3, include_prompt_context=False)
    auto = auditors.explain(model, processor, noise_image, PROMPT, methods=("logit_lens", "tam", "msea_arc"),
                            settings=ExplainSettings(**base))
    assert min(auto.grid_shape) < ExplainSettings().rank_filter_min_grid_side
    assert auto.settings["rank_filter"] == "auto" and auto.settings["resolved_rank_filter"] == "none"
    np.testing.assert_allclose(auto.maps["tam"][0], joint_minmax(auto.maps["logit_lens"][0], None), atol=1e-6)
    explicit = {mode: auditors.explain(model, processor, noise_image, PROMPT, methods=("tam", "msea_arc"),
                                       settings=ExplainSettings(**base, rank_filter=mode)) for mode in ("none", "final")}
    low = auditors.explain(model, processor, noise_image, PROMPT, methods=("tam", "msea_arc"),
                           settings=ExplainSettings(**base, rank_filter_min_grid_side=2))
    assert low.settings["resolved_rank_filter"] == "final"
    for method in ("tam", "msea_arc"):
        np.testing.assert_array_equal(auto.maps[method], explicit["none"].maps[method])
        np.testing.assert_array_equal(low.maps[method], explicit["final"].maps[method])
        assert not np.array_equal(explicit["none"].maps[method], explicit["final"].maps[method])


def test_attention_rollout_option(tiny_models, noise_image):
    model, processor = tiny_models["llava"]
    before = model.config._attn_implementation
    last = auditors.explain(model, processor, noise_image, PROMPT, methods=("attention",), settings=FAST)
    assert model.config._attn_implementation == before  # the eager switch is temporary
    roll = auditors.explain(model, processor, noise_image, PROMPT, methods=("attention",),
                            settings=ExplainSettings(max_new_tokens=5, attention_rollout=True))
    assert roll.maps["attention"].shape == last.maps["attention"].shape
    assert np.isfinite(roll.maps["attention"]).all() and not np.allclose(roll.maps["attention"], last.maps["attention"])
