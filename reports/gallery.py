"""The probe gallery's payload: per probe, both versions' answers and maps, its image, its note.

Why a JSON payload and not HTML: the page's script renders one probe at a time from it (maps as
bytes, `reports.encode`), so a 200-probe gallery fits one file. Each probe opens on the object word
whose map moved most between the versions (`comparison.drift.most_changed_token`); probes beyond the
limit of a failing check come first, farthest first (`ComparisonResult.probe_flags`). A probe's
title names at most `TOP_CHANGES` of those changes; its table holds every metric.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from comparison import DRIFT_SPEARMAN, DRIFT_TOP_OVERLAP, ProbeFlag
from comparison.drift import most_changed_token
from comparison.rules import VERDICT_ORDER
from comparison.maps import resize_grid
from comparison.words import generation_words, normalize_word, pair_tokens
from reports.data import ReportData
from reports.encode import b64, data_uri, downsample_grid, load_image, placeholder_image, quantize_map, thumbnail
from reports.options import ReportOptions
from reports.page import number
from reports.statistics import MetricKey, probe_means
from storage.records import GenerationRecord, ProbeRecord, TokenMapRecord

# Per-word metrics that exist only for words naming an object with a mask: the words whose maps
# the gallery should open on.
OBJECT_WORD_METRICS = frozenset({"pointing_game", "energy_in_mask", "obj_iou_per_word"})

MapsByMethod = dict[str, dict[int, np.ndarray]]  # method -> token index -> map
TOP_CHANGES = 3  # changes named in a probe's title; the rest are in its table


def flag_text(flag: ProbeFlag) -> str:
    """"tam pointing_game −1.000": the method, the metric and this probe's value."""
    return f"{flag.method} {flag.metric} {number(flag.value, signed=not flag.is_drift)}"


def top_changes(flags: tuple[ProbeFlag, ...]) -> list[ProbeFlag]:
    """The changes a probe's title names: its worst flags of the worst check verdict among them."""
    return [f for f in flags if f.check_verdict == flags[0].check_verdict][:TOP_CHANGES] if flags else []


def probe_rows(means: list[list[Any]], flags: tuple[ProbeFlag, ...], drift: dict[tuple[str, str], float]
               ) -> list[list[Any]]:
    """The probe's table: [method, metric, candidate, baseline, flag verdict or None, similarity or None],
    flagged rows first in flag order, then the rest by method and metric; map drift rows carry the
    similarity of the two versions' maps instead of two values."""
    verdict_of = {(f.method, f.metric): f.check_verdict for f in flags}
    rank = {(f.method, f.metric): i for i, f in enumerate(flags)}
    rows = [[method, metric, c, b, verdict_of.get((method, metric)), None] for method, metric, c, b in means]
    rows += [[method, metric, None, None, verdict_of.get((method, metric)), value]
             for (method, metric), value in sorted(drift.items())]
    return sorted(rows, key=lambda r: (rank.get((r[0], r[1]), len(flags)), r[0], r[1]))


def display_token(token: str) -> str:
    """Tokenizer space markers shown as the spaces they stand for."""
    return token.replace("\u0120", " ").replace("\u2581", " ").replace("\u010a", "\n")


def _maps_by_probe(maps: list[TokenMapRecord]) -> dict[str, MapsByMethod]:
    out: dict[str, MapsByMethod] = defaultdict(lambda: defaultdict(dict))
    for m in maps:
        out[m.probe_key][m.method][m.token_index] = m.map
    return out


