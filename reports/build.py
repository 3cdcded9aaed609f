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
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from reports import figures
from reports.data import Lineage, ReportData
from comparison.bootstrap import MeanCI, cluster_bootstrap_mean, stable_seed
from comparison.maps import resize_grid, total_variation
from comparison.words import generation_words, normalize_word, pair_tokens
from reports.encode import (
    b64,
    downsample_grid,
    image_data_uri,
    load_image,
    placeholder_image,
    quantize_map,
)
from reports.page import esc, page, plotly_js, script_json, static_text, table
from reports.verdict import describe_comparison, is_drift_metric
from storage.records import Direction, GenerationRecord, MetricRecord, TokenMapRecord

REPORT_FORMAT_VERSION = "1"


class ReportBuildError(RuntimeError):
    """The report could not be written (e.g. the output folder is not writable)."""


@dataclass(frozen=True)
class ReportOptions:
    """Knobs of the report's size and statistics."""

    title: str | None = None
    page_size: int = 250  # most probes in one gallery file
    size_budget_bytes: int = 15_000_000  # per HTML file
    image_max_side: int = 256
    max_grid: int = 32
    n_resamples: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    json: Path
    gallery_pages: tuple[Path, ...] = ()  # extra gallery files beyond the main one

    @property
    def all_html(self) -> tuple[Path, ...]:
        return (self.html, *self.gallery_pages)


@dataclass(frozen=True)
class MetricRow:
    method: str
    metric: str
    direction: Direction
    candidate: MeanCI | None
    baseline: MeanCI | None
    candidate_pooled: float | None  # aggregate value stored without per-probe values
    baseline_pooled: float | None


# ----------------------------------------------------------------------------- statistics


def _values_by_probe(metrics: list[MetricRecord]) -> dict[tuple[str, str], dict[str, list[float]]]:
    out: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in metrics:
        if m.probe_key is not None and math.isfinite(m.value):
            out[(m.method, m.metric)][m.probe_key].append(float(m.value))
    return out


def _pooled(metrics: list[MetricRecord]) -> dict[tuple[str, str], float]:
    return {(m.method, m.metric): float(m.value) for m in metrics if m.probe_key is None}


def metric_rows(data: ReportData, options: ReportOptions) -> list[MetricRow]:
    """Mean per method and metric with a probe-bootstrap CI, for each version."""
    cand, base = _values_by_probe(data.metrics), _values_by_probe(data.baseline_metrics)
    cand_pool, base_pool = _pooled(data.metrics), _pooled(data.baseline_metrics)
    directions = data.directions()
    rows = []
    for key in sorted(set(cand) | set(base) | set(cand_pool) | set(base_pool)):
        method, metric = key

        def ci(values: dict[str, list[float]] | None, side: str) -> MeanCI | None:
            if not values:
                return None
            return cluster_bootstrap_mean(
                list(values.values()), n_resamples=options.n_resamples,
                rng=stable_seed(options.seed, side, method, metric),
            )

        rows.append(
            MetricRow(method, metric, directions[key], ci(cand.get(key), "candidate"),
                      ci(base.get(key), "baseline"), cand_pool.get(key), base_pool.get(key))
        )
    return rows


def _probe_means(metrics: list[MetricRecord]) -> dict[tuple[str, str], dict[str, float]]:
    return {
        key: {p: float(np.mean(v)) for p, v in by_probe.items()}
        for key, by_probe in _values_by_probe(metrics).items()
    }


# ----------------------------------------------------------------------------- gallery


def _maps_by_probe(maps: list[TokenMapRecord]) -> dict[str, dict[str, dict[int, np.ndarray]]]:
    out: dict[str, dict[str, dict[int, np.ndarray]]] = defaultdict(lambda: defaultdict(dict))
    for m in maps:
        out[m.probe_key][m.method][m.token_index] = m.map
    return out


