"""Plotly figures of the report, as plain JSON-able dicts (the page renders them with Plotly.js).

Why dicts and not `fig.to_html`: every piece of data in the page goes through one escaping path
(`reports.page.script_json`), and the gallery viewer's traces are swapped by the page's script
instead of shipping one figure per probe.

Text that Plotly renders (titles, axis labels, hover) is passed through `plotly_text`, because
Plotly interprets a subset of HTML tags in those strings.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

from comparison import MetricComparison
from reports.statistics import HistoryPoint

CANDIDATE_COLOR = "#1f77b4"
BASELINE_COLOR = "#ff7f0e"
VERDICT_COLORS = {"pass": "#2ca02c", "warn": "#e6a700", "fail": "#d62728"}
HEATMAP_OPACITY = 0.6
# Jet whose low end fades to transparent: the image stays visible where the model does not look.
ATTRIBUTION_COLORSCALE = [
    [0.0, "rgba(0,0,143,0)"],
    [0.15, "rgba(0,0,255,0.25)"],
    [0.35, "rgba(0,255,255,0.75)"],
    [0.5, "rgb(127,255,127)"],
    [0.65, "rgb(255,255,0)"],
    [0.85, "rgb(255,0,0)"],
    [1.0, "rgb(128,0,0)"],
]


# Plotly's mode bar (its toolbar) floats over the top right corner of every chart. Each figure keeps
# a band this high free at its top, subplot titles start below it and legends sit under the plot,
# so no title, legend or colour bar hides under the toolbar at any width.
MODEBAR_BAND_PX = 36
SUBPLOT_TITLE_PX = 24
LEGEND_BELOW = dict(orientation="h", x=0, xanchor="left", yref="container", y=0, yanchor="bottom")
LEGEND_PX = 34  # the bottom margin's share for one row of legend
HISTORY_PANEL_PX, PANEL_GAP_PX = 150, 60  # a history panel's plot, and the room for the next title
# one colour per explanation method in the history chart (versions have their own two colours)
METHOD_COLORS = ("#2a9d8f", "#e76f51", "#6a4c93", "#264653", "#e9c46a", "#8ab17d")


def frame(fig: go.Figure, *, height: int, titles: bool = False, legend: bool = True, bottom: int = 40,
          left: int = 10) -> None:
    """Height and margins that keep the mode bar's band free, with the legend below the plot."""
    top = MODEBAR_BAND_PX + (SUBPLOT_TITLE_PX if titles else 0)
    extra = LEGEND_PX if legend else 0
    fig.update_layout(height=height + top + bottom + extra,
                      margin=dict(t=top, b=bottom + extra, l=left, r=10, autoexpand=True),
                      legend=LEGEND_BELOW, showlegend=legend)


def plotly_text(text: str) -> str:
    """Escape a string for Plotly's text renderer (it understands <b>, <br>, <a> ...)."""
    return html.escape(str(text), quote=True)


def to_plain(fig: go.Figure) -> dict[str, Any]:
    """The figure as JSON-compatible data (numpy arrays become lists)."""
    return json.loads(json.dumps(fig.to_plotly_json(), cls=PlotlyJSONEncoder))


def viewer_skeleton(methods: list[str], column_labels: list[str]) -> dict[str, Any]:
    """A grid of (method rows) x (version columns); each cell is an image trace under a heatmap
    trace. Trace 2*(row*n_cols + col) is the image, the next one the heatmap. The page's script
    fills in image sources, grid geometry and map values."""
    n_rows, n_cols = len(methods), len(column_labels)
    titles = [plotly_text(f"{m} | {label}") for m in methods for label in column_labels]
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=titles,
                        horizontal_spacing=0.04, vertical_spacing=0.06 if n_rows > 1 else 0.0)
    for r in range(n_rows):
        for c in range(n_cols):
            fig.add_trace(go.Image(source="", hoverinfo="skip"), row=r + 1, col=c + 1)
            fig.add_trace(
                go.Heatmap(z=[[None]], colorscale=ATTRIBUTION_COLORSCALE, zmin=0, zmax=1,
                           opacity=HEATMAP_OPACITY, showscale=(r == 0 and c == n_cols - 1),
                           colorbar=dict(title=dict(text="attribution"), len=0.5, y=1.0,
                                         yanchor="top", thickness=12),
                           hovertemplate="row %{y:.0f}, col %{x:.0f}: %{z:.2f}<extra></extra>"),
                row=r + 1, col=c + 1,
            )
    for i in range(1, n_rows * n_cols + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"xaxis{suffix}"].update(showticklabels=False, showgrid=False, zeroline=False)
        fig.layout[f"yaxis{suffix}"].update(
            showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
            scaleanchor=f"x{suffix}", constrain="domain",
        )
        fig.layout[f"xaxis{suffix}"].update(constrain="domain")
    frame(fig, height=max(300, 300 * n_rows), titles=True, legend=False, bottom=10)
    fig.update_layout(plot_bgcolor="white", paper_bgcolor="white")
    return to_plain(fig)


