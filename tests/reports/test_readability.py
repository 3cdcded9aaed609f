"""The report read in a minute: headline first, checks grouped by metric, warns folded, a probe's
title naming at most three changes, history in version order, counts apart from durations."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from html import escape

from comparison.rules import VERDICT_ORDER
from reports import HistoryEntry, build_report
from reports.banner import banner, checks_by_metric
from reports.data import version_sort_key
from reports.gallery import TOP_CHANGES
from reports.sections import lineage_section
from tests.reports.factories import T0, make_report_data


def _data_block(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1))


def _banner_html(html: str) -> str:
    return re.search(r'<header id="verdict-banner".*?</header>', html, re.S).group(0)


def test_the_banner_opens_with_the_headline_and_groups_the_failed_checks_by_metric(tmp_path):
    data = make_report_data(6)
    verdict = data.verdict
    head = _banner_html(build_report(data, tmp_path).html.read_text(encoding="utf-8"))

    first = re.search(r"<header[^>]*>\s*<(\w+)[^>]*>(.*?)</\1>", head, re.S)
    assert first.group(1) == "h1" and escape(verdict.headline) in first.group(2)  # before anything else
    assert first.group(2).index("FAIL") < first.group(2).index(escape(verdict.headline))

    visible, folded = head.split('<details id="more-reasons">')
    groups = re.findall(r'<li class="check-group verdict-(\w+)" data-metric="([^"]+)">(.*?)</li>', visible, re.S)
    failed = [c for c in verdict.comparisons if c.verdict == "fail"]
    assert sorted(m for _, m, _ in groups) == sorted({c.metric for c in failed})  # one line per metric
    assert {v for v, _, _ in groups} == {"fail"}
    for _, metric, line in groups:  # each line names every method that failed it
        assert {c.method for c in failed if c.metric == metric} == set(re.findall(r"<b>(\w+)</b>", line))
    assert len(groups) < len(failed)  # grouping shortened the list: two methods failed the same metrics
    assert "<li>" + escape(verdict.reasons[0]) not in visible  # no per-check sentence repeated

    warned = [c for c in verdict.comparisons if c.verdict == "warn"]
    assert warned and all(f'data-metric="{c.metric}"' in folded for c in warned)
    counted = f"{len(warned)} check{'' if len(warned) == 1 else 's'} too close to call (warn)"
    assert counted in folded and "notes on the comparison" in folded
    assert escape(verdict.reasons[-1]) in folded  # the words sentence, folded with the warns


def test_a_warn_verdict_shows_its_warns_and_a_pass_verdict_hides_reported_only_failures():
    data = make_report_data(4)
    warns = tuple(dataclasses.replace(c, verdict="warn") for c in data.verdict.comparisons)
    data.verdict = dataclasses.replace(data.verdict, verdict="warn", comparisons=warns)
    shown = banner(data).split("<details")[0]
    assert 'id="deciding-checks"' in shown and "verdict-warn" in shown

    ignored = tuple(dataclasses.replace(c, verdict="fail" if c.is_drift else "pass", counts=not c.is_drift)
                    for c in data.verdict.comparisons)
    data.verdict = dataclasses.replace(data.verdict, verdict="pass", comparisons=ignored)
    visible, folded = banner(data).split('<details id="more-reasons">')
    assert 'id="deciding-checks"' not in visible
    assert "reported only" in folded and "map_drift_spearman" in folded


def test_groups_are_ordered_worst_first_and_split_by_verdict():
    checks = make_report_data(6).verdict.comparisons
    groups = checks_by_metric(checks)
    assert [VERDICT_ORDER[g.verdict] for g in groups] == sorted((VERDICT_ORDER[g.verdict] for g in groups), reverse=True)
    assert sum(len(g.checks) for g in groups) == sum(1 for c in checks if c.verdict != "pass")
    keys = [(g.metric, g.verdict) for g in groups]
    assert len(keys) == len(set(keys))


def test_a_probe_title_names_at_most_three_changes_worst_first_and_the_table_holds_the_rest(tmp_path):
    data = make_report_data(6)
    probes = _data_block(build_report(data, tmp_path).html.read_text(encoding="utf-8"))["gallery"]["probes"]
    flags = data.verdict.probe_flags()
    assert any(len(f) > TOP_CHANGES for f in flags.values())  # the fixture has more than three to choose from
    for p in probes:
        mine = flags.get(p["key"], ())
        worst = [f for f in mine if f.check_verdict == mine[0].check_verdict] if mine else []
        assert len(p["top"]) == min(TOP_CHANGES, len(worst))
        assert all(text.startswith(f"{f.method} {f.metric} ") and verdict == f.check_verdict
                   for (text, verdict), f in zip(p["top"], worst))
        assert p["n_flags"] == len(mine)
        flagged_rows = [r for r in p["rows"] if r[4] is not None]
        assert [(r[0], r[1]) for r in flagged_rows] == [(f.method, f.metric) for f in mine]
        assert p["rows"][:len(flagged_rows)] == flagged_rows  # flagged rows lead the table
        assert {r[1] for r in p["rows"]} >= {"obj_iou", "pointing_game", "map_drift_spearman"}
    assert [p["key"] for p in probes][0] in flags  # a probe beyond a failing check's limit comes first


def _history(data, versions_in_audit_order: list[str]) -> list[HistoryEntry]:
    aggregates = tuple(m for m in data.metrics if m.probe_key is None)
    return [HistoryEntry(run_id=i + 1, model_version=v, status="completed", started_at=T0 + timedelta(hours=i),
                         finished_at=None, probe_set="shapes-probes@1.0", verdict=None, aggregates=aggregates)
            for i, v in enumerate(versions_in_audit_order)]


def test_history_table_and_chart_are_in_version_order(tmp_path):
    data = make_report_data(2)
    data = dataclasses.replace(data, history=_history(data, ["2", "10", "1", "2"]))
    html = build_report(data, tmp_path).html.read_text(encoding="utf-8")
    section = re.search(r'<section id="history">.*?</section>', html, re.S).group(0)
    rows = re.findall(r"<tr><td><span[^>]*>v(\w+)</span></td><td>(\d+)</td>", section)
    assert rows == [("1", "3"), ("2", "1"), ("2", "4"), ("10", "2")]  # by version, then when audited
    chart = _data_block(html)["figures"]["fig-history"]
    order = ["v1", "v2 (run 1)", "v2 (run 4)", "v10"]
    assert chart["layout"]["xaxis"]["categoryarray"] == order
    assert all(trace["x"] == order for trace in chart["data"])
    panels = {a["text"] for a in chart["layout"]["annotations"]}
    assert panels == {"f1_iou"}  # one panel per metric, one line per method inside it
    assert sorted(t["name"] for t in chart["data"]) == ["msea_arc", "tam"]


def test_versions_sort_naturally():
    assert sorted(["10", "2", "1", "v1.10", "v1.2", "beta"], key=version_sort_key) == [
        "1", "2", "10", "beta", "v1.2", "v1.10"]


def test_timings_put_counts_apart_from_durations():
    html = lineage_section(dataclasses.replace(make_report_data(1).lineage, timings={
        "explain_s": 30.8, "store_s": 3.0, "worker_processes": 1.0, "batches_in_flow_process": 13.0}))
    durations, counts = re.findall(r"<table.*?</table>", html.split("Timings of this audit run")[1], re.S)
    assert "<th>seconds</th>" in durations and "worker_processes" not in durations
    assert re.findall(r"<tr><td>(\w+)</td><td>([\d.]+)</td></tr>", durations) == [("explain", "30.8"), ("store", "3.0")]
    assert "<th>seconds</th>" not in counts
    assert re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td></tr>", counts) == [
        ("batches_in_flow_process", "13"), ("worker_processes", "1")]


def test_the_page_lists_its_sections_under_the_banner(tmp_path):
    html = build_report(make_report_data(2), tmp_path).html.read_text(encoding="utf-8")
    nav = re.search(r'</header><nav class="contents"[^>]*>(.*?)</nav><main>', html, re.S).group(1)
    targets = re.findall(r'<a href="#([^"]+)">', nav)
    assert targets == re.findall(r'<section id="([^"]+)"><h2>', html)  # every section, in page order
    assert targets[:4] == ["summary", "comparisons", "metrics", "gallery"] and "lineage" in targets
    assert "<title>FAIL \u2013 mllm-audit: demo-captioner v2 (run 12)</title>" in html  # the tab says it first


def test_the_intervals_are_labelled_with_the_confidence_the_verdict_was_judged_at(tmp_path):
    data = make_report_data(6)
    data.verdict = dataclasses.replace(data.verdict, settings={**data.verdict.settings, "confidence": 0.9})
    html = build_report(data, tmp_path).html.read_text(encoding="utf-8")
    assert "its 90% CI" in _banner_html(html) and "<th>90% CI</th>" in html and "with a 90% CI" in html
    assert "(mean, 90% CI)" in html  # the comparison chart's axis
    for label in ("its 95% CI", "<th>95% CI</th>", "with a 95% CI", "(mean, 95% CI)"):
        assert label not in html  # the labels follow the setting (the stored sentences carry their own)
