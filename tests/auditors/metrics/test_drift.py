"""Pair metrics (the randomisation sanity check) and the weight-randomised copy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditors.metrics import MetricError, compare_explanations, randomised_copy
from tests.auditors.metrics.helpers import explanation


def test_compare_explanations_pairs_words_by_text_and_occurrence():
    rng = np.random.default_rng(0)
    maps = {w: rng.random((4, 4)).astype(np.float32) for w in ["red", "square"]}
    a = explanation(["a", "red", "square"], maps)
    same = compare_explanations(a, a)
    assert {v.word for v in same} == {"a", "red", "square", None}
    assert all(v.value == pytest.approx(1.0) for v in same)
    other = explanation(["one", "red", "square"], {"red": -maps["red"], "square": maps["square"]})
    sanity = compare_explanations(a, other, metrics=["randomisation_spearman"])
    by_word = {v.word: v.value for v in sanity}
    assert set(by_word) == {"red", "square", None}  # "a" has no partner
    assert by_word["red"] == pytest.approx(-1.0) and by_word["square"] == pytest.approx(1.0)
    assert by_word[None] == pytest.approx(0.0)
    assert {v.direction for v in sanity} == {"lower_is_better"}
    with pytest.raises(MetricError, match="single explanation"):
        compare_explanations(a, a, metrics=["obj_iou"])


def test_randomised_copy_redraws_weights_and_keeps_the_original():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LayerNorm(16), torch.nn.Linear(16, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clone = randomised_copy(model, seed=1)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    assert not torch.equal(clone[0].weight, model[0].weight)
    assert torch.equal(clone[1].weight, model[1].weight)  # constant LayerNorm weight kept
    assert abs(float(clone[0].weight.detach().std()) - float(model[0].weight.detach().std())) < 0.05
    again = randomised_copy(model, seed=1)
    assert torch.equal(again[0].weight, clone[0].weight)  # deterministic by seed
