"""Per-word-group checks: a version that names the wrong first colour fails for that reason and
the check names the word; honest noise spread over every word does not fail any group."""

from __future__ import annotations

import numpy as np

from comparison import RegressionConfig, compare_runs
from comparison.grouped import family_confidence, group_checks, probe_slots
from comparison.groups import answer_slots, describe_group, groups_of, split_label
from comparison.paired import ProbeValues
from tests.comparison.scenes import CLASSES, layout, probe_plan, run, slot_metrics

PLANS = probe_plan(60, seed=5)
LAYOUT = layout(PLANS)


def _precision(wrong_first_colour: bool, noise_seed: int):
    rng = np.random.default_rng(noise_seed)

    def value(plan, slot):
        if wrong_first_colour and slot == "colour@1":
            return 0.0
        return float(rng.uniform() > 0.03)  # an honest model is right about 97 % of the time
    return slot_metrics(PLANS, "answer_precision", value)


def test_slots_count_words_of_a_class_in_answer_order():
    words = {0: "a", 1: "red", 2: "circle", 3: "and", 4: "a", 5: "red", 6: "square"}
    assert answer_slots(words, CLASSES) == {("red", 0): "colour@1", ("circle", 0): "shape@1",
                                            ("red", 1): "colour@2", ("square", 0): "shape@2"}


def test_groups_of_words_slots_and_unknown_words():
    slots = {("red", 0): "colour@1"}
    assert groups_of("red", slots, LAYOUT, with_words=True) == ("colour", "colour@1", "word:red")
    assert groups_of("colour@2", slots, LAYOUT, with_words=True) == ("colour", "colour@2")
    assert groups_of("and", slots, LAYOUT, with_words=True) == ()
    assert split_label("red#2") == ("red", 1)
    assert describe_group("colour@1") == "the first colour word"
    assert describe_group("shape") == "shape words" and describe_group("word:red") == "the word 'red'"


def test_the_wrong_first_colour_fails_and_is_named():
    baseline = run(1, PLANS, "honest", 1, metrics=_precision(False, 1))
    candidate = run(2, PLANS, "honest", 2, metrics=_precision(True, 2))
    checks = group_checks(ProbeValues.of(candidate.per_probe_metrics()), ProbeValues.of(baseline.per_probe_metrics()),
                          probe_slots(candidate.generations, LAYOUT), LAYOUT, RegressionConfig())
    failed = {c.group for c in checks if c.verdict == "fail"}
    assert "colour@1" in failed and "colour" in failed
    assert not failed & {"shape", "shape@1", "shape@2", "colour@2"}
    first = next(c for c in checks if c.group == "colour@1")
    assert first.counts and first.delta < -0.9
    assert "answers: answer_precision of the first colour word fell by" in first.reason
    assert "names words no object in the image has" in first.reason


def test_honest_noise_fails_no_group():
    baseline = run(1, PLANS, "honest", 1, metrics=_precision(False, 1))
    candidate = run(2, PLANS, "honest", 2, metrics=_precision(False, 2))
    checks = group_checks(ProbeValues.of(candidate.per_probe_metrics()), ProbeValues.of(baseline.per_probe_metrics()),
                          probe_slots(candidate.generations, LAYOUT), LAYOUT, RegressionConfig())
    assert checks and all(c.verdict == "pass" for c in checks)


def test_group_intervals_are_widened_to_the_family_level():
    """Four groups share 5 %: each is judged at 98.75 %, and the sentence says so."""
    assert family_confidence(0.95, 4) == 0.9875
    baseline = run(1, PLANS, "honest", 1, metrics=_precision(False, 1))
    candidate = run(2, PLANS, "honest", 2, metrics=_precision(True, 2))
    checks = group_checks(ProbeValues.of(candidate.per_probe_metrics()), ProbeValues.of(baseline.per_probe_metrics()), {}, LAYOUT,
                          RegressionConfig())
    assert {c.group for c in checks} == {"colour", "colour@1", "colour@2", "shape", "shape@1", "shape@2"}
    assert all("99.17% CI" in c.reason for c in checks)  # six groups: 1 - 0.05 / 6


def test_the_verdict_fails_on_the_answers_and_the_headline_says_which_word():
    baseline = run(1, PLANS, "honest", 1, metrics=_precision(False, 1))
    candidate = run(2, PLANS, "honest", 2, metrics=_precision(True, 2))
    result = compare_runs(candidate, baseline, RegressionConfig(), LAYOUT)
    assert result.verdict == "fail"
    assert result.headline.startswith("answers: answer_precision")
    assert any("the first colour word" in r for r in result.reasons)
