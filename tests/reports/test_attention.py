"""The report's "which words, and where the attention went" section, from a stored verdict made
with the probe set's layout: a known shortcut's region is outlined, its cue lights up in the
colour class's attention shift, and the word-group table names the first colour word."""

from __future__ import annotations

import dataclasses
import json
import re

from comparison import RegressionConfig, compare_runs
from reports import build_report
from reports.attention import attention_section, locus_figure, shift_figure
from tests.comparison.scenes import CUE_CELL, layout, probe_plan, run, slot_metrics
from tests.reports.factories import make_report_data

PLANS = probe_plan(40, seed=11)


def _verdict():
    def precision(wrong: bool):
        return slot_metrics(PLANS, "answer_precision", lambda plan, slot: 0.0 if wrong and slot == "colour@1" else 1.0)
    return compare_runs(run(12, PLANS, "shortcut", 2, metrics=precision(True)),
                        run(11, PLANS, "honest", 1, metrics=precision(False)),
                        RegressionConfig(), layout(PLANS, cue_mode="conflicting"))


def test_the_section_shows_groups_locus_shift_and_counterfactuals(tmp_path):
    data = dataclasses.replace(make_report_data(4), verdict=_verdict())
    html = attention_section(data)
    assert html.startswith('<section id="attention">')
    assert "the first colour word" in html and 'id="fig-locus"' in html and 'id="fig-shift"' in html
    assert "Does the model name what it looks at?" in html and "conflicting" in html
    paths = build_report(data, tmp_path)
    page = paths.html.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    figures = json.loads(block)["figures"]
    assert {"fig-locus", "fig-shift"} <= set(figures)


def test_the_locus_figure_outlines_the_failing_region_in_red():
    verdict = _verdict()
    figure = locus_figure(verdict.locus, None)
    red = [s for s in figure["layout"]["shapes"] if s["line"]["color"] == "#d62728"]
    assert len(red) == 1  # the candidate's region; the baseline's passes (dotted grey)
    assert (red[0]["x0"], red[0]["y0"]) == (CUE_CELL[1] - 0.5, CUE_CELL[0] - 0.5)


def test_the_shift_figure_has_one_heatmap_per_method_and_group_and_marks_the_cue():
    shifts = _verdict().attention_shift
    figure = shift_figure(shifts)
    heatmaps = [t for t in figure["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == len(shifts) == 3  # tam: object words, colour, shape
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles == ["tam | object words", "tam | colour", "tam | shape"]  # the traces in the same order
    assert heatmaps[1]["text"][CUE_CELL[0]][CUE_CELL[1]] == "*"  # the colour words gained the cue's cell


def test_no_verdict_or_no_findings_no_section():
    assert attention_section(dataclasses.replace(make_report_data(3), verdict=None)) == ""
    assert attention_section(make_report_data(3)) == ""  # judged without a layout: nothing to show
