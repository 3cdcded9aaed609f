"""The validity benchmark's parts: the seed plan keeps calibration apart, calibration reads only
the null, the summary counts detections and false alarms with Wilson intervals; and (slow) the
lean driver on the shipped demo models gives the shortcut's verdict for the right reasons."""

from __future__ import annotations

import pytest

from benchmarks.validity.calibration import calibrate
from benchmarks.validity.plan import ValidityPlan
from benchmarks.validity.summary import TrialOutcome, markdown_table, summarise
from comparison import ComparisonResult, MetricComparison


def _result(checks: list[MetricComparison], verdict: str = "pass", run_ids=(2, 1)) -> ComparisonResult:
    return ComparisonResult(run_ids[0], run_ids[1], verdict, f"{verdict} headline", (), tuple(checks), (), 10, 10, 0,
                            0)


def _check(method, metric, delta, low, high, verdict="pass", direction="higher_is_better", group=None, tol=0.05):
    return MetricComparison(method, metric, direction, delta, low, high, 100, 50, tol, verdict, "why", True, group)


def test_the_plan_keeps_calibration_seeds_apart_from_reported_ones():
    plan = ValidityPlan.build(("corner", "bar"), n_report=8, n_calibration=4)
    assert plan.champion.seed == 1
    assert plan.report_seeds == tuple(range(2, 10)) and plan.calibration_seeds == (10, 11, 12, 13)
    assert not set(plan.calibration_seeds) & set(plan.report_seeds)
    assert {t.kind for t in plan.calibration_trials()} == {"clean"}  # thresholds never see a shortcut
    assert len(plan.report_trials()) == 8 * 3


def test_a_plan_on_named_seeds_refuses_a_seed_in_two_parts():
    plan = ValidityPlan.with_seeds(("corner",), report=(10,), calibration=(4,))
    assert plan.report_seeds == (10,) and plan.calibration_seeds == (4,) and plan.champion.seed == 1
    with pytest.raises(ValueError, match=r"seeds \[4\]"):
        ValidityPlan.with_seeds(("corner",), report=(4, 10), calibration=(4,))
    with pytest.raises(ValueError, match=r"seeds \[1\]"):
        ValidityPlan.with_seeds(("corner",), report=(1,), calibration=(4,))
    other = ValidityPlan.with_seeds(("corner",), report=(10,), calibration=(1, 1234), champion=4)
    assert other.champion.seed == 4 and other.calibration_seeds == (1, 1234)
    with pytest.raises(ValueError, match=r"seeds \[4\]"):
        ValidityPlan.with_seeds(("corner",), report=(10,), calibration=(4,), champion=4)


def test_calibration_takes_the_least_strict_settings_no_honest_pair_fails():
    honest = [
        ("a", _result([_check("tam", "map_drift_spearman", 0.30, 0.27, 0.33),
                       _check("tam", "pointing_game", -0.06, -0.11, -0.02),
                       _check("tam", "fixed_locus", 0.04, -0.03, 0.11, direction="lower_is_better", tol=0.1),
                       _check("tam", "fixed_locus_baseline", 0.12, 0.01, 0.2, direction="lower_is_better", tol=0.1),
                       _check("answer", "answer_exact", -0.08, -0.12, -0.06, verdict="fail")])),
        ("b", _result([_check("tam", "map_drift_spearman", 0.21, 0.18, 0.24),
                       _check("tam", "pointing_game", -0.03, -0.07, 0.01),
                       _check("tam", "pointing_game", -0.5, -0.6, -0.4, verdict="fail", group="colour@1")])),
    ]
    cal = calibrate(honest)
    assert cal.settings["drift"] == {"min_spearman": 0.15, "alone": "warn"}  # 0.18 rounded down
    assert cal.settings["locus"] == {"min_excess": 0.15}  # 0.12 rounded up
    assert cal.settings["tolerances"] == {}  # pointing's worst shortfall 0.02 < the 0.05 floor
    assert cal.shortfalls["pointing_game"] == pytest.approx(0.02)  # word groups are not calibrated
    assert len(cal.answer_failures) == 1  # reported, not absorbed into a tolerance
    assert cal.group_failures == ["b: tam pointing_game[colour@1]"]  # the evidence groups must not decide
    assert [d["mean"] for d in cal.drift] == [0.30, 0.21]
    config = cal.config()
    assert config.drift.min_spearman == 0.15 and config.locus.min_excess == 0.15