def distribution_figure(
    values: dict[tuple[str, str], dict[str, list[float]]], version_labels: dict[str, str]
) -> dict[str, Any] | None:
    """Per-probe metric values, one subplot per metric, one box per method and version."""
    metrics = sorted({metric for _, metric in values})
    if not metrics:
        return None
    n_cols = min(3, len(metrics))
    n_rows = math.ceil(len(metrics) / n_cols)
    fig = make_subplots(rows=n_rows, cols=n_cols,
                        subplot_titles=[plotly_text(m) for m in metrics],
                        vertical_spacing=0.12 if n_rows > 1 else 0.0)
    colors = {"candidate": CANDIDATE_COLOR, "baseline": BASELINE_COLOR}
    shown: set[str] = set()
    for i, metric in enumerate(metrics):
        row, col = i // n_cols + 1, i % n_cols + 1
        for side in ("candidate", "baseline"):
            xs: list[str] = []
            ys: list[float] = []
            for (method, m), by_side in sorted(values.items()):
                if m == metric:
                    xs += [plotly_text(method)] * len(by_side.get(side, []))
                    ys += by_side.get(side, [])
            if not ys:
                continue
            fig.add_trace(
                go.Box(x=xs, y=ys, name=plotly_text(version_labels[side]), legendgroup=side,
                       showlegend=side not in shown, marker_color=colors[side],
                       offsetgroup=side, boxpoints="outliers"),
                row=row, col=col,
            )
            shown.add(side)
    frame(fig, height=290 * n_rows, titles=True, bottom=30, left=40)
    fig.update_layout(boxmode="group")
    return to_plain(fig)


def comparison_figure(comparisons: list[MetricComparison], drift: bool, level: str = "95%") -> dict[str, Any] | None:
    """Forest plot: each comparison's mean with its CI and its limit (-tolerance, +tolerance for
    lower-is-better metrics, or the minimum similarity)."""
    rows = [c for c in comparisons if c.is_drift == drift]
    if not rows:
        return None
    rows.sort(key=lambda c: (c.method, c.metric))
    labels = [plotly_text(f"{c.method} / {c.metric}") for c in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[c.delta for c in rows], y=labels, mode="markers",
            marker=dict(size=10, color=[VERDICT_COLORS[c.verdict] for c in rows]),
            # one colour for the bars: left unset they inherit the per-point marker colours, an
            # array Plotly cannot use for error bars (a console warning, and black bars)
            error_x=dict(type="data", symmetric=False, color="#555",
                         array=[c.ci_high - c.delta for c in rows],
                         arrayminus=[c.delta - c.ci_low for c in rows]),
            customdata=[[c.verdict, c.n_pairs, c.tolerance] for c in rows],
            hovertemplate=("%{y}: %{x:.3f}<br>verdict %{customdata[0]}, "
                           "%{customdata[1]} pairs, limit %{customdata[2]:.3f}<extra></extra>"),
            showlegend=False,
        )
    )
    limit_x = [c.tolerance if drift or c.direction == "lower_is_better" else -c.tolerance for c in rows]
    fig.add_trace(go.Scatter(x=limit_x, y=labels, mode="markers", showlegend=True,
                             name="minimum similarity" if drift else "tolerance",
                             marker=dict(symbol="line-ns-open", size=18, color="#555")))
    if not drift:
        fig.add_vline(x=0, line=dict(color="#999", dash="dot"))
    frame(fig, height=max(120, 48 * len(rows)), bottom=50)
    fig.update_layout(
        xaxis_title=("similarity between versions (1 = same map)" if drift
                     else f"candidate - baseline (mean, {level} CI)"),
        yaxis=dict(automargin=True),
    )
    return to_plain(fig)


def history_figure(points: list[HistoryPoint]) -> dict[str, Any] | None:
    """Small multiples: one panel per metric, one line per method, audits in version order.

    Why panels: a model audited with two methods on eight metrics would otherwise draw sixteen
    overlapping lines on one axis; per panel, two lines stay legible.
    """
    if not points:
        return None
    metrics = sorted({p.metric for p in points})
    methods = sorted({p.method for p in points})
    audits = [plotly_text(a) for a in dict.fromkeys(p.audit for p in points)]  # in version order
    n_cols = min(3, len(metrics))
    n_rows = math.ceil(len(metrics) / n_cols)
    plot_height = n_rows * HISTORY_PANEL_PX + (n_rows - 1) * PANEL_GAP_PX
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=[plotly_text(m) for m in metrics],
                        vertical_spacing=PANEL_GAP_PX / plot_height, horizontal_spacing=0.06)
    for i, metric in enumerate(metrics):
        for k, method in enumerate(methods):
            mine = [p for p in points if p.metric == metric and p.method == method]
            if not mine:
                continue
            fig.add_trace(
                go.Scatter(x=[plotly_text(p.audit) for p in mine], y=[p.value for p in mine], mode="lines+markers",
                           name=plotly_text(method), legendgroup=method, showlegend=i == 0,
                           line=dict(color=METHOD_COLORS[k % len(METHOD_COLORS)]),
                           hovertemplate=plotly_text(f"{method} / {metric}") + ": %{y:.3f}<extra>%{x}</extra>"),
                row=i // n_cols + 1, col=i % n_cols + 1,
            )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=audits)
    frame(fig, height=plot_height, titles=True, bottom=30, left=40)
    return to_plain(fig)
