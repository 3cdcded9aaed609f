"""Parity of the TAM building blocks and pipeline with the reference implementation's outputs.

The fixture folder is ``tests/auditors/fixtures/tam_reference`` (``MLLM_AUDIT_TAM_FIXTURES`` overrides
it). Every case is discovered from ``fixtures.json`` by its ``kind``, so any folder in
that format works whatever its case names and shapes. A missing folder FAILS (it is the contract
that proves the TAM mode reproduces the reference). Tolerances follow the fixtures' README.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from auditors.core import least_squares_scale, rank_gaussian_filter
from auditors.core.normalise import joint_minmax, to_uint8_truncated
from auditors.core.tam_reference import tam_reference_trace
from tests.auditors.tam_fixtures import tam_fixture_dir as fixture_dir

OUR_KINDS = ("tam_pipeline", "rank_gaussian_filter", "least_squares_scalar", "joint_normalise_rgf_uint8")


def _discover() -> list:
    index = fixture_dir() / "fixtures.json"
    if not index.is_file():
        return [pytest.param(None, None, id="fixtures-missing")]
    files = json.loads(index.read_text())["files"]
    cases = [pytest.param(name, meta, id=f"{meta['kind']}-{name}")
             for name, meta in sorted(files.items()) if meta.get("kind") in OUR_KINDS]
    return cases or [pytest.param(None, None, id="no-cases")]


def _require(name, meta) -> np.lib.npyio.NpzFile:
    if name is None:
        pytest.fail(f"TAM parity fixtures not found: expected {fixture_dir() / 'fixtures.json'} listing cases of "
                    f"kinds {OUR_KINDS}. Set MLLM_AUDIT_TAM_FIXTURES to the fixture folder.")
    return np.load(fixture_dir() / name)


def _case_indices(data, meta: dict, key_prefix: str) -> list[int]:
    if meta.get("cases"):
        return [int(c["index"]) for c in meta["cases"]]
    pattern = re.compile(rf"^{re.escape(key_prefix)}(\d+)$")
    return sorted(int(m.group(1)) for k in data.files if (m := pattern.match(k)))


def assert_uint8_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """uint8 maps: exact, or off by at most 1 on under 1% of the pixels (README tolerance)."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    diff = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
    assert diff.max(initial=0) <= 1, f"{what}: max uint8 difference {diff.max()}"
    assert (diff > 0).mean() < 0.01 if diff.size else True, f"{what}: {(diff > 0).sum()} pixels differ by 1"


def assert_float_close(actual, expected, what: str, atol: float = 1e-5) -> None:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), f"{what}: NaN positions differ"
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], atol=atol, rtol=0, err_msg=what)


def _scores_from_compact_logits(data):
    """Rebuild ``class -> logits at every position`` from the fixture's compact logit storage."""
    class_ids = data["logit_class_ids"].astype(np.int64)
    values = data["logit_values"].astype(np.float32)
    fill = np.float32(data["logit_fill_value"])
    column = {int(c): k for k, c in enumerate(class_ids)}

    def scores(classes: np.ndarray) -> np.ndarray:
        out = np.full((len(classes), values.shape[0]), fill, dtype=np.float32)
        for row, c in enumerate(classes):
            if int(c) in column:
                out[row] = values[:, column[int(c)]]
        return out

    def argmax_at(position: int) -> int:
        row = np.full(int(data["vocab_size"]), fill, dtype=np.float32)
        row[class_ids] = values[position]
        return int(np.argmax(row))

    return scores, argmax_at


