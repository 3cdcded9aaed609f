"""The verdict rules at their edges, and the order in which failing checks are named."""

from __future__ import annotations

import pytest

from comparison.bootstrap import MeanCI
from comparison.result import MetricComparison
from comparison.rules import drift_verdict, few_probes, metric_verdict, worst_first, worst_verdict


def _ci(low: float, high: float) -> MeanCI:
    return MeanCI((low + high) / 2, low, high, 10, 5)


def test_metric_rule_and_its_mirror():
    assert metric_verdict(_ci(-0.3, -0.1), "higher_is_better", 0.05) == "fail"
    assert metric_verdict(_ci(-0.1, 0.0), "higher_is_better", 0.05) == "warn"
    assert metric_verdict(_ci(-0.04, 0.1), "higher_is_better", 0.05) == "pass"
    assert metric_verdict(_ci(0.1, 0.3), "lower_is_better", 0.05) == "fail"
    assert metric_verdict(_ci(0.0, 0.1), "lower_is_better", 0.05) == "warn"
    assert metric_verdict(_ci(-0.3, -0.1), "lower_is_better", 0.05) == "pass"


def test_drift_rule_and_few_probes():
    assert drift_verdict(_ci(0.1, 0.2), 0.3) == "fail"
    assert drift_verdict(_ci(0.2, 0.4), 0.3) == "warn"
    assert drift_verdict(_ci(0.35, 0.5), 0.3) == "pass"
    assert few_probes("pass", 2, 3) == "warn" and few_probes("fail", 2, 3) == "fail"
    assert few_probes("pass", 3, 3) == "pass"


def test_worst_verdict():
    assert worst_verdict([]) == "pass"
    assert worst_verdict(["pass", "warn"]) == "warn"
    assert worst_verdict(["warn", "fail", "pass"]) == "fail"


def _check(metric: str, low: float, high: float, verdict: str, method: str = "tam", tol: float = 0.05):
    return MetricComparison(method, metric, "higher_is_better", (low + high) / 2, low, high, 10, 5, tol,
                            verdict, "")


def test_worst_first_names_the_largest_miss_first():
    near = _check("obj_iou", -0.2, -0.06, "fail")  # misses -0.05 by 0.01
    far = _check("pointing_game", -0.5, -0.3, "fail", method="msea_arc")  # misses by 0.25
    drift = _check("map_drift_spearman", 0.05, 0.1, "fail", tol=0.3)  # misses the minimum by 0.2
    warn = _check("func_iou", -0.1, 0.0, "warn")
    # among failures, quality checks by shortfall, then map drift (it corroborates), then warnings
    assert [c.metric for c in worst_first([warn, near, drift, far])] == [
        "pointing_game", "obj_iou", "map_drift_spearman", "func_iou"]


def test_drift_alone_only_warns_but_corroborates_a_quality_failure():
    from comparison.rules import drift_alone

    drift = _check("map_drift_spearman", 0.05, 0.1, "fail", tol=0.3)
    fine = _check("pointing_game", -0.02, 0.01, "pass")
    worse = _check("pointing_game", -0.5, -0.3, "fail")
    alone = drift_alone([drift, fine], "warn", " (alone)")
    assert [c.verdict for c in alone] == ["warn", "pass"] and alone[0].reason.endswith("(alone)")
    assert [c.verdict for c in drift_alone([drift, worse], "warn", "")] == ["fail", "fail"]
    assert [c.verdict for c in drift_alone([drift, fine], "fail", "")] == ["fail", "pass"]


def test_beyond_limit_measures_single_values_as_shortfall_measures_checks():
    from comparison.rules import beyond_limit, shortfall

    assert beyond_limit(-0.25, "higher_is_better", 0.05, drift=False) == pytest.approx(0.2)
    assert beyond_limit(0.25, "lower_is_better", 0.05, drift=False) == pytest.approx(0.2)
    assert beyond_limit(0.1, "higher_is_better", 0.3, drift=True) == pytest.approx(0.2)
    assert beyond_limit(0.0, "higher_is_better", 0.05, drift=False) < 0  # within tolerance
    assert shortfall(_check("obj_iou", -0.4, -0.25, "fail")) == pytest.approx(0.2)  # its favourable bound
