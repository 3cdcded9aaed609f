"""The forest plots: each error bar is drawn in its verdict's colour (a per-point colour array made
Plotly log "Invalid color specifier" and draw every bar black), rows keep (method, metric) order."""

from __future__ import annotations

import dataclasses

import pytest

from reports.figures import VERDICT_COLORS, comparison_figure
from tests.reports.factories import make_report_data


@pytest.mark.parametrize("drift", [False, True], ids=["deltas", "drift"])
def test_error_bars_have_their_verdicts_single_colour(drift):
    stored = [c for c in make_report_data(6).comparisons if c.is_drift == drift]
    verdicts = ("pass", "warn", "fail")  # mixed verdicts: the case that broke
    comparisons = [dataclasses.replace(c, verdict=verdicts[i % 3]) for i, c in enumerate(stored)]
    assert len({c.verdict for c in comparisons}) >= 2
    figure = comparison_figure(comparisons, drift=drift)
    points = [t for t in figure["data"] if "error_x" in t]
    assert sum(len(t["x"]) for t in points) == len(comparisons)
    for trace in points:
        colour = trace["marker"]["color"]
        assert isinstance(colour, str) and trace["error_x"]["color"] == colour
        assert {row[0] for row in trace["customdata"]} == {v for v, c in VERDICT_COLORS.items() if c == colour}
    labels = [f"{c.method} / {c.metric}" for c in sorted(comparisons, key=lambda c: (c.method, c.metric))]
    assert list(figure["layout"]["yaxis"]["categoryarray"]) == labels
