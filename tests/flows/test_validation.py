"""The great-expectations suites: a valid folder/table passes; each kind of breakage is named."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from flows.errors import ValidationFailedError
from flows.validation import validate_attribution_table, validate_probe_manifest
from tests.flows.helpers import probe_result, rewrite_manifest, write_probe_set


def test_valid_probe_set_passes(tmp_path):
    report = validate_probe_manifest(write_probe_set(tmp_path / "set"))
    assert report.success, report.failures
    assert report.n_rows == 3


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda root: rewrite_manifest(root, lambda e: e[1].__setitem__("id", "p000")), "probe ids are unique"),
        (lambda root: (root / "images" / "p001.png").unlink(), "image file exists"),
        (lambda root: rewrite_manifest(root, lambda e: e[0].__setitem__("image", "../outside.png")),
         "image path stays inside the folder"),
        (lambda root: Image.fromarray(np.zeros((10, 12), np.uint8)).save(root / "masks" / "p002_0.png"),
         "mask width equals image width"),
        (lambda root: (root / "masks" / "p000_0.png").unlink(), "mask file exists"),
        (lambda root: rewrite_manifest(root, lambda e: e[2]["objects"][0].__setitem__("words", [])),
         "each object names at least one word"),
    ],
)
def test_broken_probe_set_names_the_failing_expectation(tmp_path, breakage, expected):
    root = write_probe_set(tmp_path / "set")
    breakage(root)
    report = validate_probe_manifest(root)
    assert not report.success
    assert any(expected in failure for failure in report.failures), report.failures
    with pytest.raises(ValidationFailedError, match="probe_manifest"):
        report.raise_for_failures()


def test_unparseable_manifest_is_reported_with_its_line(tmp_path):
    root = write_probe_set(tmp_path / "set")
    with (root / "probes.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValidationFailedError, match="line 4"):
        validate_probe_manifest(root)


def test_consistent_attribution_table_passes():
    report = validate_attribution_table([probe_result("p000"), probe_result("p001", n_tokens=2)], ("tam", "msea_arc"))
    assert report.success, report.failures
    assert report.n_rows == (3 + 2) * 2


def _with_map(result, index, new_map):
    maps = list(result.maps)
    maps[index] = dataclasses.replace(maps[index], map=new_map)
    return dataclasses.replace(result, maps=maps)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: _with_map(r, 0, np.full((4, 4), np.nan, np.float32)), "maps are finite"),
        (lambda r: _with_map(r, 1, -np.ones((4, 4), np.float32)), "maps are non-negative"),
        (lambda r: _with_map(r, 2, np.ones((5, 4), np.float32)), "grid height consistent"),
        (lambda r: dataclasses.replace(r, maps=r.maps[:-1]), "one row per generated token x method"),
        (lambda r: dataclasses.replace(r, maps=r.maps + r.maps[:1]), "no duplicate"),
        (lambda r: dataclasses.replace(r, maps=[]), "has no maps"),
        (lambda r: dataclasses.replace(r, maps=[m for m in r.maps if m.method == "tam"]), "every method for each token"),
    ],
)
def test_broken_attribution_table_names_the_failing_expectation(edit, expected):
    report = validate_attribution_table([edit(probe_result())], ("tam", "msea_arc"))
    assert not report.success
    assert any(expected in failure for failure in report.failures), report.failures
