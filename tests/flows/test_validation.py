"""The great-expectations attribution-table suite: a consistent batch passes; each kind of breakage is
named (a failing batch is validated again with counts and examples for the message)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flows.errors import ValidationFailedError
from flows.validation import validate_attribution_table
from tests.flows.helpers import probe_result


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
    with pytest.raises(ValidationFailedError, match="attribution_table"):
        report.raise_for_failures()


def test_failure_message_counts_and_shows_the_unexpected_values():
    broken = _with_map(probe_result(), 0, -np.ones((4, 4), np.float32))
    report = validate_attribution_table([broken, probe_result("p001")], ("tam", "msea_arc"))
    [failure] = [f for f in report.failures if "non-negative" in f]
    assert "1 unexpected, e.g. [-1.0]" in failure
