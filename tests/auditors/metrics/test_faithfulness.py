"""Deletion / insertion AUC with an injected scorer whose 'model' only looks at one object."""

from __future__ import annotations

import sys
import types

import numpy as np
from PIL import Image

from auditors.metrics import FaithfulnessSettings, replay_scorer, score_explanation
from auditors.metrics.faithfulness import cell_boxes, deletion_insertion_curve, perturbation_series
from tests.auditors.metrics.helpers import LEFT_CELLS, RIGHT_CELLS, box_mask, cell_map, explanation, two_object_probe_set

RED = np.array([220, 30, 30], np.float64)


def red_object_scorer(n_tokens: int):
    """Probability of every answer token = share of the red square's pixels still (nearly) red."""
    mask = box_mask(LEFT_CELLS)
    calls = []

    def score(images):
        calls.append(len(images))
        out = []
        for image in images:
            pixels = np.asarray(image, np.float64)[mask]
            still_red = (np.abs(pixels - RED).sum(axis=1) < 30).mean()
            out.append([still_red] * n_tokens)
        return np.asarray(out)

    score.calls = calls
    return score


def test_cells_tile_the_image_and_series_grows():
    boxes = cell_boxes((100, 50), (3, 4))
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes)
    assert len(boxes) == 12 and area == 100 * 50
    image = Image.new("RGB", (40, 40), (255, 255, 255))
    fill = Image.new("RGB", (40, 40), (0, 0, 0))
    images, fractions = perturbation_series(image, np.arange(16), (4, 4), fill, max_steps=4)
    assert fractions.tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    dark = [float((np.asarray(i) == 0).all(axis=2).mean()) for i in images]
    assert dark == [0, 0.25, 0.5, 0.75, 1.0]


def test_faithful_map_beats_a_misleading_one_on_deletion_and_insertion(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    image = probe.load_image()
    scorer = red_object_scorer(2)
    on_object, elsewhere = cell_map(LEFT_CELLS, 1.0), cell_map(RIGHT_CELLS, 1.0)
    settings = FaithfulnessSettings(max_steps=16)
    f, good = deletion_insertion_curve(scorer, image, on_object, [0], "deletion", settings)
    _, bad = deletion_insertion_curve(scorer, image, elsewhere, [0], "deletion", settings)
    assert good[0] == 1.0 and good[-1] == 0.0 and good[2] == 0.0  # both object cells removed first
    assert np.trapezoid(good, f) < 0.1 < np.trapezoid(bad, f)
    _, good_in = deletion_insertion_curve(scorer, image, on_object, [0], "insertion", settings)
    _, bad_in = deletion_insertion_curve(scorer, image, elsewhere, [0], "insertion", settings)
    assert good_in[0] == 0.0 and good_in[2] == 1.0 and np.trapezoid(good_in, f) > np.trapezoid(bad_in, f)


def test_score_explanation_reports_deletion_and_insertion_per_object_word(tmp_path):
    probe = two_object_probe_set(tmp_path / "set").probes[0]
    words = ["a", "red", "square"]
    exp = explanation(words, {"red": cell_map(LEFT_CELLS, 1.0), "square": cell_map(RIGHT_CELLS, 1.0)})
    scorer = red_object_scorer(len(exp.token_ids))
    values = score_explanation(exp, probe, metrics=["faithfulness"], scorer=scorer,
                               faithfulness=FaithfulnessSettings(max_steps=8))
    deletion = {v.word: v.value for v in values if v.metric == "deletion_auc"}
    insertion = {v.word: v.value for v in values if v.metric == "insertion_auc"}
    assert set(deletion) == {"red", "square", None}
    assert deletion["red"] < deletion["square"] and insertion["red"] > insertion["square"]
    assert scorer.calls == [9, 9, 9, 9]  # one batch of max_steps + 1 images per word and mode
    assert all(v.direction == "lower_is_better" for v in values if v.metric == "deletion_auc")


def test_replay_scorer_calls_the_replay_contract(monkeypatch):
    seen = {}

    def answer_token_probs(model, processor, images, prompt, answer_token_ids):
        seen.update(model=model, processor=processor, n=len(images), prompt=prompt, ids=answer_token_ids)
        return np.full((len(images), len(answer_token_ids)), 0.5)

    monkeypatch.setitem(sys.modules, "auditors.replay", types.SimpleNamespace(answer_token_probs=answer_token_probs))
    scorer = replay_scorer("M", "P", "Describe.", (4, 5, 6))
    out = scorer([Image.new("RGB", (8, 8))] * 3)
    assert out.shape == (3, 3) and seen == {"model": "M", "processor": "P", "n": 3, "prompt": "Describe.", "ids": [4, 5, 6]}
