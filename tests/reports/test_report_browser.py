"""The report in a real headless Chromium: no console errors, a working token slider, a
screenshot, and model text that is shown as text and never runs.

Chromium missing: skipped locally, a FAILURE when CI=true (scripts/ci/chromium.sh installs it).
Screenshots land in the test's tmp_path and, when MLLM_AUDIT_ARTIFACTS is set, are copied there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from reports import ReportOptions, build_report
from reports.build import gallery_entries
from tests.reports.cdp import Browser
from tests.reports.factories import make_report_data

pytestmark = pytest.mark.browser

XSS_PROMPT = '<script>window.__xss=1</script> "quoted" \'single\' & <img src=x onerror="window.__xss=2">'
XSS_TOKENS = ["<script>window.__xss=3</script>", "<img src=x onerror=window.__xss=4>", '"q"']
READY = ("(() => { const v = document.getElementById('viewer');"
         " return !!(v && v.data && v.data.length && v._fullLayout); })()")


def _keep(path: Path) -> None:
    target = os.environ.get("MLLM_AUDIT_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


# Every chart's mode bar (Plotly's toolbar) and what it could hide: legends, colour bars, subplot
# and axis titles, each as [chart id, what, left, top, right, bottom].
CHART_BOXES = """JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(plot => {
  const box = (what, el) => { const r = el.getBoundingClientRect();
    return [plot.id, what, r.left, r.top, r.right, r.bottom]; };
  const bar = plot.querySelector('.modebar');
  return (bar ? [box('modebar', bar)] : []).concat(
    Array.from(plot.querySelectorAll('g.legend')).map(el => box('legend', el)),
    Array.from(plot.querySelectorAll('g.colorbar')).map(el => box('colorbar', el)),
    Array.from(plot.querySelectorAll('g.annotation')).map(el => box('title ' + el.textContent, el)),
    Array.from(plot.querySelectorAll('.g-xtitle, .g-ytitle')).map(el => box('axis title', el)));
}))"""


def _open(browser: Browser, html: Path, fragment: str = "", width: int = 1400):
    page = browser.new_page()
    page.send("Emulation.setDeviceMetricsOverride",
              {"width": width, "height": 1100, "deviceScaleFactor": 1, "mobile": False})
    page.navigate(html.resolve().as_uri() + fragment)
    page.wait_for(READY)
    browser.pump(0.5)
    return page


def _heat(page, trace: int):
    return page.evaluate(
        f"JSON.stringify(document.getElementById('viewer').data[{trace}].z)")


def _expected_start_positions(data) -> list[str]:
    """Per gallery row, the slider position of the token whose map changed most (see build.py)."""
    entries, _ = gallery_entries(data, ReportOptions())
    starts = []
    for e in entries:
        positions = sorted({t for side in e["c"]["maps"].values() for t in side["t"]})
        starts.append(str(positions.index(e["focus"]) if e["focus"] is not None else 0))
    return starts


def test_report_renders_without_errors_and_slider_moves_the_heatmap(browser, tmp_path):
    data = make_report_data(6)
    starts = _expected_start_positions(data)
    assert any(s != "0" for s in starts)  # the fixture has probes whose change is not on token 0
    paths = build_report(data, tmp_path)
    page = _open(browser, paths.html)
    assert page.errors() == []
    n_traces = page.evaluate("document.getElementById('viewer').data.length")
    assert n_traces == 2 * 2 * 2  # 2 methods x 2 versions x (image + heatmap)

    # The heatmap covers exactly the image: cell edges at -0.5 and width-0.5 (pixel centres)
    geometry = json.loads(page.evaluate(
        "(() => { const d = document.getElementById('viewer').data;"
        " return JSON.stringify({x0: d[1].x0, dx: d[1].dx, y0: d[1].y0, dy: d[1].dy,"
        " cols: d[1].z[0].length, rows: d[1].z.length, src: d[0].source.slice(0, 11)}); })()"))
    assert geometry["src"] == "data:image/"
    assert geometry["x0"] - geometry["dx"] / 2 == pytest.approx(-0.5)
    assert geometry["x0"] + geometry["dx"] * (geometry["cols"] - 0.5) == pytest.approx(224 - 0.5)
    assert geometry["y0"] + geometry["dy"] * (geometry["rows"] - 0.5) == pytest.approx(224 - 0.5)

    # The title is the probe's name; at most three changes under it, the rest flagged in its table
    first = gallery_entries(data, ReportOptions())[0][0]
    assert page.evaluate("document.getElementById('probe-title').textContent") == f"Probe {first['key']}"
    named = page.evaluate("Array.from(document.querySelectorAll('#probe-changes li')).map(li => li.textContent)")
    assert 1 <= len([n for n in named if not n.endswith("in the table below")]) <= 3
    assert named[-1] == f"{first['n_flags'] - len(first['top'])} more flagged in the table below"
    assert page.evaluate("document.querySelectorAll('#probe-metrics tr.flagged').length") == first["n_flags"]

    # The probe opens on the token whose map changed most between the versions
    slider_value = "document.getElementById('token-slider').value"
    assert page.evaluate(slider_value) == starts[0]
    page.evaluate("document.getElementById('token-slider').focus()")
    page.press("Home", 36)
    browser.pump(0.3)
    assert page.evaluate(slider_value) == "0"

    before_cand, before_base = _heat(page, 1), _heat(page, 3)
    label_before = page.evaluate("document.getElementById('token-label').textContent")
    for _ in range(3):
        page.press("ArrowRight", 39)
    browser.pump(0.5)
    assert page.evaluate("document.getElementById('token-slider').value") == "3"
    after_cand, after_base = _heat(page, 1), _heat(page, 3)
    assert after_base != before_base  # baseline's map follows the word: it moved to object 2
    assert after_cand != before_cand or after_base != before_base
    label_after = page.evaluate("document.getElementById('token-label').textContent")
    assert label_after != label_before and "token 4/" in label_after
    assert page.evaluate("document.querySelector('#answer-cand .tok.current').textContent") == " and"

    # Select another probe from the list: the image and maps change
    page.evaluate("document.getElementById('probe-row-2').click()")
    browser.pump(0.3)
    assert page.evaluate(slider_value) == starts[2]  # again on its most-changed token
    assert page.evaluate("document.querySelector('#probe-list tr.selected').id") == "probe-row-2"

    page.evaluate("document.getElementById('gallery').scrollIntoView()")
    browser.pump(0.5)
    shot = page.screenshot(tmp_path / "report-gallery.png")
    _keep(shot)
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.errors() == [] and page.console_warnings() == []


def test_model_text_is_shown_as_text_and_never_runs(browser, tmp_path):
    data = make_report_data(3, prompts={0: XSS_PROMPT}, answers={0: XSS_TOKENS})
    data.warnings.append('<img src=x onerror="window.__xss=5">')
    # registry strings reach Plotly titles and legends too (Plotly understands some HTML tags)
    data.model_version = dataclasses.replace(
        data.model_version, version="2<img src=x onerror=window.__xss=6><b>bold</b>")
    paths = build_report(data, tmp_path)
    page = _open(browser, paths.html)
    page.evaluate("location.hash = '#probe=p0000'")
    browser.pump(0.5)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.getElementById('probe-prompt').textContent") == XSS_PROMPT
    tokens = page.evaluate(
        "Array.from(document.querySelectorAll('#answer-cand .tok')).map(s => s.textContent)")
    assert tokens[0] == XSS_TOKENS[0] and tokens[1] == " " + XSS_TOKENS[1]
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("document.querySelectorAll('#probe-view script, #warnings script').length") == 0
    assert XSS_PROMPT.split(" ")[0] in page.evaluate("document.body.innerText")
    titles = page.evaluate(
        "Array.from(document.querySelectorAll('#viewer .annotation-text')).map(t => t.textContent)")
    assert any("<img src=x onerror=window.__xss=6><b>bold</b>" in t for t in titles), titles
    assert page.evaluate("document.querySelectorAll('#viewer b, #fig-distributions b').length") == 0
    page.evaluate("document.getElementById('token-slider').focus()")
    page.press("ArrowRight", 39)
    browser.pump(0.3)
    assert page.evaluate("typeof window.__xss") == "undefined"
    _keep(page.screenshot(tmp_path / "report-xss.png"))
    assert page.errors() == []


def test_split_gallery_pages_open_and_link_to_probes(browser, tmp_path):
    paths = build_report(make_report_data(8), tmp_path,
                         ReportOptions(size_budget_bytes=5_300_000, page_size=3))
    assert len(paths.gallery_pages) == 2
    page = _open(browser, paths.gallery_pages[-1])
    assert page.errors() == []
    keys = page.evaluate(
        "Array.from(document.querySelectorAll('#probe-list tbody tr .probe-key'))"
        ".map(td => td.textContent)")
    assert 1 <= len(keys) <= 3
    page = _open(browser, paths.gallery_pages[-1], f"#probe={keys[-1]}")  # a link from page 1
    title = page.evaluate("document.getElementById('probe-title').textContent")
    assert title.startswith(f"Probe {keys[-1]}")
    assert page.errors() == []


def test_reports_without_baseline_or_maps_open_cleanly(browser, tmp_path):
    lone = build_report(make_report_data(2, with_baseline=False), tmp_path / "lone")
    page = _open(browser, lone.html)
    assert page.evaluate("document.getElementById('viewer').data.length") == 2 * 2  # 2 methods
    assert page.evaluate("getComputedStyle(document.getElementById('answer-base-row')).display") \
        == "none"
    assert page.errors() == []

    empty = make_report_data(2)
    empty.maps, empty.baseline_maps = [], []
    page = _open(browser, build_report(empty, tmp_path / "empty").html)
    assert page.evaluate("document.getElementById('token-slider').disabled") is True
    assert page.evaluate("document.getElementById('token-label').textContent") \
        == "no maps for this probe"
    assert page.errors() == []


def _overlaps(boxes: list[list]) -> list[str]:
    bars = {b[0]: b for b in boxes if b[1] == "modebar"}
    out = []
    for chart, what, left, top, right, bottom in boxes:
        bar = bars.get(chart)
        if what != "modebar" and bar and left < bar[4] and bar[2] < right and top < bar[5] and bar[3] < bottom:
            out.append(f"{chart}: {what} under the mode bar")
    return out


@pytest.mark.parametrize("width", [1400, 1024])
def test_no_legend_or_title_sits_under_a_mode_bar_and_the_console_stays_quiet(browser, tmp_path, width):
    paths = build_report(make_report_data(6), tmp_path)
    page = _open(browser, paths.html, width=width)
    boxes = json.loads(page.evaluate(CHART_BOXES))
    charts = {b[0] for b in boxes if b[1] == "modebar"}
    assert charts >= {"fig-distributions", "fig-deltas", "fig-drift", "fig-history", "viewer"}
    assert {b[0] for b in boxes if b[1] == "legend"} >= {"fig-distributions", "fig-deltas", "fig-history"}
    assert all(b[4] > b[2] and b[5] > b[3] for b in boxes if b[1] == "modebar")  # laid out, not collapsed
    assert _overlaps(boxes) == []
    assert page.errors() == [] and page.console_warnings() == []


def test_overlap_check_sees_a_legend_placed_under_the_mode_bar(browser, tmp_path):
    """The check above can fail: the old layout (legend at the top right) is caught."""
    paths = build_report(make_report_data(3), tmp_path)
    page = _open(browser, paths.html)
    page.evaluate("Plotly.relayout('fig-deltas', {'legend.yref': 'paper', 'legend.y': 1.02, "
                  "'legend.yanchor': 'bottom', 'legend.x': 1, 'legend.xanchor': 'right', 'margin.t': 30}) && 0")
    browser.pump(0.5)
    assert "fig-deltas: legend under the mode bar" in _overlaps(json.loads(page.evaluate(CHART_BOXES)))
