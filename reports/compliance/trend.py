"""The trend figure: the key aggregate metrics of each version's latest audit, versions in version
order, one panel per metric and one line per method, as a PNG.

Why a static image (matplotlib, Agg): the same picture goes into the PDF and the HTML, so the two
cannot show different numbers, and the HTML needs no script to draw it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reports.compliance.data import KEY_METRICS, DossierData


@dataclass(frozen=True)
class TrendPoint:
    metric: str
    method: str
    version: str
    value: float
    run_id: int
    probe_set: str  # "name@version", the probe set the value was measured on


def trend_points(data: DossierData) -> list[TrendPoint]:
    """The key metrics of each version's latest completed audit, versions in version order.

    Only audits on the probe set of the newest audited version are followed, since values measured
    on different probe sets are not comparable."""
    latest = [(v.version, data.latest_audit(v.version)) for v in data.versions]
    latest = [(version, audit) for version, audit in latest if audit is not None]
    if not latest:
        return []
    reference = latest[-1][1].probe_set.content_hash
    points = []
    for version, audit in latest:
        if audit.probe_set.content_hash != reference:
            continue
        label = f"{audit.probe_set.name}@{audit.probe_set.version}"
        for m in audit.aggregates:
            if m.metric in KEY_METRICS and m.word is None:
                points.append(TrendPoint(m.metric, m.method, version, float(m.value), audit.run.id or 0, label))
    return points


def trend_png(points: list[TrendPoint], versions: list[str]) -> bytes | None:
    """Small multiples: one panel per key metric (x: version, y: value, a line per method)."""
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    metrics = [m for m in KEY_METRICS if any(p.metric == m for p in points)]
    order = [v for v in versions if any(p.version == v for p in points)]
    cols = 2 if len(metrics) > 1 else 1
    rows = (len(metrics) + cols - 1) // cols
    fig = Figure(figsize=(7.2, 2.5 * rows), dpi=150)
    methods = sorted({p.method for p in points})
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        for method in methods:
            mine = {p.version: p.value for p in points if p.metric == metric and p.method == method}
            xs = [order.index(v) for v in order if v in mine]
            ax.plot(xs, [mine[order[x]] for x in xs], marker="o", label=method)
        ax.set_title(metric.replace("_", " "), fontsize=9)
        ax.set_xticks(range(len(order)), [f"v{v}" for v in order], fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