def _side_payload(
    gen: GenerationRecord | None,
    maps: dict[str, dict[int, np.ndarray]],
    max_grid: int,
) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for method, by_token in maps.items():
        tokens = sorted(by_token)
        grids = [downsample_grid(by_token[t], max_grid) for t in tokens]
        shape = grids[0].shape
        # one shape per method and probe, so the page can slice the bytes evenly
        grids = [g if g.shape == shape else resize_grid(g, shape) for g in grids]
        encoded[method] = {
            "s": [int(shape[0]), int(shape[1])],
            "t": tokens,
            "d": b64(b"".join(quantize_map(g) for g in grids)),
        }
    if gen is not None:
        tokens_text = [display_token(t) for t in gen.tokens]
        text = gen.text
    else:  # maps without a stored generation: rebuild the token list from the maps
        n = 1 + max((t for by in maps.values() for t in by), default=-1)
        tokens_text = [""] * n
        text = ""
    return {"text": text, "tokens": tokens_text, "maps": encoded}


# Per-word metrics that exist only for words naming an object with a mask: the words whose maps
# the gallery should open on.
OBJECT_WORD_METRICS = frozenset({"pointing_game", "energy_in_mask", "obj_iou_per_word"})


def _object_tokens(gen: GenerationRecord, words: set[str] | None) -> set[int] | None:
    """Token indices of the answer words that name an object (None: no such words known)."""
    if not words:
        return None
    by_word = generation_words(gen)
    tokens = {t for t, w in enumerate(gen.word_index) if w >= 0 and by_word.get(w) in words}
    return tokens or None


def most_changed_token(
    cand: dict[str, dict[int, np.ndarray]],
    base: dict[str, dict[int, np.ndarray]],
    pair: list[int],
    eligible: set[int] | None = None,
) -> int | None:
    """The candidate token whose map differs most from the baseline's map of the same word.

    Why: the gallery opens each probe on this token, so a reader sees at once where the two
    versions look differently instead of starting on an uninformative first token ("a").
    Distance: total-variation distance between the two maps normalised to unit mass, averaged
    over the methods both versions have; None when no token is paired. `eligible` (e.g. the
    tokens of object words) narrows the choice when given.
    """
    best, best_distance = None, -1.0
    methods = sorted(set(cand) & set(base))
    for t, bt in enumerate(pair):
        if bt < 0 or (eligible is not None and t not in eligible):
            continue
        distances = []
        for method in methods:
            a, b = cand[method].get(t), base[method].get(bt)
            if a is None or b is None or a.shape != b.shape:
                continue
            distance = total_variation(a, b)
            if distance is not None:
                distances.append(distance)
        if distances and (d := float(np.mean(distances))) > best_distance:
            best, best_distance = t, d
    return best


def display_token(token: str) -> str:
    """Tokenizer space markers shown as the spaces they stand for."""
    return token.replace("\u0120", " ").replace("\u2581", " ").replace("\u010a", "\n")


def _token_labels(gen: GenerationRecord | None, maps: list[TokenMapRecord]) -> dict[int, str]:
    labels = {m.token_index: display_token(m.token_text) for m in maps}
    if gen is not None:
        labels.update({i: display_token(t) for i, t in enumerate(gen.tokens)})
    return labels


class _ImageStore:
    """Each distinct probe image is encoded once and referenced by index."""

    def __init__(self, data: ReportData, options: ReportOptions):
        self.data, self.options = data, options
        self.by_source: dict[str, int] = {}
        self.images: list[dict[str, Any]] = []

    def index_for(self, probe_key: str, image_path: str) -> int:
        source = self.data.probe_images.get(probe_key)
        if isinstance(source, np.ndarray):
            ident = f"array:{probe_key}"
        else:
            if source is None:
                root = self.data.probe_root
                source = (root / image_path) if root is not None else Path(image_path)
            ident = f"path:{Path(source).resolve() if Path(source).exists() else source}"
        if ident in self.by_source:
            return self.by_source[ident]
        try:
            img = load_image(source)
        except (OSError, ValueError) as exc:
            self.data.warnings.append(f"probe {probe_key}: image not readable ({exc}); "
                                      "shown as a grey placeholder")
            img = placeholder_image()
        uri, w, h = image_data_uri(img, self.options.image_max_side)
        self.images.append({"src": uri, "w": w, "h": h})
        self.by_source[ident] = len(self.images) - 1
        return len(self.images) - 1


