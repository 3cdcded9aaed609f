"""The report's "which words, and where the attention went" section, from the stored verdict.

What it shows (all of it stored with the verdict, `comparison.findings`, so it needs only the
database):
- the word-group checks (which kind of word got worse: "the first colour word"), failing ones first;
- the fixed-locus grid: per method and version, how far off-object peaks in each image region exceed
  what the maps' spread predicts, drawn over a probe image, the flagged region outlined;
- the mean map difference, candidate minus baseline, per word class, in image coordinates: a spot
  the candidate's maps gained probe after probe is a cue; an honest retrain shows noise;
- the counterfactual probes: which word the answers name for a cue and where those maps peak.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from comparison.findings import AttentionShift, CounterfactualSummary, LocusFinding
from comparison.groups import describe_group
from comparison.locus import ALL_OBJECT_WORDS
from comparison.rules import VERDICT_ORDER
from reports.data import ReportData
from reports.encode import data_uri
from reports.figures import plotly_text, to_plain
from reports.page import esc, pill, table

SIGNIFICANT_SE = 3.0  # a cell whose mean change exceeds 3 standard errors is marked
_DIVERGING = "RdBu_r"


def _order(groups: list[str]) -> list[str]:
    return sorted(set(groups), key=lambda g: (g != ALL_OBJECT_WORDS, g))


def _square(fig: go.Figure, r: int, c: int, n_cols: int) -> None:
    """Image coordinates: row 0 at the top, cells square."""
    index = r * n_cols + c + 1
    fig.update_yaxes(autorange="reversed", scaleanchor=f"x{'' if index == 1 else index}", constrain="domain",
                     row=r + 1, col=c + 1)
    fig.update_xaxes(constrain="domain", row=r + 1, col=c + 1)


def shift_figure(shifts: tuple[AttentionShift, ...]) -> dict[str, Any] | None:
    """Heatmaps of the mean map change per method (rows) and word group (columns)."""
    if not shifts:
        return None
    methods = sorted({s.method for s in shifts})
    groups = _order([s.group for s in shifts])
    by_key = {(s.method, s.group): s for s in shifts}
    peak = max((abs(v) for s in shifts for row in s.mean for v in row), default=0.0) or 1.0
    titles = [plotly_text(f"{m} | {g}") for m in methods for g in groups]
    fig = make_subplots(rows=len(methods), cols=len(groups), subplot_titles=titles,
                        horizontal_spacing=0.05, vertical_spacing=0.12 if len(methods) > 1 else 0.0)
    for r, method in enumerate(methods):
        for c, group in enumerate(groups):
            shift = by_key.get((method, group))
            if shift is None:
                continue
            marks = [["*" if se > 0 and abs(m) > SIGNIFICANT_SE * se else "" for m, se in zip(mr, sr)]
                     for mr, sr in zip(shift.mean, shift.se)]
            fig.add_trace(go.Heatmap(
                z=[list(row) for row in shift.mean], text=marks, texttemplate="%{text}", colorscale=_DIVERGING,
                zmid=0.0, zmin=-peak, zmax=peak, showscale=(r == 0 and c == len(groups) - 1),
                colorbar=dict(title=dict(text="mass share, cand - base"), thickness=12),
                customdata=[list(row) for row in shift.se],
                hovertemplate=("row %{y}, col %{x}: %{z:+.3f} (se %{customdata:.3f})"
                               f"<extra>{plotly_text(f'{shift.n_words} word pairs, {shift.n_probes} probes')}</extra>"),
            ), row=r + 1, col=c + 1)
            _square(fig, r, c, len(groups))
    fig.update_layout(height=260 * len(methods) + 60, margin=dict(l=30, r=10, t=40, b=20))
    return to_plain(fig)


def locus_figure(findings: tuple[LocusFinding, ...], image: tuple[str, int, int] | None) -> dict[str, Any] | None:
    """Per method (rows) and version (columns): each region's excess of off-object peaks over the
    maps' spread, over a probe image, the reported region outlined (red when it fails)."""
    if not findings:
        return None
    methods = sorted({f.method for f in findings})
    sides = [s for s in ("candidate", "baseline") if any(f.side == s for f in findings)]
    by_key = {(f.method, f.side): f for f in findings}
    titles = [plotly_text(f"{m} | {s}: {describe_group(by_key[(m, s)].group)}") if (m, s) in by_key else ""
              for m in methods for s in sides]
    fig = make_subplots(rows=len(methods), cols=len(sides), subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=0.12 if len(methods) > 1 else 0.0)
    for r, method in enumerate(methods):
        for c, side in enumerate(sides):
            finding = by_key.get((method, side))
            if finding is None:
                continue
            rows, cols = len(finding.excess), len(finding.excess[0])
            axis = "" if r * len(sides) + c == 0 else str(r * len(sides) + c + 1)
            if image is not None:
                fig.add_layout_image(dict(source=image[0], xref=f"x{axis}", yref=f"y{axis}", x=-0.5, y=-0.5,
                                          sizex=cols, sizey=rows, sizing="stretch", layer="below", opacity=1.0))
            custom = [[[o, e] for o, e in zip(orow, erow)] for orow, erow in zip(finding.observed, finding.expected)]
            fig.add_trace(go.Heatmap(
                z=[list(row) for row in finding.excess], colorscale=_DIVERGING, zmid=0.0, zmin=-0.5, zmax=0.5,
                opacity=0.6, customdata=custom, showscale=(r == 0 and c == len(sides) - 1),
                colorbar=dict(title=dict(text="excess"), thickness=12),
                hovertemplate=("region %{y}, %{x}: observed %{customdata[0]:.2f}, expected %{customdata[1]:.2f}, "
                               "excess %{z:+.2f}<extra></extra>"),
            ), row=r + 1, col=c + 1)
            rr, cc = finding.region
            colour = "#d62728" if finding.verdict == "fail" else "#555"
            fig.add_shape(type="rect", x0=cc - 0.5, x1=cc + 0.5, y0=rr - 0.5, y1=rr + 0.5, row=r + 1, col=c + 1,
                          line=dict(color=colour, width=3, dash="solid" if finding.verdict == "fail" else "dot"))
            _square(fig, r, c, len(sides))
    fig.update_layout(height=300 * len(methods) + 60, margin=dict(l=30, r=10, t=40, b=20))
    return to_plain(fig)


