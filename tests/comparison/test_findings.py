"""What the report shows beside the checks: where the attention went (candidate minus baseline,
per word class) and what the answers name on counterfactual probes; and the whole comparison with a
layout on a known shortcut and a known honest retrain."""

from __future__ import annotations

from comparison import ComparisonResult, RegressionConfig, compare_runs
from comparison.counterfactual import counterfactual_summary
from comparison.shift import attention_shifts
from tests.comparison.scenes import COLOURS, CUE_CELL, layout, probe_plan, run

PLANS = probe_plan(60, seed=7)
LAYOUT = layout(PLANS)


def _cell(grid, cell):
    return grid[cell[0]][cell[1]]


def test_a_shortcut_cue_lights_up_as_a_significant_spot_in_the_colour_class():
    shifts = {(s.method, s.group): s for s in attention_shifts(run(2, PLANS, "shortcut", 2),
                                                              run(1, PLANS, "honest", 1), LAYOUT, RegressionConfig())}
    colour, shape = shifts[("tam", "colour")], shifts[("tam", "shape")]
    assert _cell(colour.mean, CUE_CELL) > 10 * _cell(colour.se, CUE_CELL) > 0
    assert max(abs(v) for row in shape.mean for v in row) < 0.05  # shape words did not move
    assert colour.n_words == 120 and colour.n_probes == 60


def test_object_words_are_the_words_naming_an_object_and_a_class_holds_all_its_words():
    """Both versions name a colour the probe does not hold (first word): it moves the colour panel only."""
    answers = {}
    for plan in PLANS:
        words = plan["caption"].split()
        held = {w for pair, _ in plan["objects"] for w in pair}
        answers[plan["key"]] = (next(c for c in COLOURS if c not in held), *words)
    shifts = {(s.method, s.group): s for s in attention_shifts(run(2, PLANS, "honest", 2, answers),
                                                              run(1, PLANS, "honest", 1, answers), LAYOUT,
                                                              RegressionConfig())}
    assert shifts[("tam", "object words")].n_words == 4 * len(PLANS)  # the four words naming objects
    assert shifts[("tam", "colour")].n_words == 3 * len(PLANS)  # the absent colour counted as a colour


def test_an_honest_retrain_shows_noise():
    shifts = attention_shifts(run(2, PLANS, "honest", 2), run(1, PLANS, "honest", 1), LAYOUT, RegressionConfig())
    for shift in shifts:
        assert all(abs(m) <= 4 * se for mr, sr in zip(shift.mean, shift.se) for m, se in zip(mr, sr))


def test_on_conflicting_probes_the_summary_says_the_shortcut_names_the_cue():
    conflicting = layout(PLANS, cue_mode="conflicting")
    cue_words = {k: p.cue.word for k, p in conflicting.probes.items()}
    answers = {}
    for plan in PLANS:
        words = plan["caption"].split()
        words[1] = cue_words[plan["key"]]  # the first colour word read from the cue
        if words[1] == words[4]:
            words[4] = next(c for c in COLOURS if c not in words)
        answers[plan["key"]] = tuple(words)
    shortcut = counterfactual_summary(run(2, PLANS, "shortcut", 2, answers=answers), conflicting, "candidate")
    honest = counterfactual_summary(run(1, PLANS, "honest", 1), conflicting, "baseline")
    assert [(s.mode, s.n_probes, s.names_cue, s.names_object) for s in shortcut] == [("conflicting", 60, 1.0, 0.0)]
    assert [(s.names_cue, s.names_object) for s in honest] == [(0.0, 1.0)]
    assert shortcut[0].peaks[0].on_cue == 1.0 and honest[0].peaks[0].on_object == 1.0


def test_no_cue_metadata_no_summary():
    assert counterfactual_summary(run(1, PLANS, "honest", 1), LAYOUT, "candidate") == []


def test_with_the_layout_a_shortcut_fails_by_its_fixed_locus_and_the_result_keeps_the_findings():
    result = compare_runs(run(2, PLANS, "shortcut", 2), run(1, PLANS, "honest", 1), RegressionConfig(), LAYOUT)
    assert result.verdict == "fail"
    assert result.headline.startswith("tam fixed locus: the first colour word's maps peak in the "
                                      "top-right region")
    sides = {(f.side, f.verdict) for f in result.locus}
    assert sides == {("candidate", "fail"), ("baseline", "pass")}
    assert {s.group for s in result.attention_shift} == {"object words", "colour", "shape"}
    loaded = ComparisonResult.from_dict(result.to_dict())
    assert loaded == result


def test_with_the_layout_an_honest_retrain_does_not_fail():
    result = compare_runs(run(2, PLANS, "honest", 2), run(1, PLANS, "honest", 1), RegressionConfig(), LAYOUT)
    assert result.verdict != "fail"
    assert all(f.verdict == "pass" for f in result.locus)
