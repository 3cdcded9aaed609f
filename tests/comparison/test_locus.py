"""The fixed-locus check on one run alone: a map that keeps peaking on one object-free cell while
the objects move fails; maps that follow their objects, or that prefer no place, pass."""

from __future__ import annotations

from comparison import RegressionConfig
from comparison.locus import locus_checks, region_grid
from tests.comparison.scenes import CUE_CELL, layout, probe_plan, run

PLANS = probe_plan(60, seed=3)
LAYOUT = layout(PLANS)


def _check(pattern: str, seed: int = 1):
    checks, findings = locus_checks(run(1, PLANS, pattern, seed), LAYOUT, RegressionConfig())
    assert len(checks) == 1 and len(findings) == 1
    return checks[0], findings[0]


def test_a_fixed_object_free_peak_fails_and_names_the_word_and_region():
    check, finding = _check("shortcut")
    assert check.verdict == "fail" and check.counts
    assert check.ci_low > RegressionConfig().locus.min_excess
    assert finding.group == "colour@1" and finding.region == CUE_CELL
    assert finding.region_box == (0.75, 0.0, 1.0, 0.25)
    assert finding.observed[0][3] > 0.9  # nearly every first-colour map peaks there
    assert "the first colour word's maps peak in the top-right region" in check.reason


def test_maps_that_follow_their_objects_pass():
    check, finding = _check("honest")
    assert check.verdict == "pass"
    assert max(max(row) for row in finding.observed) == 0.0  # no peak ever off its object


def test_maps_without_a_favourite_place_pass_because_the_null_expects_their_spread():
    """Noise maps peak off-object often, but where their own mass is: the excess stays near 0."""
    check, finding = _check("diffuse")
    assert check.verdict == "pass"
    assert sum(sum(row) for row in finding.observed) > 0.5  # many off-object peaks ...
    assert abs(check.delta) < 0.1  # ... just as many as the spread predicts


def test_the_baseline_side_is_reported_but_never_decides():
    checks, findings = locus_checks(run(1, PLANS, "shortcut", 1), LAYOUT, RegressionConfig(), side="baseline")
    assert checks[0].metric == "fixed_locus_baseline" and not checks[0].counts
    assert findings[0].side == "baseline"


def test_big_grids_are_merged_into_coarser_regions():
    assert region_grid({(24, 24), (16, 16)}, 8) == (8, 8)
    assert region_grid({(4, 4)}, 8) == (4, 4)


def test_fewer_probes_than_the_minimum_test_nothing():
    config = RegressionConfig.from_mapping({"locus": {"min_probes": 100}})
    assert locus_checks(run(1, PLANS, "shortcut", 1), LAYOUT, config) == ([], [])

