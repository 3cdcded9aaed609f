"""Each method's own substance: MSEA's aggregation, ARC's rankings and weights, and the shared state
that computes every expensive quantity once per explanation."""

from __future__ import annotations

import numpy as np
import pytest

import auditors
from auditors import ExplainSettings

PROMPT = "describe the image"


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava"])
def test_single_scale_msea_equals_the_single_scale_path(tiny_models, noise_image, family):
    from auditors.core.normalise import minmax
    from auditors.core.rank_filter import rank_gaussian_filter

    model, processor = tiny_models[family]
    one = ExplainSettings(max_new_tokens=5, scales=(1.0,), rank_filter="final")
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=("logit_lens", "msea", "arc", "msea_arc"),
                           settings=one)
    expected = np.stack([minmax(np.nan_to_num(rank_gaussian_filter(m))) for m in exp.maps["logit_lens"]])
    np.testing.assert_allclose(exp.maps["msea"], expected, atol=1e-6)
    np.testing.assert_array_equal(exp.maps["msea_arc"], exp.maps["arc"])
    multi = auditors.explain(model, processor, noise_image, PROMPT, methods=("msea_arc",),
                             settings=ExplainSettings(max_new_tokens=5, scales=(1.0, 0.5), rank_filter="final"))
    assert multi.settings["resolved_scales"] == [1.0, 0.5]
    assert not np.array_equal(multi.maps["msea_arc"], exp.maps["msea_arc"])  # the extra scale changes the maps


def test_arc_with_fully_coherent_context_subtracts_nothing(tiny_models, noise_image):
    """If every context token ranks the same candidates (RBO 1), ARC's weights are 0: no removal."""
    from auditors.adapters import adapter_for
    from auditors.capture import generate_with_capture
    from auditors.core.normalise import joint_minmax
    from auditors.core.rank_filter import rank_gaussian_filter
    from auditors.methods import get_explainer
    from auditors.methods.arc import record_topk
    from auditors.state import ExplainState

    model, processor = tiny_models["qwen2_5_vl"]
    adapter = adapter_for(model)
    prepared = adapter.prepare(model, processor, noise_image, PROMPT)
    import torch

    with torch.inference_mode():
        capture = generate_with_capture(model, processor, adapter, prepared, 5)
        filtered = ExplainSettings(max_new_tokens=5, rank_filter="final")
        state = ExplainState(model, processor, adapter, noise_image, PROMPT, filtered, prepared, capture)
        state.override(record_topk, np.tile(np.arange(50), (len(state.record_ids), 1)))  # all coherent
        arc = get_explainer("arc").attribute(state)
        raw = state.record_maps_at(1.0)
        scores = np.maximum(state.explained_text_scores, 0)
        for t in range(state.n_generated):
            e = state.n_prompt + t
            expected = np.nan_to_num(rank_gaussian_filter(joint_minmax(raw[e], scores[t, :e])))
            np.testing.assert_allclose(arc[t], expected, atol=1e-6)
        # ...whereas TAM (no ranking correlation) does remove context here
        tam = get_explainer("tam").attribute(state)
    assert state.n_generated > 1 and not np.allclose(tam, arc)


def test_arc_with_relevance_weighting_is_corrected_tam(tiny_models, noise_image):
    model, processor = tiny_models["internvl"]
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=("tam", "arc"),
                           settings=ExplainSettings(max_new_tokens=4, arc_weighting="relevance"))
    np.testing.assert_array_equal(exp.maps["arc"], exp.maps["tam"])


def test_cross_scale_alignment_weights_are_rbo_per_scale(tiny_models, noise_image):
    import torch

    from auditors.adapters import adapter_for
    from auditors.capture import generate_with_capture
    from auditors.methods.msea import alignment_weights
    from auditors.state import ExplainState

    model, processor = tiny_models["qwen2_vl"]
    settings = ExplainSettings(max_new_tokens=4, scales=(1.0, 2.0), align_scales=True)
    adapter = adapter_for(model)
    prepared = adapter.prepare(model, processor, noise_image, PROMPT)
    with torch.inference_mode():
        capture = generate_with_capture(model, processor, adapter, prepared, 4)
        state = ExplainState(model, processor, adapter, noise_image, PROMPT, settings, prepared, capture)
        weights = alignment_weights(state)
    assert weights.shape == (2, len(state.record_ids))
    np.testing.assert_array_equal(weights[0], 1.0)
    assert ((weights >= 0) & (weights <= 1 + 1e-9)).all() and (weights[1] < 1).any()
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=("msea", "msea_arc"), settings=settings)
    plain = auditors.explain(model, processor, noise_image, PROMPT, methods=("msea",),
                             settings=ExplainSettings(max_new_tokens=4, scales=(1.0, 2.0)))
    assert all(np.isfinite(m).all() and (m >= 0).all() for m in exp.maps.values())
    assert not np.allclose(exp.maps["msea"], plain.maps["msea"])


def test_expensive_quantities_are_computed_once_per_explanation(tiny_models, noise_image, monkeypatch):
    """MSEA, MSEA+ARC and ARC together: one prompt-only forward per extra scale, one aggregation
    (MSEA+ARC reuses MSEA's), and no full-vocabulary pass after generation (the prompt's rankings
    ride along generation's head calls); a second explanation computes its own."""
    from auditors.methods import msea
    from auditors.state import ExplainState

    model, processor = tiny_models["qwen2_5_vl"]
    adapter_type = type(auditors.adapter_for(model))
    calls = {"forward": 0, "aggregate": 0, "vocabulary": 0}

    def counted(name, original):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(adapter_type, "prompt_hidden_states", counted("forward", adapter_type.prompt_hidden_states))
    monkeypatch.setattr(msea, "alignment_weights", counted("aggregate", msea.alignment_weights))
    monkeypatch.setattr(ExplainState, "full_logits", counted("vocabulary", ExplainState.full_logits))
    settings = ExplainSettings(max_new_tokens=4, scales=(1.0, 1.5, 2.0))
    exp = auditors.explain(model, processor, noise_image, PROMPT, methods=("msea", "msea_arc", "arc"), settings=settings)
    assert calls == {"forward": 2, "aggregate": 1, "vocabulary": 0}
    assert all(np.isfinite(m).all() for m in exp.maps.values())
    auditors.explain(model, processor, noise_image, PROMPT, methods=("msea_arc",), settings=settings)
    assert calls == {"forward": 4, "aggregate": 2, "vocabulary": 0}