def _side_payload(gen: GenerationRecord | None, maps: MapsByMethod, labels: dict[int, str],
                  max_grid: int) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for method, by_token in maps.items():
        tokens = sorted(by_token)
        grids = [downsample_grid(by_token[t], max_grid) for t in tokens]
        shape = grids[0].shape
        # one shape per method and probe, so the page can slice the bytes evenly
        grids = [g if g.shape == shape else resize_grid(g, shape) for g in grids]
        encoded[method] = {"s": [int(shape[0]), int(shape[1])], "t": tokens,
                           "d": b64(b"".join(quantize_map(g) for g in grids))}
    if gen is not None:
        return {"text": gen.text, "tokens": [display_token(t) for t in gen.tokens], "maps": encoded}
    # maps without a stored answer: the token list comes from the maps' own token texts
    n = 1 + max(labels, default=-1)
    return {"text": "", "tokens": [labels.get(i, "") for i in range(n)], "maps": encoded}


def _object_tokens(gen: GenerationRecord, words: set[str] | None) -> set[int] | None:
    """Token indices of the answer words that name an object (None: no such words known)."""
    if not words:
        return None
    by_word = generation_words(gen)
    tokens = {t for t, w in enumerate(gen.word_index) if w >= 0 and by_word.get(w) in words}
    return tokens or None


class ImageStore:
    """Each distinct probe image is encoded once and referenced by index.

    Stored thumbnails come first (the report needs nothing but the database); images given by the
    caller next; the probe folder last, for databases that predate stored thumbnails, and the
    report says so.
    """

    def __init__(self, data: ReportData, options: ReportOptions):
        self.data, self.options = data, options
        self.by_source: dict[Any, int] = {}
        self.images: list[dict[str, Any]] = []
        self.read_from_folder = 0

    def index_for(self, probe: ProbeRecord) -> int:
        source: bytes | np.ndarray | Path | str
        if probe.thumbnail:
            source = ident = probe.thumbnail
        elif isinstance(given := self.data.probe_images.get(probe.probe_key), np.ndarray):
            source, ident = given, f"array:{probe.probe_key}"
        else:
            if given is None:
                root = self.data.probe_root
                given = (root / probe.image_path) if root is not None else Path(probe.image_path)
                self.read_from_folder += 1
            source = given
            ident = f"path:{Path(source).resolve() if Path(source).exists() else source}"
        if ident not in self.by_source:
            self.images.append(self._encode(probe.probe_key, source))
            self.by_source[ident] = len(self.images) - 1
        return self.by_source[ident]

    def _encode(self, probe_key: str, source: bytes | np.ndarray | Path | str) -> dict[str, Any]:
        max_side = self.options.image_max_side
        try:
            if isinstance(source, bytes):
                uri, w, h = data_uri(source)
                if max(w, h) <= max_side:
                    return {"src": uri, "w": w, "h": h}
            img = load_image(source)
        except (OSError, ValueError) as exc:
            self.data.warnings.append(f"probe {probe_key}: image not readable ({exc}); shown as a grey placeholder")
            img = placeholder_image()
        uri, w, h = data_uri(thumbnail(img, max_side))
        return {"src": uri, "w": w, "h": h}

    def folder_warning(self) -> str | None:
        if not self.read_from_folder:
            return None
        return (f"{self.read_from_folder} probe image(s) were read from the probe folder "
                f"({self.data.probe_root}): this database predates stored thumbnails, so this report "
                "cannot be rebuilt from the database alone")


def _object_words(data: ReportData) -> dict[str, set[str]]:
    """probe -> the normalised words of its answer that name a masked object (`OBJECT_WORD_METRICS`)."""
    object_words: dict[str, set[str]] = defaultdict(set)
    for m in data.metrics:
        if m.probe_key is not None and m.word and m.metric in OBJECT_WORD_METRICS:
            object_words[m.probe_key].add(normalize_word(m.word.split("#")[0]))
    return object_words