def _sample_image(data: ReportData) -> tuple[str, int, int] | None:
    for probe in data.probes:
        if probe.thumbnail:
            try:
                return data_uri(probe.thumbnail)
            except (OSError, ValueError):
                return None
    return None


def attention_figures(data: ReportData) -> dict[str, Any]:
    if data.verdict is None:
        return {}
    found = {"fig-shift": shift_figure(data.verdict.attention_shift),
             "fig-locus": locus_figure(data.verdict.locus, _sample_image(data))}
    return {k: v for k, v in found.items() if v is not None}


def _group_table(data: ReportData) -> str:
    checks = [c for c in data.comparisons if c.group is not None]
    if not checks:
        return ""
    checks.sort(key=lambda c: (-VERDICT_ORDER[c.verdict], c.method, c.metric, c.group or ""))
    rows = [[esc(c.method), esc(c.metric), esc(describe_group(c.group or "")), f"{c.delta:+.3f}",
             f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}]", esc(c.n_probes), f"{c.tolerance:.3f}",
             pill(c.verdict) + ("" if c.counts else " <i>reported only</i>")]
            for c in checks]
    flagged = [row for row, c in zip(rows, checks) if c.verdict == "fail" and not (c.group or "").startswith("word:")]
    headers = ["method", "metric", "words", "mean change", "CI (family-corrected)", "probes", "tolerance", "verdict"]
    shown = table(headers, flagged, "data") if flagged else "<p>No word class or slot failed.</p>"
    return (f"<h3>Which words</h3><p>Each metric compared per word class, per slot (the k-th word of a class in "
            f"the answer) and per word; the intervals of one metric's groups are widened together "
            f"(Bonferroni), so that a group fails by chance no more often than one pooled check does. Failing classes "
            f"and slots:</p>{shown}<details><summary>All {len(rows)} word-group checks, single words included</summary>{table(headers, rows, 'data compact')}"
            "</details>")


def _counterfactual_table(summaries: tuple[CounterfactualSummary, ...]) -> str:
    if not summaries:
        return ""
    methods = sorted({p.method for s in summaries for p in s.peaks})
    rows = []
    for s in sorted(summaries, key=lambda s: (s.kind, s.mode, s.side != "candidate")):
        peaks = {p.method: p for p in s.peaks}
        rows.append([esc(s.kind), esc(s.mode), esc(s.side), esc(s.n_probes), f"{s.names_object:.0%}", f"{s.names_cue:.0%}",
                     f"{s.names_other:.0%}"]
                    + [(f"{peaks[m].on_cue:.0%} / {peaks[m].on_object:.0%}" if m in peaks else "&ndash;") for m in methods])
    headers = ["cue", "mode", "version", "probes", "names the object's word", "names the cue's word", "other"]
    headers += [esc(f"{m}: peak on cue / on object") for m in methods]
    return ("<h3>Does the model name what it looks at?</h3><p>Probes carrying a cue (present: it carries the "
            "object's word; absent; conflicting: another word of its class). For the word the cue stands for: "
            "which word each version's answer gives, and where its maps peak.</p>" + table(headers, rows, "data"))


def attention_section(data: ReportData) -> str:
    """The section's HTML (empty without a stored verdict or anything to show)."""
    v = data.verdict
    if v is None or not (v.attention_shift or v.locus or v.counterfactual
                         or any(c.group is not None for c in v.comparisons)):
        return ""
    parts = [_group_table(data)]
    if v.locus:
        parts.append("<h3>Fixed locus</h3><p>Share of each word group's maps that peak in a region on cells "
                     "holding no object, minus the share the maps' own spread puts there (the null). A model that "
                     "keeps looking at one object-free place, whatever moves, shows a red region; the outlined "
                     "region is the one reported (red line: it fails).</p><div class=\"chart\" id=\"fig-locus\"></div>")
    if v.attention_shift:
        parts.append("<h3>Where the attention went</h3><p>Mean change of each word group's maps, candidate minus "
                     "baseline, each map as a distribution over the image (red: the candidate looks there more). "
                     f"* marks cells whose change exceeds {SIGNIFICANT_SE:g} standard errors.</p>"
                     '<div class="chart" id="fig-shift"></div>')
    parts.append(_counterfactual_table(v.counterfactual))
    return '<section id="attention"><h2>Which words, and where the attention went</h2>' + "".join(parts) + "</section>"
