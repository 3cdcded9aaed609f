"""The comparison result saves, loads (old formats too) and diffs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from comparison import (
    FORMAT_VERSION,
    TYPE_ID,
    CheckChange,
    ComparisonError,
    ComparisonResult,
    DriftConfig,
    RegressionConfig,
    compare_runs,
)
from tests.comparison.records import small_runs

DATA = Path(__file__).parent / "data"


def test_to_dict_round_trips_through_json():
    result = compare_runs(*small_runs())
    data = json.loads(json.dumps(result.to_dict()))
    assert data["type"] == TYPE_ID and data["version"] == FORMAT_VERSION
    assert ComparisonResult.from_dict(data) == result


def test_a_stored_version_1_result_still_loads():
    """Frozen file written by format version 1: every later version must keep reading it."""
    data = json.loads((DATA / "comparison-v1.json").read_text())
    assert data["version"] == 1
    loaded = ComparisonResult.from_dict(data)
    assert loaded.verdict == "fail" and (loaded.candidate_run_id, loaded.baseline_run_id) == (2, 1)
    assert loaded.check("tam", "obj_iou").delta == pytest.approx(-0.3)
    assert loaded.headline.startswith("FAIL: tam's maps")  # as it was stored
    assert loaded.probes[0].shared_words == ("a", "circle", "red")
    assert loaded.settings["drift"]["min_spearman"] == 0.3
    assert all(c.group is None for c in loaded.comparisons)  # format 1 had no word groups ...
    assert (loaded.locus, loaded.attention_shift, loaded.counterfactual) == ((), (), ())  # ... nor findings


def test_a_stored_version_2_result_still_loads():
    """Frozen file written by format version 2 (a shortcut judged with the probe set's layout)."""
    data = json.loads((DATA / "comparison-v2.json").read_text())
    assert data["version"] == 2
    loaded = ComparisonResult.from_dict(data)
    assert loaded.verdict == "fail" and loaded.check("tam", "fixed_locus").verdict == "fail"
    assert {(f.side, f.group, f.region) for f in loaded.locus if f.verdict == "fail"} == {
        ("candidate", "colour@1", (0, 3))}
    assert {s.group for s in loaded.attention_shift} == {"object words", "colour", "shape"}
    assert [(c.side, c.mode) for c in loaded.counterfactual] == [("candidate", "conflicting"),
                                                                  ("baseline", "conflicting")]
    assert ComparisonResult.from_dict(loaded.to_dict()) == loaded


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(type="something.else"), "not a stored comparison"),
        (lambda d: d.update(version=FORMAT_VERSION + 1), "newer than this code reads"),
        (lambda d: d.pop("version"), "no valid format version"),
        (lambda d: d.pop("comparisons"), "incomplete"),
    ],
)
def test_from_dict_refuses_what_it_cannot_read(edit, message):
    data = compare_runs(*small_runs()).to_dict()
    edit(data)
    with pytest.raises(ComparisonError, match=message):
        ComparisonResult.from_dict(data)


def test_diff_names_the_checks_that_changed_verdict():
    candidate, baseline = small_runs(metric_shift=0.0)  # metrics equal, maps moved
    strict = compare_runs(candidate, baseline)
    lenient = compare_runs(candidate, baseline, RegressionConfig(drift=DriftConfig(min_spearman=-1.0,
                                                                                   min_top_overlap=0.0)))
    diff = strict.diff(lenient)
    assert (diff.verdict_before, diff.verdict_after) == ("warn", "pass") and diff.changed  # drift alone warns
    assert diff.changes == (CheckChange("tam", "map_drift_spearman", "warn", "pass"),
                            CheckChange("tam", "map_drift_top_overlap", "warn", "pass"))
    assert not strict.diff(strict).changed
    fewer = dataclasses.replace(strict, comparisons=strict.comparisons[:1])
    assert {(c.metric, c.after) for c in strict.diff(fewer).changes} == {
        ("map_drift_spearman", None), ("map_drift_top_overlap", None)}


def test_probe_flags_name_each_probes_changes_beyond_a_limit_worst_first():
    from comparison import MetricComparison, ProbeComparison, ProbeDelta, ProbeDrift

    def check(metric, verdict, direction="higher_is_better", tolerance=0.05):
        return MetricComparison("tam", metric, direction, -0.2, -0.3, -0.1, 40, 10, tolerance, verdict, "")

    checks = (check("pointing_game", "fail"), check("obj_iou", "warn"), check("deletion_auc", "fail", "lower_is_better"),
              check("f1_iou", "pass"), check("map_drift_spearman", "fail", tolerance=0.3))
    probe = ProbeComparison("p1", "a", "a", ("a",), (), (), deltas=(
        ProbeDelta("tam", "obj_iou", -0.9, 2),          # far beyond, but its check only warned
        ProbeDelta("tam", "pointing_game", -0.5, 2),     # beyond by 0.45
        ProbeDelta("tam", "deletion_auc", 0.1, 2),       # lower is better: +0.1 is beyond +0.05 by 0.05
        ProbeDelta("tam", "f1_iou", -0.9, 2),            # its check passed: never flagged
    ), drift=(ProbeDrift("tam", spearman=0.1, top_overlap=0.9, n_words=2),))
    improved = ProbeComparison("p2", "a", "a", ("a",), (), (), deltas=(
        ProbeDelta("tam", "pointing_game", 0.5, 2), ProbeDelta("tam", "obj_iou", -0.04, 2)), drift=())
    result = dataclasses.replace(compare_runs(*small_runs()), comparisons=checks, probes=(probe, improved))
    flags = result.probe_flags()
    assert set(flags) == {"p1"}  # p2 improved or stayed within the limits
    assert [(f.metric, f.check_verdict) for f in flags["p1"]] == [
        ("pointing_game", "fail"), ("map_drift_spearman", "fail"), ("deletion_auc", "fail"), ("obj_iou", "warn")]
    assert [round(f.beyond, 3) for f in flags["p1"]] == [0.45, 0.2, 0.05, 0.85]
