"""Answer metrics (method "answer"): recall, precision and exact match per slot, computed once per
probe whatever the explainers, and the off-object peak of each object word's map."""

from __future__ import annotations

import numpy as np

from auditors.metrics import score_explanation
from auditors.metrics.answer import slots, text_words
from tests.auditors.metrics.helpers import LEFT_CELLS, RIGHT_CELLS, cell_map, explanation, two_object_probe_set

CLASSES = {"red": "colour", "blue": "colour", "green": "colour", "square": "shape", "circle": "shape"}
VOCABULARY = {"red", "blue", "green", "square", "circle"}


def _answer_values(values, metric):
    return {v.word: v.value for v in values if v.method == "answer" and v.metric == metric}


def _score(tmp_path, words, methods=("m",)):
    probe = two_object_probe_set(tmp_path / "set").probes[0]  # red square (left), blue circle (right)
    exp = explanation(words, {})
    exp.maps.update({m: exp.maps["m"] for m in methods})
    return score_explanation(exp, probe, noun_vocabulary=VOCABULARY, word_classes=CLASSES)


def test_a_right_answer_scores_one_everywhere(tmp_path):
    values = _score(tmp_path, ["a", "red", "square", "and", "a", "blue", "circle"])
    assert _answer_values(values, "answer_recall") == {"colour@1": 1.0, "shape@1": 1.0, "colour@2": 1.0,
                                                       "shape@2": 1.0, None: 1.0}
    assert _answer_values(values, "answer_precision")[None] == 1.0
    assert _answer_values(values, "answer_exact") == {None: 1.0}


def test_the_wrong_first_colour_is_a_miss_in_both_slots(tmp_path):
    values = _score(tmp_path, ["a", "green", "square", "and", "a", "blue", "circle"])
    recall, precision = _answer_values(values, "answer_recall"), _answer_values(values, "answer_precision")
    assert recall["colour@1"] == 0.0 and recall["colour@2"] == 1.0 and recall[None] == 0.75
    assert precision["colour@1"] == 0.0 and precision["shape@1"] == 1.0  # green: no object is green
    assert _answer_values(values, "answer_exact") == {None: 0.0}


def test_a_left_out_object_lowers_recall_not_precision(tmp_path):
    values = _score(tmp_path, ["a", "red", "square"])
    assert _answer_values(values, "answer_recall")[None] == 0.5
    assert _answer_values(values, "answer_precision")[None] == 1.0


def test_answer_metrics_are_computed_once_whatever_the_explainers(tmp_path):
    values = _score(tmp_path, ["a", "red", "square"], methods=("m", "tam", "msea_arc"))
    exact = [v for v in values if v.metric == "answer_exact"]
    assert len(exact) == 1 and exact[0].method == "answer"


def test_slots_and_text_words():
    assert text_words("A red Square.") == ["a", "red", "square"]
    assert slots(["a", "red", "dog", "red"], {"red", "dog"}, {"red": "colour"}) == [
        ("colour@1", "red"), ("object word@1", "dog"), ("colour@2", "red")]


def test_peak_off_object_marks_maps_that_peak_where_no_object_is(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    on_left = cell_map(LEFT_CELLS, 100.0, 1.0)
    corner = cell_map([(0, 1)], 100.0, 1.0)  # no object in row 0
    exp = explanation(["a", "red", "square", "and", "a", "blue", "circle"],
                      {"red": corner, "square": on_left, "blue": cell_map(RIGHT_CELLS, 100.0, 1.0),
                       "circle": np.full((4, 4), 3.0, np.float32)})
    off = {v.word: v.value for v in score_explanation(exp, probe, metrics=["peak_off_object"])}
    assert off == {"red": 1.0, "square": 0.0, "blue": 0.0, None: 1 / 3}  # a flat map has no peak
