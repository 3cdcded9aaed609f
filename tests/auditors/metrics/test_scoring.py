"""score_explanation on hand-built explanations whose geometry makes every value predictable."""

from __future__ import annotations

import numpy as np
import pytest

from auditors.metrics import MetricError, aggregate_values, score_explanation
from auditors.metrics.context import ProbeContext
from auditors.metrics.localisation import cell_coverage, energy_in_mask, pointing_chance, pointing_hit
from auditors.metrics.words import FUNCTION_WORD, NOUN_WITHOUT_MASK, OTHER_WORD
from auditors.probes import ObjectDraft
from tests.auditors.metrics.helpers import LEFT_CELLS, RIGHT_CELLS, box_mask, cell_map, explanation, two_object_probe_set

WORDS = ["A", "red", "square", "and", "a", "blue", "circle."]


def _by(values, metric):
    return {v.word: v.value for v in values if v.metric == metric}


def _good_maps():
    left, right = cell_map(LEFT_CELLS, 200.0, 5.0), cell_map(RIGHT_CELLS, 200.0, 5.0)
    return {"red": left, "square": left, "blue": right, "circle.": right}


def test_maps_on_the_named_objects_score_perfectly(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    values = score_explanation(explanation(WORDS, _good_maps()), probe)
    assert _by(values, "pointing_game") == {"red": 1.0, "square": 1.0, "blue": 1.0, "circle": 1.0, None: 1.0}
    energy = _by(values, "energy_in_mask")
    assert energy["red"] == pytest.approx(400 / (400 + 14 * 5))
    # consecutive words of one object are merged into one Obj-IoU entry (TAM rule)
    obj = _by(values, "obj_iou")
    assert set(obj) == {"red square", "blue circle", None}
    assert obj["red square"] > 0.8 and obj["blue circle"] > 0.8
    assert set(_by(values, "obj_iou_per_word")) == {"red", "square", "blue", "circle", None}
    func = _by(values, "func_iou")
    assert set(func) == {"a", "and", "a#2", None}  # repeated words get a unique key
    assert all(v == 1.0 for v in func.values())  # function words light up nothing
    f1 = _by(values, "f1_iou")[None]
    o, f = np.mean([obj["red square"], obj["blue circle"]]), 1.0
    assert f1 == pytest.approx(2 * o * f / (o + f))
    assert {v.method for v in values} == {"m", "answer"}  # the answer metrics are not per explainer
    assert all(v.direction == ("lower_is_better" if v.metric == "peak_off_object" else "higher_is_better")
               for v in values)


def test_swapped_maps_score_low_and_function_words_lighting_up_lower_func_iou(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    good = _good_maps()
    swapped = {"red": good["blue"], "square": good["blue"], "blue": good["red"], "circle.": good["red"]}
    swapped["and"] = cell_map(LEFT_CELLS + RIGHT_CELLS, 200.0, 5.0)
    values = score_explanation(explanation(WORDS, swapped), probe)
    assert _by(values, "pointing_game")[None] == 0.0
    assert _by(values, "energy_in_mask")[None] < 0.1
    assert max(v for k, v in _by(values, "obj_iou").items()) == 0.0
    func = _by(values, "func_iou")
    assert func["and"] == pytest.approx(12 / 16) and func["a"] == 1.0


def test_metrics_needing_masks_are_skipped_without_objects_and_faithfulness_needs_a_scorer(tmp_path):
    exp = explanation(WORDS, _good_maps())
    assert score_explanation(exp, None) == []
    with pytest.raises(MetricError, match="scorer"):
        score_explanation(exp, None, metrics=["deletion_auc"])
    with pytest.raises(MetricError, match="compare_explanations"):
        score_explanation(exp, None, metrics=["sanity"])
    with pytest.raises(MetricError, match="unknown metric"):
        score_explanation(exp, None, metrics=["nope"])


def test_word_classes_and_ambiguous_words_resolved_by_neighbours(tmp_path):
    objects = [ObjectDraft(["red", "square"], box_mask(LEFT_CELLS)), ObjectDraft(["red", "circle"], box_mask(RIGHT_CELLS))]
    probe = two_object_probe_set(tmp_path / "set", objects=objects).probes[0]
    words = ["a", "red", "square", "and", "RED", "circle", "near", "the", "triangle"]
    ctx = ProbeContext(explanation(words, {}), probe, "m", noun_vocabulary={"triangle"})
    cats = {w.label: w.category for w in ctx.words}
    assert cats["red"] == cats["square"] and cats["red#2"] == cats["circle"] and cats["red"] != cats["circle"]
    assert ctx.categories[cats["red"]].objects == (0,) and ctx.categories[cats["circle"]].objects == (1,)
    assert cats["a"] == FUNCTION_WORD and cats["the"] == FUNCTION_WORD and cats["near"] == FUNCTION_WORD
    assert cats["triangle"] == NOUN_WITHOUT_MASK and cats["and"] == FUNCTION_WORD
    alone = ProbeContext(explanation(["red"], {}), probe, "m")
    assert alone.words[0].category > 0 and alone.categories[alone.words[0].category].objects == (0, 1)
    assert ProbeContext(explanation(["sky"], {}), probe, "m").words[0].category == OTHER_WORD


def test_content_box_crops_padding_before_scoring(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    padded = {}
    for word, m in _good_maps().items():
        canvas = np.full((4, 6), 0.0, np.float32)
        canvas[:, 1:5] = m
        canvas[0, 5] = 1000.0  # a peak on the padding must be ignored
        padded[word] = canvas
    exp = explanation(WORDS, padded, default=np.full((4, 6), 0.01, np.float32), grid=(4, 6), content_box=(1, 0, 5, 4))
    assert _by(score_explanation(exp, probe), "pointing_game")[None] == 1.0


def test_pointing_and_energy_by_hand():
    mask = box_mask([(0, 0)])
    assert pointing_hit(cell_map([(0, 0)], 2.0), mask)
    assert not pointing_hit(cell_map([(3, 3)], 2.0), mask)
    assert not pointing_hit(np.ones((4, 4)), mask)  # no peak: a miss
    small = np.zeros((112, 112), bool)
    small[20:36, 20:36] = True  # straddles four cells, covers none of their centres
    assert pointing_hit(cell_map([(1, 1)], 2.0), small) and pointing_hit(cell_map([(0, 0)], 2.0), small)
    assert not pointing_hit(cell_map([(0, 0)], 2.0), small, min_coverage=0.5)
    assert pointing_chance(small, (4, 4)) == 4 / 16 and small.mean() < 4 / 16
    half = np.zeros((112, 112), bool)
    half[:, :14] = True  # left half of column 0
    assert cell_coverage(half, (4, 4))[:, 0].tolist() == [0.5] * 4
    assert energy_in_mask(cell_map([(0, 0)], 1.0), half) == pytest.approx(0.5)
    assert energy_in_mask(np.zeros((4, 4)), half) == 0.0


def test_aggregate_pools_words_and_takes_f1_of_pooled_means(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    good = score_explanation(explanation(WORDS, _good_maps()), probe)
    good_maps = _good_maps()
    bad = dict(good_maps, blue=good_maps["red"], **{"circle.": good_maps["red"]})
    half = score_explanation(explanation(WORDS, bad), probe)
    agg = {v.metric: v.value for v in aggregate_values(good + half)}
    per_word = [v.value for v in good + half if v.metric == "obj_iou" and v.word]
    assert agg["obj_iou"] == pytest.approx(np.mean(per_word))
    assert agg["pointing_game"] == pytest.approx(6 / 8)
    obj, func = agg["obj_iou"], agg["func_iou"]
    assert agg["f1_iou"] == pytest.approx(2 * obj * func / (obj + func))


def test_bad_explanations_are_refused_with_clear_errors(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    exp = explanation(WORDS, _good_maps())
    with pytest.raises(MetricError, match="no maps for method 'tam'"):
        score_explanation(exp, probe, methods=["tam"])
    exp.maps["m"] = exp.maps["m"][:3]
    with pytest.raises(MetricError, match="must be \\[n_tokens=8"):
        score_explanation(exp, probe)