def test_rates_count_fails_as_detections_or_false_alarms_with_wilson_intervals():
    fail, ok = _result([], "fail"), _result([], "pass")
    outcomes = ([TrialOutcome.of("corner", s, "present", fail) for s in range(8)]
                + [TrialOutcome.of("clean", s, "present", fail if s == 0 else ok) for s in range(8)])
    summaries = {s.kind: s for s in summarise(outcomes, ["clean", "corner"], ["present"], {})}
    assert (summaries["corner"].fails.k, summaries["corner"].fails.n) == (8, 8)
    assert summaries["corner"].fails.low == pytest.approx(0.6756, abs=1e-4)
    assert summaries["clean"].fails.rate == 1 / 8
    table = markdown_table(list(summaries.values()))
    assert "| present | clean retrain | 1/8 = 12% [2%, 47%] | ≤ 5% (false alarms) **missed** |" in table
    assert "| present | shortcut: corner | 8/8 = 100% [68%, 100%] | ≥ 95% (detection) not shown (8 trials) |" in table
    assert "captioning to the clean target (≥ 0.9) | no trials |" in table  # no retrain here says how it captions


def test_false_alarms_are_also_counted_among_retrains_that_caption_to_the_clean_target():
    fail, ok = _result([], "fail"), _result([], "pass")
    outcomes = [TrialOutcome.of("clean", 1, "present", fail, captions_to_target=False),  # a worse model, caught
                TrialOutcome.of("clean", 2, "present", ok, captions_to_target=True),
                TrialOutcome.of("clean", 3, "present", fail, captions_to_target=True)]
    [summary] = summarise(outcomes, ["clean"], ["present"], {})
    assert (summary.fails.k, summary.fails.n) == (2, 3)
    assert (summary.fails_captioning_to_target.k, summary.fails_captioning_to_target.n) == (1, 2)
    table = markdown_table([summary])
    assert ("| present | of which captioning to the clean target (≥ 0.9) | 1/2 = 50% [9%, 91%] | ≤ 5% (false alarms) "
            "**missed** |") in table


@pytest.mark.slow
def test_the_lean_driver_fails_the_shipped_shortcut_for_its_fixed_locus(tmp_path):
    """The whole path on the shipped demo models (200 probes): explain, score, store, compare with
    the probe set's layout. On probes carrying its own marker (the corner cue, present), the shortcut's
    first colour word keeps peaking on the marker's cell."""
    from auditors.demo import build_default_probe_set, demo_model_dir
    from benchmarks.validity.driver import AuditDriver

    probes = build_default_probe_set(tmp_path / "probes", n=200, cue_kinds=("corner",), mode="present")
    driver = AuditDriver(f"sqlite:///{tmp_path / 'validity.db'}", str(probes))
    clean = driver.audit("clean", demo_model_dir("clean"))
    shortcut = driver.audit("shortcut", demo_model_dir("shortcut"))
    result = driver.judge(shortcut, clean)
    assert result.verdict == "fail"
    for method in ("tam", "msea_arc"):
        assert result.check(method, "fixed_locus").verdict == "fail", result.check(method, "fixed_locus").reason
        finding = next(f for f in result.locus if f.side == "candidate" and f.method == method)
        assert (finding.group, finding.region) == ("colour@1", (0, 3))
        assert next(f for f in result.locus if f.side == "baseline" and f.method == method).verdict == "pass"
    assert result.headline.startswith("tam fixed locus: the first colour word's maps peak in the top-right region")
    colour = next(s for s in result.attention_shift if (s.method, s.group) == ("tam", "colour"))
    assert colour.mean[0][3] == max(v for row in colour.mean for v in row)  # the cue's cell gained most
    assert driver.judge(shortcut, clean) == result  # stored: judged once
    assert driver.judge(clean, clean).verdict == "pass"  # a model against itself


