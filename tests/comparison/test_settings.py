"""Comparison settings: read from a config table, written back unchanged, bad input named."""

from __future__ import annotations

import pytest

from comparison import ComparisonError, DriftConfig, RegressionConfig


def test_from_mapping_reads_a_config_table():
    cfg = RegressionConfig.from_mapping({"tolerances": {"obj_iou": 0.1}, "drift": {"min_spearman": 0.5}, "seed": 3})
    assert cfg.tolerance_for("obj_iou") == 0.1 and cfg.drift.min_spearman == 0.5 and cfg.seed == 3
    assert cfg.tolerance_for("other") == cfg.default_tolerance
    assert cfg.drift.min_top_overlap == DriftConfig().min_top_overlap  # untouched defaults stay


def test_to_dict_and_from_mapping_are_inverse():
    cfg = RegressionConfig(tolerances={"b": 0.2, "a": 0.1}, drift=DriftConfig(affects_verdict=False), min_probes=5)
    data = cfg.to_dict()
    assert list(data["tolerances"]) == ["a", "b"]  # stable order for hashing
    assert data["drift"]["affects_verdict"] is False
    assert RegressionConfig.from_mapping(data) == cfg


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"toleranse": {}}, "unknown regression settings: toleranse"),
        ({"drift": {"min_spearmann": 0.2}}, "unknown drift settings: min_spearmann"),
        ({"drift": {"affects_verdict": "no"}}, "affects_verdict must be true or false"),
        ({"default_tolerance": -0.1}, "non-negative"),
        ({"tolerances": {"obj_iou": "a lot"}}, "tolerances.obj_iou must be a finite number"),
        ({"n_resamples": 2.5}, "n_resamples must be an integer"),
        ({"confidence": 1.0}, "confidence must lie strictly between 0 and 1"),
        ({"drift": {"top_fraction": 0}}, "top_fraction must lie in"),
        ({"drift": 0.3}, "drift settings must be a table"),
    ],
)
def test_bad_settings_are_named(raw, message):
    with pytest.raises(ComparisonError, match=message):
        RegressionConfig.from_mapping(raw)