def _metric_values(key: str, cand_means: dict[MetricKey, dict[str, float]],
                   base_means: dict[MetricKey, dict[str, float]], flagged: set[MetricKey],
                   directions: Mapping[MetricKey, str]) -> tuple[list[list[Any]], float]:
    """The probe's [method, metric, candidate, baseline] means of every metric either version has,
    and its sort score after its flags: its worst change (signed so that lower is worse) on a metric
    whose check did not pass (inf: none)."""
    rows, score = [], math.inf
    for mm in sorted(set(cand_means) | set(base_means)):
        c, b = cand_means.get(mm, {}).get(key), base_means.get(mm, {}).get(key)
        if c is None and b is None:
            continue
        rows.append([mm[0], mm[1], c, b])
        if mm in flagged and c is not None and b is not None:
            sign = -1.0 if directions.get(mm) == "lower_is_better" else 1.0
            score = min(score, sign * (c - b))
    return rows, score


def gallery_entries(data: ReportData, options: ReportOptions) -> tuple[list[dict[str, Any]], ImageStore]:
    """One JSON-able entry per probe (probes with a failing check first, worst change first) and
    the shared image store."""
    cand_gen = {g.probe_key: g for g in data.generations}
    base_gen = {g.probe_key: g for g in data.baseline_generations}
    cand_maps, base_maps = _maps_by_probe(data.maps), _maps_by_probe(data.baseline_maps)
    cand_means, base_means = probe_means(data.metrics), probe_means(data.baseline_metrics)
    directions = data.directions()
    flagged = {c.key for c in data.comparisons if c.verdict != "pass" and not c.is_drift}
    flags = data.verdict.probe_flags() if data.verdict else {}
    drift = {p.probe_key: {(d.method, m): v for d in p.drift
                           for m, v in ((DRIFT_SPEARMAN, d.spearman), (DRIFT_TOP_OVERLAP, d.top_overlap))
                           if math.isfinite(v)}
             for p in (data.verdict.probes if data.verdict else ())}
    images = ImageStore(data, options)
    labels: dict[str, dict[int, str]] = defaultdict(dict)
    for m in data.maps:
        labels[m.probe_key][m.token_index] = display_token(m.token_text)
    object_words = _object_words(data)

    known = {p.probe_key for p in data.probes}
    extra = sorted((set(cand_gen) | set(cand_maps)) - known)
    if extra:
        data.warnings.append(f"{len(extra)} probe(s) have results but are not in the probe set: " + ", ".join(extra[:10]))

    entries = []
    for probe in data.probes:
        key = probe.probe_key
        if key not in cand_gen and key not in cand_maps:
            continue
        rows, score = _metric_values(key, cand_means, base_means, flagged, directions)
        mine = flags.get(key, ())
        top = top_changes(mine)
        entry: dict[str, Any] = {
            "key": key, "prompt": probe.prompt, "img": images.index_for(probe),
            "note": (flag_text(mine[0]) + (f" (+{len(mine) - 1} more)" if len(mine) > 1 else "")) if mine else None,
            "top": [[flag_text(f), f.check_verdict] for f in top], "n_flags": len(mine),
            "rows": probe_rows(rows, mine, drift.get(key, {})),
            "c": _side_payload(cand_gen.get(key), cand_maps.get(key, {}), labels[key], options.max_grid),
            "b": None, "pair": None, "focus": None,
            "_order": ((0, -VERDICT_ORDER[mine[0].check_verdict], -mine[0].beyond) if mine else (1, 0, 0.0), score),
        }
        if data.has_baseline and (key in base_gen or key in base_maps):
            base_labels = {t: "" for by in base_maps.get(key, {}).values() for t in by}
            entry["b"] = _side_payload(base_gen.get(key), base_maps.get(key, {}), base_labels, options.max_grid)
            if key in cand_gen and key in base_gen:
                entry["pair"] = pair_tokens(cand_gen[key], base_gen[key])
                entry["focus"] = most_changed_token(cand_maps.get(key, {}), base_maps.get(key, {}), entry["pair"],
                                                    _object_tokens(cand_gen[key], object_words.get(key)))
        entries.append(entry)
    entries.sort(key=lambda e: (e["_order"], e["key"]))
    for e in entries:
        del e["_order"]
    if (warning := images.folder_warning()) is not None:
        data.warnings.append(warning)
    return entries, images
