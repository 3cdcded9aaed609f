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
    fig.update_layout(
        height=max(300, 300 * n_rows), margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white", paper_bgcolor="white",
    )
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
    fig.update_layout(boxmode="group", height=320 * n_rows, margin=dict(l=40, r=10, t=40, b=30),
                      legend=dict(orientation="h", y=-0.08))
    return to_plain(fig)


def comparison_figure(comparisons: list[MetricComparison], drift: bool) -> dict[str, Any] | None:
    """Forest plot: each comparison's mean with its CI and its limit (-tolerance, +tolerance for
    lower-is-better metrics, or the minimum similarity)."""
    rows = [c for c in comparisons if c.is_drift == drift]
    if not rows:
        return None
    rows.sort(key=lambda c: (c.method, c.metric))
    labels = [plotly_text(f"{c.method} / {c.metric}") for c in rows]
    fig = go.Figure()
    # One trace per verdict, each with one colour: an error bar's colour must be a single colour
    # (given a per-point array, Plotly logs "Invalid color specifier" and draws the bars black).
    for verdict in sorted({c.verdict for c in rows}):
        group = [(label, c) for label, c in zip(labels, rows) if c.verdict == verdict]
        color = VERDICT_COLORS[verdict]
        fig.add_trace(
            go.Scatter(
                x=[c.delta for _, c in group], y=[label for label, _ in group], mode="markers",
                marker=dict(size=10, color=color),
                error_x=dict(type="data", symmetric=False, color=color,
                             array=[c.ci_high - c.delta for _, c in group],
                             arrayminus=[c.delta - c.ci_low for _, c in group]),
                customdata=[[c.verdict, c.n_pairs, c.tolerance] for _, c in group],
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
    fig.update_layout(
        height=max(200, 48 * len(rows) + 90), margin=dict(l=10, r=10, t=30, b=40),
        xaxis_title=("similarity between versions (1 = same map)" if drift
                     else "candidate - baseline (mean, 95% CI)"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
        yaxis=dict(automargin=True, categoryorder="array", categoryarray=labels),  # rows in (method, metric) order
    )
    return to_plain(fig)


def history_figure(points: list[tuple[str, str, float]]) -> dict[str, Any] | None:
    """Aggregate metric per audited version over time: (series label, version label, value)."""
    if not points:
        return None
    fig = go.Figure()
    series: dict[str, tuple[list[str], list[float]]] = {}
    for label, version, value in points:
        xs, ys = series.setdefault(label, ([], []))
        xs.append(plotly_text(version))
        ys.append(value)
    for label, (xs, ys) in series.items():
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=plotly_text(label)))
    fig.update_layout(height=300, margin=dict(l=40, r=10, t=20, b=40),
                      xaxis=dict(type="category", title="audit (version, run)"))
    return to_plain(fig)