def gallery_entries(data: ReportData, options: ReportOptions) -> tuple[list[dict[str, Any]], _ImageStore]:
    """One JSON-able entry per probe (worst change first), and the shared image store."""
    cand_gen = {g.probe_key: g for g in data.generations}
    base_gen = {g.probe_key: g for g in data.baseline_generations}
    cand_maps = _maps_by_probe(data.maps)
    base_maps = _maps_by_probe(data.baseline_maps)
    cand_means, base_means = _probe_means(data.metrics), _probe_means(data.baseline_metrics)
    directions = data.directions()
    flagged = {(c.method, c.metric) for c in data.comparisons
               if c.verdict != "pass" and not is_drift_metric(c.metric)}
    notes = data.verdict.probe_notes if data.verdict else {}
    images = _ImageStore(data, options)
    object_words: dict[str, set[str]] = defaultdict(set)
    for m in data.metrics:
        if m.probe_key is not None and m.word and m.metric in OBJECT_WORD_METRICS:
            object_words[m.probe_key].add(normalize_word(m.word.split("#")[0]))

    probes = list(data.probes)
    known = {p.probe_key for p in probes}
    extra = sorted((set(cand_gen) | set(cand_maps)) - known)
    if extra:
        data.warnings.append(f"{len(extra)} probe(s) have results but are not in the probe set: "
                             + ", ".join(extra[:10]))

    entries = []
    for probe in probes:
        key = probe.probe_key
        if key not in cand_gen and key not in cand_maps:
            continue
        rows, score = [], math.inf
        for mm in sorted(set(cand_means) | set(base_means)):
            c, b = cand_means.get(mm, {}).get(key), base_means.get(mm, {}).get(key)
            if c is None and b is None:
                continue
            rows.append([mm[0], mm[1], c, b])
            if mm in flagged and c is not None and b is not None:
                sign = -1.0 if directions.get(mm) == "lower_is_better" else 1.0
                score = min(score, sign * (c - b))
        cand_side = _side_payload(cand_gen.get(key), cand_maps.get(key, {}), options.max_grid)
        if not cand_side["tokens"] or key not in cand_gen:
            cand_side["tokens"] = _fill_tokens(cand_side["tokens"], _token_labels(
                cand_gen.get(key), [m for m in data.maps if m.probe_key == key]))
        entry: dict[str, Any] = {
            "key": key,
            "prompt": probe.prompt,
            "img": images.index_for(key, probe.image_path),
            "note": notes.get(key),
            "rows": rows,
            "c": cand_side,
            "b": None,
            "pair": None,
            "focus": None,
            "_score": score,
        }
        if data.has_baseline and (key in base_gen or key in base_maps):
            entry["b"] = _side_payload(base_gen.get(key), base_maps.get(key, {}), options.max_grid)
            if key in cand_gen and key in base_gen:
                entry["pair"] = pair_tokens(cand_gen[key], base_gen[key])
                entry["focus"] = most_changed_token(cand_maps.get(key, {}), base_maps.get(key, {}),
                                                    entry["pair"],
                                                    _object_tokens(cand_gen[key], object_words.get(key)))
        entries.append(entry)
    entries.sort(key=lambda e: (e["note"] is None, e["_score"], e["key"]))
    for e in entries:
        del e["_score"]
    return entries, images


def _fill_tokens(tokens: list[str], labels: dict[int, str]) -> list[str]:
    n = max(len(tokens), 1 + max(labels, default=-1))
    return [labels.get(i, tokens[i] if i < len(tokens) else "") for i in range(n)]


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


# ----------------------------------------------------------------------------- HTML sections


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "&ndash;"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _ci_cell(ci: MeanCI | None, pooled: float | None) -> str:
    if ci is not None:
        return (f"{ci.mean:.3f} <span class=ci>[{ci.low:.3f}, {ci.high:.3f}]</span> "
                f"<span class=n>{ci.n_probes} probes</span>")
    if pooled is not None:
        return f"{pooled:.3f} <span class=n>pooled, no CI</span>"
    return "&ndash;"


def _version_label(data: ReportData, side: str) -> str:
    if side == "candidate":
        mv, run = data.model_version, data.run
    else:
        assert data.baseline_model_version is not None and data.baseline_run is not None
        mv, run = data.baseline_model_version, data.baseline_run
    return f"{side}: {mv.name} v{mv.version} (run {run.id})"


def _short_label(data: ReportData, side: str) -> str:
    mv = data.model_version if side == "candidate" else data.baseline_model_version
    assert mv is not None
    return f"{side} v{mv.version}"