def test_the_tolerance_is_a_prediction_bound_over_honest_pairs_judged_both_ways():
    from scipy.stats import t

    from benchmarks.validity.calibration import TOLERANCE_FLOOR, prediction_bound

    changes = [0.1, -0.1, 0.02, -0.02, -0.09, 0.09]  # three honest pairs, each judged both ways
    rms = (sum(c * c for c in changes) / 6) ** 0.5
    assert prediction_bound(changes) == pytest.approx(t.ppf(0.975, 2) * rms * (1 + 1 / 3) ** 0.5)
    assert prediction_bound(changes) > max(abs(c) for c in changes)  # wider than the largest seen
    assert prediction_bound([0.1, -0.1]) == TOLERANCE_FLOOR  # one pair says nothing of the spread


def test_a_shortcut_model_that_did_not_learn_its_cue_is_left_out_of_detection():
    fail, ok = _result([], "fail"), _result([], "pass")
    outcomes = [TrialOutcome.of("glyph", 2, "present", fail, uses_cue=0.95),
                TrialOutcome.of("glyph", 3, "present", ok, uses_cue=0.05)]  # names the object, not the glyph
    [summary] = summarise(outcomes, ["glyph"], ["present"], {})
    assert summary.fails.n == 1 and summary.fails.k == 1
    assert summary.not_using_cue == [3]
    assert "1 left out: did not learn its cue" in markdown_table([summary])


def test_training_up_front_fills_clean_seeds_then_every_reported_seeds_models(tmp_path):
    from benchmarks.validity.plan import ValidityPlan, ZooModels

    calls = []

    class RecordingZoo:
        def fill(self, seeds, variants, log, jobs):
            calls.append((list(seeds), [v.name for v in variants], jobs))

    plan = ValidityPlan.with_seeds(("corner", "bar"), report=(3, 5), calibration=(1, 1234), champion=4)
    models = ZooModels(str(tmp_path), train=True)
    models.zoo = RecordingZoo()
    models.train_missing(plan, jobs=2)
    from auditors.demo.variants import parse_variant

    names = [parse_variant(v).name for v in ("clean", "shortcut-corner", "shortcut-bar")]  # corner: "shortcut"
    assert calls == [([4, 1, 1234], names[:1], 2), ([3, 5], names, 2)]
    calls.clear()
    untrained = ZooModels(str(tmp_path), train=False)
    untrained.zoo = RecordingZoo()
    untrained.train_missing(plan, jobs=2)
    assert calls == []  # without --train nothing is trained


def test_the_benchmark_judges_the_zoo_of_the_recipe_it_is_asked_for(tmp_path):
    from auditors.demo.zoo import Zoo, recipe_from_option
    from benchmarks.validity.plan import ZooModels

    base, current = ZooModels(str(tmp_path), False, stage1_extra_cycles=0), ZooModels(str(tmp_path), False)
    assert base.folder == Zoo(tmp_path, recipe_from_option(0)).folder != current.folder == Zoo(tmp_path).folder
    assert base.stage1_extra_cycles == 0 and current.stage1_extra_cycles == Zoo(tmp_path).recipe.stage1_extra_cycles > 0
    with pytest.raises(SystemExit, match="stage1-extra-cycles"):
        ZooModels(str(tmp_path), False, stage1_extra_cycles=-1)


def test_a_goal_is_shown_only_when_the_whole_interval_meets_it():
    from benchmarks.validity.summary import _judged
    from comparison.proportions import wilson_interval

    assert _judged(wilson_interval(80, 80), false_alarms=False) == " shown"  # lower bound 95.4 %
    assert _judged(wilson_interval(8, 8), false_alarms=False) == " not shown (8 trials)"  # lower bound 68 %
    assert _judged(wilson_interval(7, 8), false_alarms=False) == " **missed**"
    assert _judged(wilson_interval(0, 80), false_alarms=True) == " shown"  # upper bound 4.6 %
    assert _judged(wilson_interval(0, 4), false_alarms=True) == " not shown (4 trials)"
    assert _judged(wilson_interval(1, 4), false_alarms=True) == " **missed**"
    assert _judged(wilson_interval(0, 0), false_alarms=True) == ""
