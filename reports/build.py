"""Build the self-contained HTML report (and its JSON summary) from a `ReportData`.

Layout of the output: `<stem>.html` holds the summary, charts, history, lineage and the first
gallery page; when the gallery would exceed the per-file size budget (or `page_size` probes), the
rest goes to `<stem>-gallery-2.html`, `-3` ... each self-contained too. `<stem>.json` is the
machine-readable summary. Files are written to temporary names and renamed at the end, so a
failed build leaves no half-written report behind.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reports import attention, figures, sections
from reports.banner import banner
from reports.data import ReportData
from reports.files import write_files
from reports.gallery import ImageStore, gallery_entries
from reports.options import ReportBuildError, ReportOptions, ReportPaths
from reports.page import esc, page, plotly_js, script_json, static_text
from reports.statistics import MetricRow, distribution_values, history_points, metric_rows

REPORT_FORMAT_VERSION = "2"  # 2: the verdict is the stored comparison result (headline, settings)


def paginate(sizes: list[int], budgets: list[int], page_size: int) -> list[list[int]]:
    """Greedy split of probes (by payload size) into pages; page i may hold `budgets[i]` bytes
    (the last budget repeats). A probe larger than a whole budget gets a page of its own."""
    pages: list[list[int]] = [[]]
    used = 0
    for i, size in enumerate(sizes):
        budget = budgets[min(len(pages) - 1, len(budgets) - 1)]
        if pages[-1] and (used + size > budget or len(pages[-1]) >= page_size):
            pages.append([])
            used = 0
        pages[-1].append(i)
        used += size
    return pages


def _summary_figures(data: ReportData) -> dict[str, Any]:
    labels = {"candidate": sections.version_label(data, "candidate"),
              "baseline": sections.version_label(data, "baseline") if data.has_baseline else ""}
    found = {
        "fig-distributions": figures.distribution_figure(distribution_values(data), labels),
        "fig-deltas": figures.comparison_figure([c for c in data.comparisons if c.group is None], drift=False,
                                                level=data.confidence_label),
        "fig-drift": figures.comparison_figure([c for c in data.comparisons if c.group is None], drift=True),
        "fig-history": figures.history_figure(history_points(data)),
    }
    return {**{k: v for k, v in found.items() if v is not None}, **attention.attention_figures(data)}


def _pages(entries: list[dict[str, Any]], images: ImageStore, shell: int, main_extra: int,
           options: ReportOptions) -> list[list[int]]:
    """Split the gallery so each file stays within the size budget (the main page carries more)."""
    probe_sizes, seen = [], set()
    for e in entries:
        size = len(script_json(e))
        if e["img"] not in seen:
            seen.add(e["img"])
            size += len(images.images[e["img"]]["src"]) + 50
        probe_sizes.append(size)
    budget = options.size_budget_bytes
    return paginate(probe_sizes, [budget - shell - main_extra, budget - shell], max(1, options.page_size))


def _main_body(data: ReportData, rows: list[MetricRow], entries: list[dict[str, Any]], links: str,
               page_of: dict[str, int], files: list[str]) -> str:
    """The main page's body: the banner, the contents, then every section (the probe index only
    when the gallery is split over several files)."""
    main = (sections.summary_block(data, len(entries))
            + sections.comparison_section(data) + attention.attention_section(data)
            + sections.metric_section(data, rows)
            + sections.gallery_section(links)
            + (sections.probe_index(entries, page_of, files) if len(files) > 1 else "")
            + sections.history_section(data) + sections.alerts_section(data)
            + sections.lineage_section(data.lineage) + sections.warnings_section(data))
    return banner(data) + sections.contents(main) + "<main>" + main + "</main>"


def build_report(data: ReportData, out_dir: Path | str, options: ReportOptions | None = None, *,
                 stem: str = "report") -> ReportPaths:
    """Write `<stem>.html` (+ extra gallery pages when needed) and `<stem>.json` to `out_dir`."""
    options = options or ReportOptions()
    # Warnings found while building belong to this build only: work on a shallow copy.
    data = dataclasses.replace(data, warnings=list(data.warnings))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportBuildError(f"cannot create report folder {out}: {exc}") from exc

    rows = metric_rows(data, options)
    entries, images = gallery_entries(data, options)
    methods = data.methods() or ["(no maps)"]
    columns = [sections.short_label(data, "candidate")]
    if data.has_baseline:
        columns.append(sections.short_label(data, "baseline"))
    skeleton = figures.viewer_skeleton(methods, columns)
    summary_figures = _summary_figures(data)
    # the verdict leads the tab's title, so a reader with several reports open sees which one failed
    verdict = f"{data.verdict.verdict.upper()} \u2013 " if data.verdict else ""
    title = options.title or (f"{verdict}mllm-audit: {data.model_version.name} v{data.model_version.version} "
                              f"(run {data.run.id})")

    # Size accounting: what every page carries, what only the main page carries, per probe.
    shell = (len(plotly_js()) + len(static_text("report.js")) + len(static_text("report.css"))
             + len(script_json(skeleton)) + 20_000)
    main_extra = len(script_json(summary_figures)) + 60_000 + 400 * len(entries)
    pages = _pages(entries, images, shell, main_extra, options)
    files = [f"{stem}.html"] + [f"{stem}-gallery-{i + 1}.html" for i in range(1, len(pages))]
    page_of = {entries[i]["key"]: p for p, idxs in enumerate(pages) for i in idxs}

    documents: dict[str, str] = {}
    for p, idxs in enumerate(pages):
        used = sorted({entries[i]["img"] for i in idxs})
        remap = {old: new for new, old in enumerate(used)}
        gallery = {"methods": methods, "columns": columns, "images": [images.images[i] for i in used],
                   "probes": [dict(entries[i], img=remap[entries[i]["img"]]) for i in idxs], "skeleton": skeleton}
        links = sections.page_links(files, p)
        if p == 0:
            body = _main_body(data, rows, entries, links, page_of, files)
            payload = {"figures": summary_figures, "gallery": gallery}
        else:
            body = (banner(data) + f'<main><p><a href="{esc(files[0])}">Back to the summary</a></p>'
                    + sections.gallery_section(links) + "</main>")
            payload = {"figures": {}, "gallery": gallery}
        documents[files[p]] = page(title=title if p == 0 else f"{title}: gallery page {p + 1}",
                                   body_html=body, data=payload)
    oversize = [name for name, doc in documents.items() if len(doc.encode("utf-8")) > options.size_budget_bytes]
    if oversize:
        data.warnings.append("over the size budget despite splitting: " + ", ".join(oversize))

    summary = summary_json(data, rows, files, len(entries))
    summary["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    summary["sizes_bytes"] = {name: len(doc.encode("utf-8")) for name, doc in documents.items()}
    documents[f"{stem}.json"] = json.dumps(summary, indent=2, default=str, allow_nan=False)
    write_files(out, documents)
    return ReportPaths(html=out / files[0], json=out / f"{stem}.json", gallery_pages=tuple(out / f for f in files[1:]))


def summary_json(data: ReportData, rows: list[MetricRow], files: list[str], n_probes: int) -> dict[str, Any]:
    """The machine-readable summary beside the HTML."""
    v = data.verdict
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "verdict": v.verdict if v else None,
        "headline": v.headline if v else None,
        "reasons": list(v.reasons) if v else [],
        "comparison_settings": dict(v.settings) if v else None,
        "model": {"name": data.model_version.name, "version": data.model_version.version,
                  "run_id": data.run.id, "weights_hash": data.model_version.weights_hash},
        "baseline": ({"name": data.baseline_model_version.name, "version": data.baseline_model_version.version,
                      "run_id": data.baseline_run.id}
                     if data.baseline_run and data.baseline_model_version else None),
        "probe_set": {"name": data.probe_set.name, "version": data.probe_set.version,
                      "content_hash": data.probe_set.content_hash},
        "n_probes_in_gallery": n_probes,
        "words": ({"compared": v.n_words_compared, "candidate_only": v.n_words_candidate_only,
                   "baseline_only": v.n_words_baseline_only} if v and v.n_words_compared is not None else None),
        "comparisons": [asdict(c) for c in data.comparisons],
        "metrics": [
            {"method": r.method, "metric": r.metric, "direction": r.direction,
             "candidate": asdict(r.candidate) if r.candidate else None,
             "baseline": asdict(r.baseline) if r.baseline else None,
             "candidate_pooled": r.candidate_pooled, "baseline_pooled": r.baseline_pooled}
            for r in rows
        ],
        "alerts": [{"verdict": a.verdict, "message": a.message, "channels": list(a.channels),
                    "created_at": a.created_at.isoformat(timespec="seconds") if a.created_at else ""}
                   for a in data.alerts],
        "lineage": asdict(data.lineage) if data.lineage else {},
        "files": files,
        "warnings": list(data.warnings),
    }
