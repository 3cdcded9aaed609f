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


def test_group_and_locus_tables_round_trip_and_refuse_bad_values():
    from comparison.settings import GroupConfig, LocusConfig

    config = RegressionConfig.from_mapping({"groups": {"metrics": ["pointing_game"], "min_probes": 10},
                                            "locus": {"min_excess": 0.2}, "drift": {"alone": "fail"}})
    assert config.groups == GroupConfig(metrics=("pointing_game",), min_probes=10)
    assert config.locus == LocusConfig(min_excess=0.2) and config.drift.alone == "fail"
    assert RegressionConfig.from_mapping(config.to_dict()) == config
    for bad, fragment in (({"groups": {"metrics": "pointing_game"}}, "groups.metrics must be a list"),
                          ({"locus": {"max_region_side": 2.5}}, "locus.max_region_side must be an integer"),
                          ({"locus": {"min_excess": 1.5}}, "locus.min_excess must lie in"),
                          ({"drift": {"alone": "maybe"}}, "drift.alone must be 'warn' or 'fail'"),
                          ({"groups": {"colour": 1}}, "unknown groups settings: colour")):
        with pytest.raises(ComparisonError, match=fragment):
            RegressionConfig.from_mapping(bad)


def test_a_user_table_overrides_calibrated_tolerances_metric_by_metric():
    from comparison.settings import CALIBRATED_TOLERANCES

    default = RegressionConfig()
    assert dict(default.tolerances) == CALIBRATED_TOLERANCES and default.tolerance_for("answer_exact") == 0.05
    cfg = RegressionConfig.from_user_table({"tolerances": {"pointing_game": 0.02, "answer_exact": 0.1}})
    assert cfg.tolerance_for("pointing_game") == 0.02 and cfg.tolerance_for("answer_exact") == 0.1
    assert cfg.tolerance_for("obj_iou") == CALIBRATED_TOLERANCES["obj_iou"]  # not named: stays calibrated
    assert RegressionConfig.from_mapping(cfg.to_dict()) == cfg