def _banner(data: ReportData) -> str:
    verdict = data.verdict.verdict if data.verdict else None
    cls = verdict or "none"
    if verdict is None:
        headline = ("No comparison: this audit has no baseline." if not data.has_baseline
                    else "Not compared yet: no stored comparison for this baseline.")
    else:
        headline = {"pass": "PASS: explanation quality held up.",
                    "warn": "WARN: some changes are too close to call.",
                    "fail": "FAIL: explanation quality regressed."}[verdict]
    reasons = "".join(f"<li>{esc(r)}</li>" for r in (data.verdict.reasons if data.verdict else ()))
    subject = esc(_version_label(data, "candidate"))
    against = (f" compared with {esc(_version_label(data, 'baseline'))}"
               if data.has_baseline else "")
    return (f'<header id="verdict-banner" class="banner verdict-{esc(cls)}" '
            f'data-verdict="{esc(cls)}"><h1>{esc(headline)}</h1>'
            f"<p>{subject}{against} on probe set {esc(data.probe_set.name)} "
            f"v{esc(data.probe_set.version)}.</p><ul class=reasons>{reasons}</ul></header>")


def _comparison_section(data: ReportData) -> str:
    if not data.comparisons:
        return ""
    directions = data.directions()
    rows = []
    for c in sorted(data.comparisons, key=lambda c: (is_drift_metric(c.metric), c.method, c.metric)):
        rows.append([
            esc(c.method), esc(c.metric),
            _fmt(c.delta, signed=not is_drift_metric(c.metric)),
            f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]",
            esc(c.n_pairs), _fmt(c.tolerance),
            f'<span class="pill verdict-{esc(c.verdict)}">{esc(c.verdict)}</span>',
            esc(describe_comparison(c, directions.get((c.method, c.metric)))),
        ])
    return ('<section id="comparisons"><h2>Version comparison</h2>'
            "<p>Deltas are candidate minus baseline, paired by probe and word; the 95% CI "
            "resamples probes. Map drift rows show how similar the two versions' maps are "
            "(1 = identical) against a minimum.</p>"
            + table(["method", "metric", "mean", "95% CI", "pairs", "limit", "verdict", "why"],
                    rows, "data")
            + '<div class="chart" id="fig-deltas"></div><div class="chart" id="fig-drift"></div>'
            "</section>")


def _metric_section(data: ReportData, rows: list[MetricRow]) -> str:
    if not rows:
        return '<section id="metrics"><h2>Explanation quality</h2><p>No metrics stored.</p></section>'
    headers = ["method", "metric", "better", _version_label(data, "candidate")]
    if data.has_baseline:
        headers.append(_version_label(data, "baseline"))
    body = []
    for r in rows:
        cells = [esc(r.method), esc(r.metric),
                 "higher" if r.direction == "higher_is_better" else "lower",
                 _ci_cell(r.candidate, r.candidate_pooled)]
        if data.has_baseline:
            cells.append(_ci_cell(r.baseline, r.baseline_pooled))
        body.append(cells)
    return ('<section id="metrics"><h2>Explanation quality</h2>'
            "<p>Mean over probes and words with a 95% bootstrap CI resampling probes.</p>"
            + table([esc(h) for h in headers], body, "data")
            + '<h3>Distribution per probe</h3><div class="chart" id="fig-distributions"></div>'
            "</section>")


def _history_section(data: ReportData) -> str:
    if not data.history:
        return ""
    rows = []
    for h in data.history:
        current = ' class="current"' if h.run_id == data.run.id else ""
        verdict = (f'<span class="pill verdict-{esc(h.verdict)}">{esc(h.verdict)}</span>'
                   if h.verdict else "&ndash;")
        rows.append([f"<span{current}>{esc(h.run_id)}</span>", esc(h.model_version),
                     esc(h.probe_set), esc(h.status), esc(_iso(h.started_at)),
                     esc(_iso(h.finished_at)), verdict,
                     esc(h.baseline_run_id) if h.baseline_run_id is not None else "&ndash;"])
    return ('<section id="history"><h2>Audit history of this model</h2>'
            + table(["run", "version", "probe set", "status", "started", "finished", "verdict",
                     "baseline run"], rows, "data")
            + '<div class="chart" id="fig-history"></div></section>')


