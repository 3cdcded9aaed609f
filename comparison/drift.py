"""Map drift between two versions: do they look at the same places for the same words?

Needs no masks. For each probe and method, every word both versions generated (the k-th "red" of
one answer with the k-th "red" of the other, `comparison.words`) has a word map per version (the
mean of its tokens' maps); the two are compared by Spearman rank correlation and by the overlap of
their top cells (`comparison.maps`). Each method's mean similarity gets the probe bootstrap and is
judged against its minimum (`comparison.rules.drift_verdict`).

`most_changed_token` asks the same question of single tokens: the report's gallery opens each
probe on the token whose map moved most.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from comparison.bootstrap import cluster_bootstrap_mean, stable_seed
from comparison.describe import with_reason
from comparison.inputs import MapLike, RunResults
from comparison.maps import common_grid, resize_grid, spearman_rows, top_overlap, total_variation
from comparison.result import MetricComparison, ProbeDrift
from comparison.rules import DRIFT_SPEARMAN, DRIFT_TOP_OVERLAP, drift_verdict, few_probes
from comparison.settings import RegressionConfig
from comparison.words import WordKey, generation_words, map_words, occurrence_keys


@dataclass(frozen=True)
class ProbeWordsDrift:
    """One probe: the words of each answer, which were shared, and how alike their maps are."""

    probe_key: str
    candidate_text: str | None
    baseline_text: str | None
    shared: frozenset[WordKey]
    candidate_only: frozenset[WordKey]
    baseline_only: frozenset[WordKey]
    drift: tuple[ProbeDrift, ...] = ()
    spearman: Mapping[str, list[float]] = field(default_factory=dict)  # method -> per shared word
    overlap: Mapping[str, list[float]] = field(default_factory=dict)


def word_maps(maps: Sequence[MapLike], occurrence: dict[int, WordKey]) -> dict[str, dict[WordKey, np.ndarray]]:
    """method -> (word, k) -> the mean map of the word's tokens."""
    grouped: dict[str, dict[WordKey, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for m in maps:
        key = occurrence.get(m.word_index)
        if key is not None:
            grouped[m.method][key].append(np.asarray(m.map, dtype=np.float64))
    return {
        method: {key: np.mean([resize_grid(g, grids[0].shape) for g in grids], axis=0)
                 for key, grids in words.items()}
        for method, words in grouped.items()
    }


def run_answers(run: RunResults) -> tuple[dict[str, dict[int, str]], dict[str, str], dict[str, list[MapLike]]]:
    """probe -> word_index -> word (from the answer, else from the maps), texts, maps by probe."""
    words = {g.probe_key: generation_words(g) for g in run.generations}
    texts = {g.probe_key: g.text for g in run.generations}
    maps: dict[str, list[MapLike]] = defaultdict(list)
    for m in run.maps:
        maps[m.probe_key].append(m)
    for probe_key, probe_maps in maps.items():
        words.setdefault(probe_key, map_words(probe_maps))
    return words, texts, maps


def _spearman_pairs(pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[float]:
    """Spearman of each (a, b) pair, batched per grid shape."""
    out = [0.0] * len(pairs)
    by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, (a, _) in enumerate(pairs):
        by_shape[a.shape].append(i)
    for indices in by_shape.values():
        rows = spearman_rows(np.stack([pairs[i][0].ravel() for i in indices]),
                             np.stack([pairs[i][1].ravel() for i in indices]))
        for i, value in zip(indices, rows):
            out[i] = float(value)
    return out


def probe_drift(candidate: RunResults, baseline: RunResults, top_fraction: float) -> list[ProbeWordsDrift]:
    """Word pairing and map similarity for every probe both runs answered."""
    c_words, c_texts, c_maps = run_answers(candidate)
    b_words, b_texts, b_maps = run_answers(baseline)
    out = []
    for probe_key in sorted(set(c_words) & set(b_words)):
        c_occ, b_occ = occurrence_keys(c_words[probe_key]), occurrence_keys(b_words[probe_key])
        c_keys, b_keys = set(c_occ.values()), set(b_occ.values())
        shared = c_keys & b_keys
        c_word_maps, b_word_maps = word_maps(c_maps[probe_key], c_occ), word_maps(b_maps[probe_key], b_occ)
        drifts, spearman, overlap = [], {}, {}
        for method in sorted(set(c_word_maps) & set(b_word_maps)):
            keys = sorted(shared & set(c_word_maps[method]) & set(b_word_maps[method]))
            if not keys:
                continue
            pairs = [common_grid(c_word_maps[method][k], b_word_maps[method][k]) for k in keys]
            spearman[method] = _spearman_pairs(pairs)
            overlap[method] = [top_overlap(a, b, top_fraction) for a, b in pairs]
            drifts.append(ProbeDrift(method, float(np.mean(spearman[method])),
                                     float(np.mean(overlap[method])), len(keys)))
        out.append(ProbeWordsDrift(probe_key, c_texts.get(probe_key), b_texts.get(probe_key),
                                   frozenset(shared), frozenset(c_keys - b_keys), frozenset(b_keys - c_keys),
                                   tuple(drifts), spearman, overlap))
    return out


def drift_checks(probes: Sequence[ProbeWordsDrift], config: RegressionConfig) -> list[MetricComparison]:
    """One check per method and similarity measure, over the probes' shared words."""
    checks = []
    for metric, minimum, attribute in ((DRIFT_SPEARMAN, config.drift.min_spearman, "spearman"),
                                       (DRIFT_TOP_OVERLAP, config.drift.min_top_overlap, "overlap")):
        by_method: dict[str, list[list[float]]] = defaultdict(list)
        for probe in probes:
            for method, values in getattr(probe, attribute).items():
                by_method[method].append(values)
        for method in sorted(by_method):
            ci = cluster_bootstrap_mean(by_method[method], n_resamples=config.n_resamples,
                                        confidence=config.confidence, rng=stable_seed(config.seed, method, metric))
            verdict = few_probes(drift_verdict(ci, minimum), ci.n_probes, config.min_probes)
            check = MetricComparison(method, metric, "higher_is_better", ci.mean, ci.low, ci.high, ci.n_values,
                                     ci.n_probes, minimum, verdict, reason="",
                                     counts=config.drift.affects_verdict)
            checks.append(with_reason(check, config))
    return checks


def most_changed_token(
    cand: Mapping[str, Mapping[int, np.ndarray]],
    base: Mapping[str, Mapping[int, np.ndarray]],
    pair: Sequence[int],
    eligible: set[int] | None = None,
) -> int | None:
    """The candidate token whose map differs most from the baseline's map of the same word.

    `cand`/`base`: method -> token index -> map; `pair[t]`: the baseline token paired with
    candidate token t (-1: none, `comparison.words.pair_tokens`). Distance: total variation of the
    two maps as distributions, averaged over the methods both versions have. `eligible` (e.g. the
    tokens of object words) narrows the choice; None when no eligible token is paired.
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
