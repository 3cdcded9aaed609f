"""The forest plots' error bars have one colour (a per-point colour array made Plotly log "Invalid
color specifier" and draw every bar black); checked without a browser, so it also runs where
Chromium is missing (the browser test fails on the console warning itself)."""

from __future__ import annotations

import dataclasses

import pytest

from reports.figures import comparison_figure
from tests.reports.factories import make_report_data


@pytest.mark.parametrize("drift", [False, True], ids=["deltas", "drift"])
def test_error_bars_have_a_single_colour_whatever_the_verdicts(drift):
    stored = [c for c in make_report_data(6).comparisons if c.is_drift == drift]
    verdicts = ("pass", "warn", "fail")  # mixed verdicts: the case that logged the warning
    comparisons = [dataclasses.replace(c, verdict=verdicts[i % 3]) for i, c in enumerate(stored)]
    figure = comparison_figure(comparisons, drift=drift)
    bars = [t["error_x"] for t in figure["data"] if "error_x" in t]
    assert bars and all(isinstance(bar["color"], str) for bar in bars)