def _alerts_section(data: ReportData) -> str:
    if not data.alerts:
        return ""
    rows = []
    for a in data.alerts:
        deliveries = a.payload.get("deliveries", []) if isinstance(a.payload, dict) else []
        outcome = "; ".join(
            f"{d.get('channel')}: {'ok' if d.get('ok') else 'FAILED ' + str(d.get('error'))}"
            for d in deliveries if isinstance(d, dict)
        ) or ", ".join(a.channels)
        rows.append([esc(_iso(a.created_at)), esc(a.verdict), esc(a.message), esc(outcome)])
    return ('<section id="alerts"><h2>Alerts</h2>'
            + table(["raised", "verdict", "message", "channels"], rows, "data") + "</section>")


def _iso(ts: datetime | None) -> str:
    return ts.isoformat(timespec="seconds") if ts else ""


def _lineage_section(lineage: Lineage) -> str:
    items = [
        ("Model", f"{lineage.model_name} version {lineage.model_version}"),
        ("Model source", lineage.model_source_uri),
        ("MLflow run id", lineage.model_mlflow_run_id or ""),
        ("Architecture", lineage.architecture),
        ("Weights hash (sha256)", lineage.weights_hash),
        ("Audit run id", lineage.audit_run_id),
        ("Config hash", lineage.config_hash),
        ("Code version", lineage.code_version),
        ("Probe set", f"{lineage.probe_set_name} version {lineage.probe_set_version} "
                      f"({lineage.n_probes} probes)"),
        ("Probe set content hash", lineage.probe_set_hash),
        ("Audit started", _iso(lineage.run_started_at)),
        ("Audit finished", _iso(lineage.run_finished_at)),
        ("Report generated", _iso(lineage.report_generated_at)),
    ]
    if lineage.baseline_run_id is not None:
        items += [
            ("Baseline", f"version {lineage.baseline_model_version}, audit run "
                         f"{lineage.baseline_run_id}"),
            ("Baseline weights hash", lineage.baseline_weights_hash or ""),
            ("Baseline config hash", lineage.baseline_config_hash or ""),
        ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd><code>{esc(v)}</code></dd>" for k, v in items)
    packages = table(["package", "version"],
                     [[esc(k), esc(v)] for k, v in sorted(lineage.package_versions.items())],
                     "data compact")
    timings = table(["stage", "seconds"],
                    [[esc(k), f"{v:.1f}"] for k, v in sorted(lineage.timings.items())],
                    "data compact") if lineage.timings else ""
    config = json.dumps(lineage.config, indent=2, sort_keys=True, default=str)
    return ('<section id="lineage"><h2>Lineage</h2><dl class="lineage">' + dl + "</dl>"
            "<h3>Methods and settings</h3><pre>" + esc(config) + "</pre>"
            "<h3>Package versions</h3>" + packages + timings + "</section>")


def _gallery_section(data: ReportData, page_links: str) -> str:
    legend = ("Each map is scaled to its own range (transparent/blue low, red high) and drawn over the image "
              "the model saw. The slider walks through the candidate's answer; the baseline column "
              "shows the baseline's map for the same word, when the baseline generated it.")
    return (
        '<section id="gallery"><h2>Probe gallery</h2>'
        f"<p>{esc(legend)}</p>{page_links}"
        '<div class="gallery"><div class="probe-list-wrap"><table id="probe-list" class="data">'
        "<thead><tr><th></th><th>probe</th><th>answer</th><th>note</th></tr></thead><tbody>"
        "</tbody></table></div>"
        '<div id="probe-view"><h3 id="probe-title"></h3>'
        '<p class="prompt">Prompt: <span id="probe-prompt"></span></p>'
        '<div class="slider-row"><label for="token-slider">Token</label>'
        '<input type="range" id="token-slider" min="0" max="0" value="0" step="1">'
        '<span id="token-label"></span></div>'
        '<div class="answers"><div><b>Candidate</b> <span id="answer-cand" class="answer">'
        '</span></div><div id="answer-base-row"><b>Baseline</b> '
        '<span id="answer-base" class="answer"></span></div></div>'
        '<div id="viewer"></div><table id="probe-metrics" class="data compact"></table>'
        "</div></div></section>"
    )


def _page_links(files: list[str], current: int) -> str:
    if len(files) <= 1:
        return ""
    links = []
    for i, name in enumerate(files):
        label = f"page {i + 1}"
        links.append(f"<b>{label}</b>" if i == current
                     else f'<a href="{esc(name)}#gallery">{esc(label)}</a>')
    return '<nav class="pages">Gallery pages: ' + " | ".join(links) + "</nav>"


def _probe_index(entries: list[dict[str, Any]], page_of: dict[str, int], files: list[str]) -> str:
    """On the main page when the gallery is split: every probe, with a link to its page."""
    rows = []
    for e in entries:
        target = f'{files[page_of[e["key"]]]}#probe={e["key"]}'
        if page_of[e["key"]] == 0:
            target = f'#probe={e["key"]}'
        rows.append([f'<a href="{esc(target)}">{esc(e["key"])}</a>',
                     esc(page_of[e["key"]] + 1), esc(e["note"] or "")])
    return ('<details id="probe-index"><summary>All probes and their gallery page</summary>'
            + table(["probe", "page", "note"], rows, "data compact") + "</details>")


# ----------------------------------------------------------------------------- build


def _history_points(data: ReportData) -> list[tuple[str, str, float]]:
    points = []
    for h in data.history:
        for m in h.aggregates:
            points.append((f"{m.method} / {m.metric}", f"v{h.model_version} (run {h.run_id})",
                           float(m.value)))
    return points


def _summary_json(data: ReportData, rows: list[MetricRow], files: list[str],
                  n_probes: int) -> dict[str, Any]:
    lineage = asdict(data.lineage) if data.lineage else {}
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "verdict": data.verdict.verdict if data.verdict else None,
        "reasons": list(data.verdict.reasons) if data.verdict else [],
        "model": {"name": data.model_version.name, "version": data.model_version.version,
                  "run_id": data.run.id, "weights_hash": data.model_version.weights_hash},
        "baseline": ({"name": data.baseline_model_version.name,
                      "version": data.baseline_model_version.version,
                      "run_id": data.baseline_run.id}
                     if data.baseline_run and data.baseline_model_version else None),
        "probe_set": {"name": data.probe_set.name, "version": data.probe_set.version,
                      "content_hash": data.probe_set.content_hash},
        "n_probes_in_gallery": n_probes,
        "words": ({"compared": data.verdict.n_words_compared,
                   "candidate_only": data.verdict.n_words_candidate_only,
                   "baseline_only": data.verdict.n_words_baseline_only}
                  if data.verdict else None),
        "comparisons": [asdict(c) for c in data.comparisons],
        "metrics": [
            {"method": r.method, "metric": r.metric, "direction": r.direction,
             "candidate": asdict(r.candidate) if r.candidate else None,
             "baseline": asdict(r.baseline) if r.baseline else None,
             "candidate_pooled": r.candidate_pooled, "baseline_pooled": r.baseline_pooled}
            for r in rows
        ],
        "alerts": [{"verdict": a.verdict, "message": a.message, "channels": list(a.channels),
                    "created_at": _iso(a.created_at)} for a in data.alerts],
        "lineage": lineage,
        "files": files,
        "warnings": list(data.warnings),
    }


