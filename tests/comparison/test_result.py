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