def _check_pipeline(data, meta: dict) -> None:
    scores, argmax_at = _scores_from_compact_logits(data)
    prompt_span = tuple(int(v) for v in data["prompt_span"])
    trace = tam_reference_trace(
        token_ids=data["token_ids"], n_input=int(data["n_input"]), vision_span=tuple(data["vision_span"]),
        prompt_span=prompt_span, vision_shape=tuple(data["vision_shape"]), text_tokens=meta["text_tokens"],
        scores_for_classes=scores, first_argmax_class=argmax_at(prompt_span[0]))
    np.testing.assert_array_equal(trace.classes, data["explained_class"])
    np.testing.assert_array_equal(trace.raw_maps, data["raw_maps"])  # exact
    for i, n in enumerate(data["txt_scores_len"]):
        np.testing.assert_array_equal(trace.txt_scores[i], data["txt_scores"][i, :n], err_msg=f"txt_scores[{i}]")
        ctx = data["eci_context_index"][i]
        np.testing.assert_array_equal(trace.eci_context[i], ctx[ctx >= 0], err_msg=f"eci_context[{i}]")
        np.testing.assert_allclose(trace.eci_weights[i], data["eci_weights"][i, : len(ctx[ctx >= 0])],
                                   rtol=1e-6, atol=1e-9, err_msg=f"eci_weights[{i}]")
    np.testing.assert_array_equal(trace.eci_applied, data["eci_applied"])
    applied = data["eci_applied"].astype(bool)  # rows without ECI hold NaN in the fixtures
    assert_float_close(trace.eci_interference[applied], data["eci_interference"][applied], "eci_interference")
    np.testing.assert_allclose(trace.eci_alpha[applied], data["eci_alpha"][applied], rtol=1e-6, atol=1e-12,
                               err_msg="eci_alpha")
    assert_float_close(trace.eci_maps, data["eci_maps"], "eci_maps")
    assert_float_close(trace.norm_maps, data["norm_maps"], "norm_maps")
    assert_float_close(trace.rgf_maps, data["rgf_maps"], "rgf_maps")
    assert_uint8_close(trace.final_maps, data["final_maps"], "final_maps")
    np.testing.assert_array_equal(trace.round_first_record, data["round_first_record"])
    assert_uint8_close(trace.round_maps, data["round_maps"], "round_maps")


def _check_rgf(data, meta: dict) -> None:
    for i in _case_indices(data, meta, "in_"):
        out = rank_gaussian_filter(data[f"in_{i}"])
        assert out.dtype == data[f"out_{i}"].dtype, f"case {i}: dtype {out.dtype} != {data[f'out_{i}'].dtype}"
        assert_float_close(out, data[f"out_{i}"], f"rgf case {i}")
        assert_uint8_close(to_uint8_truncated(out), data[f"out_u8_{i}"], f"rgf uint8 case {i}")


def _check_least_squares(data, meta: dict) -> None:
    expected = data["reference_x"]
    for i in _case_indices(data, meta, "map1_"):
        x = least_squares_scale(data[f"map1_{i}"], data[f"map2_{i}"])
        np.testing.assert_allclose(x, expected[i], rtol=1e-6, atol=1e-12, err_msg=f"least squares case {i}")


def _check_normalise_rgf(data, meta: dict) -> None:
    shapes = {int(c["index"]): tuple(c["vision_shape"]) for c in meta.get("cases", [])}
    for i in _case_indices(data, meta, "img_scores_"):
        expected = data[f"out_{i}"]
        shape = shapes.get(i, expected.shape)
        norm = joint_minmax(data[f"img_scores_{i}"], data[f"txt_scores_{i}"][:-1]).reshape(shape)
        assert_uint8_close(to_uint8_truncated(rank_gaussian_filter(norm)), expected, f"normalise+rgf case {i}")


CHECKS = {"tam_pipeline": _check_pipeline, "rank_gaussian_filter": _check_rgf,
          "least_squares_scalar": _check_least_squares, "joint_normalise_rgf_uint8": _check_normalise_rgf}


@pytest.mark.parametrize(("name", "meta"), _discover())
def test_tam_reference_parity(name, meta):
    data = _require(name, meta)
    CHECKS[meta["kind"]](data, meta)


def test_parity_missing_folder_fails_clearly(tmp_path, monkeypatch):
    """A missing fixture folder must be reported as a failure with a message, never a skip."""
    monkeypatch.setenv("MLLM_AUDIT_TAM_FIXTURES", str(tmp_path / "absent"))
    assert _discover()[0].values == (None, None)
    with pytest.raises(pytest.fail.Exception, match="fixtures not found"):
        _require(None, None)
