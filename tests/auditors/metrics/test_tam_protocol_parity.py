"""Parity of the TAM evaluation pieces with the reference fixtures (`eval_metrics` cases).

The fixture folder is `tests/auditors/fixtures/tam_reference` (MLLM_AUDIT_TAM_FIXTURES overrides it).
A missing folder is a failure, not a skip: without it the protocol is untested.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from auditors.metrics.tam_protocol import (
    evaluate_caption,
    function_word_score,
    otsu_binarise,
    overlap_scores,
    pool,
    resize_to_mask,
)
from tests.auditors.tam_fixtures import tam_fixture_dir


def _fixture_dir() -> Path:
    folder = tam_fixture_dir()
    assert (folder / "fixtures.json").is_file(), f"TAM reference fixtures not found at {folder}"
    return folder


def _eval_cases() -> list[tuple[str, dict, dict]]:
    folder = _fixture_dir()
    index = json.loads((folder / "fixtures.json").read_text())
    found = []
    for file_name, entry in index["files"].items():
        if entry.get("kind") == "eval_metrics":
            found.append((file_name, entry, index))
    assert found, "fixtures.json lists no eval_metrics file"
    return found


def _cases():
    for file_name, entry, _ in _eval_cases():
        for case in entry["cases"]:
            yield pytest.param(file_name, case, id=f"{file_name}-c{case['case']}")


def _load(file_name: str):
    return np.load(_fixture_dir() / file_name)


def _category_masks(mask: np.ndarray) -> dict[int, np.ndarray]:
    return {int(c): mask == c for c in np.unique(mask) if c != 0}


@pytest.mark.parametrize("file_name,case", list(_cases()))
def test_resize_and_otsu_parity(file_name, case):
    data = _load(file_name)
    c = case["case"]
    maps, mask = data[f"c{c}_maps"], data[f"c{c}_mask"]
    assert list(maps.shape[1:]) == case["map_shape"] and list(mask.shape) == case["mask_shape"]
    thresholds = data[f"c{c}_otsu_threshold"]
    for k, token in enumerate(data[f"c{c}_resized_token_index"]):
        resized = resize_to_mask(maps[token], mask.shape)
        np.testing.assert_array_equal(resized, data[f"c{c}_resized_maps"][k])
        threshold, binary = otsu_binarise(resized)
        assert threshold == thresholds[token]
        np.testing.assert_array_equal(binary, data[f"c{c}_otsu_binary"][k])


@pytest.mark.parametrize("file_name,case", list(_cases()))
def test_caption_evaluation_parity(file_name, case):
    data = _load(file_name)
    c = case["case"]
    maps, mask = data[f"c{c}_maps"], data[f"c{c}_mask"]
    result = evaluate_caption(
        maps, _category_masks(mask), mask.shape, case["word_token_groups"], case["word_labels"]
    )
    np.testing.assert_allclose(result.obj_iou, data[f"c{c}_obj_iou"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.precision, data[f"c{c}_precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.recall, data[f"c{c}_recall"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.func_iou, data[f"c{c}_func_iou"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.obj_iou, case["obj_iou"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.func_iou, case["func_iou"], rtol=0, atol=1e-12)
    # every thresholded token of the reference was thresholded here, with the same t
    expected = data[f"c{c}_otsu_threshold"]
    for token, value in enumerate(expected):
        if np.isnan(value):
            assert token not in result.otsu_thresholds
        else:
            assert result.otsu_thresholds[token] == value


def test_pooled_aggregate_and_f1_parity():
    for file_name, entry, _ in _eval_cases():
        data = _load(file_name)
        evaluations = []
        for case in entry["cases"]:
            c = case["case"]
            mask = data[f"c{c}_mask"]
            evaluations.append(
                evaluate_caption(
                    data[f"c{c}_maps"], _category_masks(mask), mask.shape, case["word_token_groups"], case["word_labels"]
                )
            )
        pooled = pool(evaluations)
        expected = entry["aggregate"]["full_precision"]
        assert pooled.obj_iou == pytest.approx(expected["Obj-IoU"], abs=1e-12)
        assert pooled.func_iou == pytest.approx(expected["Func-IoU"], abs=1e-12)
        assert pooled.f1_iou == pytest.approx(expected["F1-IoU"], abs=1e-12)
        assert pooled.precision == pytest.approx(expected["Precision"], abs=1e-12)
        assert pooled.recall == pytest.approx(expected["Recall"], abs=1e-12)


def test_iou_precision_recall_and_function_word_score_by_hand():
    predicted = np.zeros((4, 4), bool)
    predicted[:2, :2] = True  # 4 pixels
    truth = np.zeros((4, 4), bool)
    truth[1:3, 1:3] = True  # 4 pixels, 1 shared
    assert overlap_scores(predicted, truth) == pytest.approx((1 / 7, 1 / 4, 1 / 4))
    assert overlap_scores(np.zeros((2, 2), bool), truth[:2, :2]) == (0.0, 0.0, 0.0)
    token_map = np.array([[0, 10], [20, 30]], np.uint8)
    assert function_word_score([token_map, token_map], 20.0) == 0.5  # strict: 20 is not below 20


def test_quantisation_keeps_reference_maps_and_scales_others_per_answer():
    from auditors.metrics.tam_protocol import to_uint8_maps

    reference = np.array([[[0, 51], [200, 255]]], np.float32)
    np.testing.assert_array_equal(to_uint8_maps(reference), reference.astype(np.uint8))
    normalised = (np.arange(256, dtype=np.float32) / np.float32(255.0)).reshape(1, 16, 16)
    np.testing.assert_array_equal(to_uint8_maps(normalised).ravel(), np.arange(256))  # exact k/255 -> k
    raw = np.array([[[0.0, 5.0]], [[0.0, 500.0]]])  # logit units: one scale for the whole answer
    assert to_uint8_maps(raw).tolist() == [[[0, 2]], [[0, 255]]]
    assert to_uint8_maps(np.full((1, 2, 2), np.nan)).max() == 0
