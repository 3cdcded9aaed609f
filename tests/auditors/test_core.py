"""Numerical building blocks: RBO against hand-computed values, ECI, normalisation, rank filter."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.core import (joint_minmax, least_squares_scale, rank_gaussian_filter, rbo_extrapolated, rbo_many,
                           remove_interference, to_uint8_truncated)
from auditors.errors import AuditorInputError
from auditors.settings import ExplainSettings


def test_rbo_identical_lists_is_one_and_disjoint_is_zero():
    assert rbo_extrapolated([1, 2, 3, 4], [1, 2, 3, 4], p=0.9) == pytest.approx(1.0, abs=1e-12)
    assert rbo_extrapolated([1, 2, 3], [4, 5, 6], p=0.9) == 0.0


def test_rbo_hand_computed_swap_and_tail():
    # [a b c] vs [b a d], p = 0.9: X_1 = 0, X_2 = 2, X_3 = 2
    # RBO_ext = (2/3) 0.9^3 + (0.1/0.9) (0 + (2/2) 0.9^2 + (2/3) 0.9^3) = 0.486 + 0.144 = 0.63
    assert rbo_extrapolated(["a", "b", "c"], ["b", "a", "d"], p=0.9) == pytest.approx(0.63, abs=1e-12)


def test_rbo_hand_computed_shared_top_only():
    # [1 2] vs [1 3], p = 0.5: X_1 = 1, X_2 = 1 -> (1/2) 0.25 + (0.5/0.5) (1 * 0.5 + (1/2) 0.25) = 0.75
    assert rbo_extrapolated([1, 2], [1, 3], p=0.5) == pytest.approx(0.75, abs=1e-12)


def test_rbo_many_matches_scalar_version():
    rng = np.random.RandomState(3)
    query = rng.permutation(30)[:10]
    others = np.stack([rng.permutation(30)[:10] for _ in range(25)] + [query])
    expected = [rbo_extrapolated(query, row, p=0.9) for row in others]
    np.testing.assert_allclose(rbo_many(query, others, p=0.9), expected, atol=1e-12)
    assert rbo_many(query, others, p=0.9)[-1] == pytest.approx(1.0)


def test_least_squares_and_zero_interference():
    target = np.array([2.0, 4.0, 6.0])
    assert least_squares_scale(target, target / 2) == pytest.approx(2.0)
    assert least_squares_scale(target, np.zeros(3)) == 0.0


def test_remove_interference_with_zero_weights_keeps_the_map():
    target = np.array([0.5, 2.0, 0.0, 1.0], dtype=np.float32)
    context = np.array([[1.0, 0.0, 3.0, 1.0], [0.0, 5.0, 1.0, 2.0]], dtype=np.float32)
    cleaned, interference, alpha = remove_interference(target, context, np.zeros(2, dtype=np.float32))
    np.testing.assert_array_equal(cleaned, target)
    assert alpha == 0.0 and not interference.any()
    cleaned, _, alpha = remove_interference(target, context, np.array([1.0, 0.0], dtype=np.float32))
    assert alpha > 0 and (cleaned >= 0).all() and cleaned[2] == 0.0


def test_joint_minmax_and_uint8_truncation():
    out = joint_minmax(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    np.testing.assert_allclose(out, [0.25, 0.5])
    assert np.isnan(joint_minmax(np.ones(3), np.ones(2))).all()
    np.testing.assert_array_equal(to_uint8_truncated(np.array([0.999, np.nan, 0.5])), [254, 0, 127])


def test_rank_filter_zero_constant_and_spike():
    assert not rank_gaussian_filter(np.zeros((3, 4))).any()
    assert np.isnan(rank_gaussian_filter(np.full((3, 3), 2.0))).all()
    spike = np.zeros((5, 5)); spike[2, 2] = 9.0
    out = rank_gaussian_filter(spike)
    assert out[2, 2] < 9.0 and out.shape == (5, 5)  # an isolated spike is damped
    video = rank_gaussian_filter(np.stack([spike, spike]))
    np.testing.assert_array_equal(video[0], out)


def test_settings_are_validated_and_documented():
    doc = ExplainSettings.__doc__
    for name in ExplainSettings.__dataclass_fields__:
        assert name in doc, f"setting {name} is not documented in ExplainSettings"
    with pytest.raises(AuditorInputError, match="include 1.0"):
        ExplainSettings(scales=(0.5, 0.25))
    with pytest.raises(AuditorInputError, match="arc_weighting"):
        ExplainSettings(arc_weighting="bogus")
    s = ExplainSettings()
    assert s.resolve_scales((4, 4), fixed_canvas=False) == (1.0, 1.5, 2.0)
    assert s.resolve_scales((16, 20), fixed_canvas=False) == (1.0, 0.75, 0.5)
    assert s.resolve_scales((4, 4), fixed_canvas=True) == (1.0, 0.75, 0.5)
    assert ExplainSettings.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(("values", "message"), [
    ({"max_new_tokens": "8"}, "max_new_tokens must be a whole number, got '8'"),
    ({"topk": 2.5}, "topk must be a whole number"),
    ({"align_scales": "yes"}, "align_scales must be true or false"),
    ({"rbo_p": "0.9"}, "rbo_p must be a number"),
    ({"upscales": [1, "2"]}, "upscales must be a list of numbers"),
    ({"scales": "1,2"}, "scales must be a list of numbers"),
])
def test_a_setting_of_the_wrong_type_is_named(values, message):
    with pytest.raises(AuditorInputError, match=message):
        ExplainSettings.from_dict(values)


def test_auto_rank_filter_depends_on_the_grid_side():
    s = ExplainSettings()
    assert s.rank_filter == "auto"
    assert s.resolve_rank_filter((4, 4)) == "none"  # a 3x3 window would span most of the image
    assert s.resolve_rank_filter((7, 30)) == "none"  # the shorter side decides
    assert s.resolve_rank_filter((8, 8)) == "final"
    assert ExplainSettings(rank_filter_min_grid_side=4).resolve_rank_filter((4, 4)) == "final"
    for explicit in ("final", "per_scale", "none"):
        assert ExplainSettings(rank_filter=explicit).resolve_rank_filter((4, 4)) == explicit
        assert ExplainSettings(rank_filter=explicit).resolve_rank_filter((32, 32)) == explicit
    with pytest.raises(AuditorInputError, match="rank_filter_min_grid_side"):
        ExplainSettings(rank_filter_min_grid_side=0)
    with pytest.raises(AuditorInputError, match="rank_filter"):
        ExplainSettings(rank_filter="sometimes")