def build_report(
    data: ReportData,
    out_dir: Path | str,
    options: ReportOptions | None = None,
    *,
    stem: str = "report",
) -> ReportPaths:
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
    columns = [_short_label(data, "candidate")]
    if data.has_baseline:
        columns.append(_short_label(data, "baseline"))
    skeleton = figures.viewer_skeleton(methods, columns)

    version_labels = {"candidate": _version_label(data, "candidate"),
                      "baseline": (_version_label(data, "baseline") if data.has_baseline else "")}
    dist_values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
    for side, metrics in (("candidate", data.metrics), ("baseline", data.baseline_metrics)):
        for key, by_probe in _probe_means(metrics).items():
            dist_values[key][side] = list(by_probe.values())
    summary_figures = {
        "fig-distributions": figures.distribution_figure(dict(dist_values), version_labels),
        "fig-deltas": figures.comparison_figure(data.comparisons, drift=False),
        "fig-drift": figures.comparison_figure(data.comparisons, drift=True),
        "fig-history": figures.history_figure(_history_points(data)),
    }
    summary_figures = {k: v for k, v in summary_figures.items() if v is not None}

    title = options.title or (f"mllm-audit: {data.model_version.name} "
                              f"v{data.model_version.version} (run {data.run.id})")
    # Size accounting: what every page carries, what only the main page carries, per probe.
    shell = len(plotly_js()) + len(static_text("report.js")) + len(static_text("report.css")) \
        + len(script_json(skeleton)) + 20_000
    main_extra = len(script_json(summary_figures)) + 60_000 + 400 * len(entries)
    probe_sizes = []
    seen_images: set[int] = set()
    for e in entries:
        size = len(script_json(e))
        if e["img"] not in seen_images:
            seen_images.add(e["img"])
            size += len(images.images[e["img"]]["src"]) + 50
        probe_sizes.append(size)
    budget = options.size_budget_bytes
    pages = paginate(probe_sizes, [budget - shell - main_extra, budget - shell],
                     max(1, options.page_size))
    files = [f"{stem}.html"] + [f"{stem}-gallery-{i + 1}.html" for i in range(1, len(pages))]
    page_of = {entries[i]["key"]: p for p, idxs in enumerate(pages) for i in idxs}

    documents: dict[str, str] = {}
    for p, idxs in enumerate(pages):
        page_entries = [entries[i] for i in idxs]
        used = sorted({e["img"] for e in page_entries})
        remap = {old: new for new, old in enumerate(used)}
        page_entries = [dict(e, img=remap[e["img"]]) for e in page_entries]
        gallery = {
            "methods": methods,
            "columns": columns,
            "images": [images.images[i] for i in used],
            "probes": page_entries,
            "skeleton": skeleton,
        }
        links = _page_links(files, p)
        if p == 0:
            body = (_banner(data) + '<main>'
                    + _summary_block(data, len(entries))
                    + _comparison_section(data) + _metric_section(data, rows)
                    + _gallery_section(data, links)
                    + (_probe_index(entries, page_of, files) if len(pages) > 1 else "")
                    + _history_section(data) + _alerts_section(data)
                    + _lineage_section(data.lineage) + _warnings_section(data) + "</main>")
            payload = {"figures": summary_figures, "gallery": gallery}
        else:
            body = (_banner(data) + f'<main><p><a href="{esc(files[0])}">Back to the summary'
                    f"</a></p>" + _gallery_section(data, links) + "</main>")
            payload = {"figures": {}, "gallery": gallery}
        page_title = title if p == 0 else f"{title}: gallery page {p + 1}"
        documents[files[p]] = page(title=page_title, body_html=body, data=payload)
    oversize = [name for name, doc in documents.items()
                if len(doc.encode("utf-8")) > options.size_budget_bytes]
    if oversize:
        data.warnings.append("over the size budget despite splitting: " + ", ".join(oversize))

    summary = _summary_json(data, rows, files, len(entries))
    summary["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    summary["sizes_bytes"] = {name: len(doc.encode("utf-8")) for name, doc in documents.items()}
    documents[f"{stem}.json"] = json.dumps(summary, indent=2, default=str, allow_nan=False)
    _write_all(out, documents)
    return ReportPaths(html=out / files[0], json=out / f"{stem}.json",
                       gallery_pages=tuple(out / f for f in files[1:]))


def _summary_block(data: ReportData, n_probes: int) -> str:
    v = data.verdict
    words = ""
    if v is not None and v.n_words_compared is not None:
        words = (f"<li>Words compared (generated by both versions): {esc(v.n_words_compared)}; "
                 f"only the candidate: {esc(v.n_words_candidate_only)}; only the baseline: "
                 f"{esc(v.n_words_baseline_only)}.</li>")
    methods = ", ".join(data.methods()) or "none"
    return ('<section id="summary"><h2>Summary</h2><ul>'
            f"<li>Probes in this report: {esc(n_probes)}</li>"
            f"<li>Explainers: {esc(methods)}</li>{words}</ul></section>")


def _warnings_section(data: ReportData) -> str:
    if not data.warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in data.warnings)
    return f'<section id="warnings"><h2>Warnings</h2><ul>{items}</ul></section>'


def _write_all(out: Path, documents: dict[str, str]) -> None:
    temps: list[tuple[Path, Path]] = []
    try:
        for name, text in documents.items():
            tmp = out / f".{name}.tmp-{os.getpid()}"
            tmp.write_text(text, encoding="utf-8")
            temps.append((tmp, out / name))
        for tmp, final in temps:
            os.replace(tmp, final)
    except OSError as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise ReportBuildError(f"cannot write the report to {out}: {exc}") from exc
