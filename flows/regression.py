"""Regression statistics: is the candidate's explanation quality worse than the baseline's?

Method (docs/DESIGN.md section 8). Every per-probe metric value is paired by (method, metric, probe,
word) across the two runs; delta = candidate - baseline. The mean delta gets a 95% bootstrap CI
that resamples PROBES, not words or tokens (words of one caption are not independent, see
`comparison.bootstrap`). With a tolerance per metric:

- higher-is-better metrics: fail when the CI's upper bound < -tolerance (surely worse by more than
  we accept); warn when the CI straddles -tolerance; pass otherwise.
- lower-is-better metrics: the mirror image around +tolerance.

Map drift needs no masks: for each probe, method and word both versions generated, the two word
maps (mean of the word's token maps) are compared by Spearman rank correlation and by the overlap
of their top-20% cells. The mean similarity gets the same probe bootstrap; it fails when the CI's
upper bound is below its own minimum, warns when the CI straddles it.

Where the versions generate different words only words both produced are compared (the k-th "red"
of one answer with the k-th "red" of the other), and the verdict says how many.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from comparison.bootstrap import MeanCI, cluster_bootstrap_mean, stable_seed
from comparison.maps import common_grid, resize_grid, spearman_similarity, top_overlap
from comparison.words import generation_words, map_words, normalize_word, occurrence_keys
from reports.verdict import VERDICT_ORDER, VerdictSummary, describe_comparison, worst_verdict
from storage.records import (
    ComparisonRecord,
    Direction,
    GenerationRecord,
    MetricRecord,
    TokenMapRecord,
    Verdict,
    VerdictRecord,
)

DRIFT_SPEARMAN = "map_drift_spearman"
DRIFT_TOP_OVERLAP = "map_drift_top_overlap"


class RegressionError(ValueError):
    """The two runs cannot be compared (nothing in common, or inconsistent input)."""


@dataclass(frozen=True)
class DriftConfig:
    """Minimum accepted similarity between the two versions' maps on the same probe and word."""

    min_spearman: float = 0.3
    min_top_overlap: float = 0.25
    top_fraction: float = 0.2
    affects_verdict: bool = True


@dataclass(frozen=True)
class RegressionConfig:
    """Tolerances and bootstrap settings; `tolerances` maps metric name -> tolerance."""

    tolerances: Mapping[str, float] = field(default_factory=dict)
    default_tolerance: float = 0.05
    drift: DriftConfig = field(default_factory=DriftConfig)
    n_resamples: int = 2000
    confidence: float = 0.95
    seed: int = 0
    min_probes: int = 3  # fewer paired probes than this: at best a warn, never a silent pass

    def __post_init__(self) -> None:
        if self.default_tolerance < 0 or any(t < 0 for t in self.tolerances.values()):
            raise RegressionError("tolerances must be non-negative")
        if not 0.0 < self.drift.top_fraction <= 1.0:
            raise RegressionError(
                f"drift.top_fraction must lie in (0, 1], got {self.drift.top_fraction}"
            )

    def tolerance_for(self, metric: str) -> float:
        return float(self.tolerances.get(metric, self.default_tolerance))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "RegressionConfig":
        """Build from a config file's `regression:` section; unknown keys are an error."""
        known = {"tolerances", "default_tolerance", "drift", "n_resamples", "confidence",
                 "seed", "min_probes"}
        unknown = set(raw) - known
        if unknown:
            raise RegressionError(f"unknown regression settings: {sorted(unknown)}")
        kwargs = dict(raw)
        if "drift" in kwargs:
            drift_raw = dict(kwargs["drift"])
            drift_known = {"min_spearman", "min_top_overlap", "top_fraction", "affects_verdict"}
            if set(drift_raw) - drift_known:
                raise RegressionError(
                    f"unknown drift settings: {sorted(set(drift_raw) - drift_known)}"
                )
            kwargs["drift"] = DriftConfig(**drift_raw)
        if "tolerances" in kwargs:
            kwargs["tolerances"] = {str(k): float(v) for k, v in kwargs["tolerances"].items()}
        return cls(**kwargs)


@dataclass(frozen=True)
class RunResults:
    """What one run produced, as read from storage."""

    run_id: int
    metrics: list[MetricRecord]
    maps: list[TokenMapRecord] = field(default_factory=list)
    generations: list[GenerationRecord] = field(default_factory=list)


@dataclass(frozen=True)
class MetricComparison:
    """Verdict for one (method, metric): the mean paired delta (or, for drift, the mean
    similarity) with its CI, how many pairs and probes it rests on, and why."""

    method: str
    metric: str
    direction: Direction
    delta: float
    ci_low: float
    ci_high: float
    n_pairs: int
    n_probes: int
    tolerance: float  # for drift: the minimum accepted similarity
    verdict: Verdict
    reason: str
    is_drift: bool = False


@dataclass(frozen=True)
class ProbeDelta:
    method: str
    metric: str
    delta: float  # mean over the probe's paired words
    n_pairs: int


@dataclass(frozen=True)
class ProbeDrift:
    method: str
    spearman: float
    top_overlap: float
    n_words: int


@dataclass(frozen=True)
class ProbeComparison:
    """Per-probe detail: which words were shared and how each metric and map moved."""

    probe_key: str
    candidate_text: str | None
    baseline_text: str | None
    shared_words: tuple[str, ...]
    candidate_only_words: tuple[str, ...]
    baseline_only_words: tuple[str, ...]
    deltas: tuple[ProbeDelta, ...]
    drift: tuple[ProbeDrift, ...]


@dataclass(frozen=True)
class RegressionVerdict:
    """The outcome of comparing a candidate run with a baseline run."""

    candidate_run_id: int
    baseline_run_id: int
    verdict: Verdict
    reasons: tuple[str, ...]
    comparisons: tuple[MetricComparison, ...]
    probes: tuple[ProbeComparison, ...]
    n_probes_compared: int
    n_words_compared: int
    n_words_candidate_only: int
    n_words_baseline_only: int
    skipped: tuple[str, ...] = ()  # metrics that could not be paired, as sentences

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    def comparison_records(self) -> list[ComparisonRecord]:
        """Comparison records of the stored verdict (drift rows store the similarity as
        `delta` and the minimum as `tolerance`; `reports.verdict.is_drift_metric` tells them)."""
        return [
            ComparisonRecord(
                candidate_run_id=self.candidate_run_id,
                baseline_run_id=self.baseline_run_id,
                method=c.method,
                metric=c.metric,
                delta=c.delta,
                ci_low=c.ci_low,
                ci_high=c.ci_high,
                n_pairs=c.n_pairs,
                tolerance=c.tolerance,
                verdict=c.verdict,
            )
            for c in self.comparisons
        ]

    def summary(self, max_probe_notes: int = 1000) -> VerdictSummary:
        """The report-level view (banner, reasons, a note per probe that moved)."""
        flagged = {(c.method, c.metric) for c in self.comparisons if c.verdict != "pass"}
        notes: dict[str, str] = {}
        for probe in self.probes:
            parts = [
                f"{d.method} {d.metric} {d.delta:+.3f}"
                for d in probe.deltas
                if (d.method, d.metric) in flagged
            ]
            parts += [
                f"{d.method} maps agree {d.spearman:.2f} (Spearman)"
                for d in probe.drift
                if (d.method, DRIFT_SPEARMAN) in flagged
            ]
            if parts and len(notes) < max_probe_notes:
                notes[probe.probe_key] = "; ".join(parts)
        return VerdictSummary(
            verdict=self.verdict,
            reasons=self.reasons,
            n_words_compared=self.n_words_compared,
            n_words_candidate_only=self.n_words_candidate_only,
            n_words_baseline_only=self.n_words_baseline_only,
            probe_notes=notes,
        )


# ----------------------------------------------------------------------------- drift


def _word_maps(
    maps: list[TokenMapRecord], occurrence: dict[int, tuple[str, int]]
) -> dict[str, dict[tuple[str, int], np.ndarray]]:
    """method -> (word, k) -> mean map of the word's tokens."""
    grouped: dict[str, dict[tuple[str, int], list[np.ndarray]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for m in maps:
        key = occurrence.get(m.word_index)
        if key is not None:
            grouped[m.method][key].append(np.asarray(m.map, dtype=np.float64))
    out: dict[str, dict[tuple[str, int], np.ndarray]] = {}
    for method, words in grouped.items():
        out[method] = {}
        for key, grids in words.items():
            shape = grids[0].shape
            out[method][key] = np.mean([resize_grid(g, shape) for g in grids], axis=0)
    return out


# ----------------------------------------------------------------------------- verdicts


def _metric_verdict(ci: MeanCI, direction: Direction, tolerance: float) -> Verdict:
    if direction == "lower_is_better":
        if ci.low > tolerance:
            return "fail"
        return "warn" if ci.high > tolerance else "pass"
    if ci.high < -tolerance:
        return "fail"
    return "warn" if ci.low < -tolerance else "pass"


def _drift_verdict(ci: MeanCI, minimum: float) -> Verdict:
    if ci.high < minimum:
        return "fail"
    return "warn" if ci.low < minimum else "pass"


def _few_probes(verdict: Verdict, n_probes: int, config: RegressionConfig) -> Verdict:
    """Too few probes to trust a pass: report at least a warn."""
    if n_probes < config.min_probes and verdict == "pass":
        return "warn"
    return verdict


def _per_probe_metric_values(
    records: list[MetricRecord],
) -> tuple[dict[tuple[str, str], dict[tuple[str, str], float]], dict[tuple[str, str], Direction]]:
    """(method, metric) -> (probe, word) -> value; duplicates of a key are averaged."""
    sums: dict[tuple[str, str], dict[tuple[str, str], list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    directions: dict[tuple[str, str], Direction] = {}
    for r in records:
        if r.probe_key is None or not math.isfinite(r.value):
            continue
        word = normalize_word(r.word) if r.word is not None else ""
        sums[(r.method, r.metric)][(r.probe_key, word)].append(float(r.value))
        directions[(r.method, r.metric)] = r.direction
    values = {
        mm: {key: float(np.mean(v)) for key, v in by_key.items()} for mm, by_key in sums.items()
    }
    return values, directions


def compare_runs(
    candidate: RunResults, baseline: RunResults, config: RegressionConfig | None = None
) -> RegressionVerdict:
    """Compare a candidate run with a baseline run; deterministic for a given config.seed."""
    config = config or RegressionConfig()
    cand_values, cand_dirs = _per_probe_metric_values(candidate.metrics)
    base_values, base_dirs = _per_probe_metric_values(baseline.metrics)

    comparisons: list[MetricComparison] = []
    skipped: list[str] = []
    probe_deltas: dict[str, list[ProbeDelta]] = defaultdict(list)

    for key in sorted(set(cand_values) | set(base_values)):
        method, metric = key
        if key not in cand_values or key not in base_values:
            side = "candidate" if key in cand_values else "baseline"
            skipped.append(f"{method} {metric} exists only in the {side} run; not compared.")
            continue
        if cand_dirs[key] != base_dirs[key]:
            raise RegressionError(
                f"{method} {metric} is {cand_dirs[key]} in the candidate run but "
                f"{base_dirs[key]} in the baseline run"
            )
        shared = sorted(set(cand_values[key]) & set(base_values[key]))
        if not shared:
            skipped.append(f"{method} {metric}: no probe and word in common; not compared.")
            continue
        by_probe: dict[str, list[float]] = defaultdict(list)
        for probe_key, word in shared:
            by_probe[probe_key].append(
                cand_values[key][(probe_key, word)] - base_values[key][(probe_key, word)]
            )
        ci = cluster_bootstrap_mean(
            list(by_probe.values()),
            n_resamples=config.n_resamples,
            confidence=config.confidence,
            rng=stable_seed(config.seed, method, metric),
        )
        tolerance = config.tolerance_for(metric)
        verdict = _few_probes(_metric_verdict(ci, cand_dirs[key], tolerance), ci.n_probes, config)
        record = ComparisonRecord(
            candidate_run_id=candidate.run_id,
            baseline_run_id=baseline.run_id,
            method=method,
            metric=metric,
            delta=ci.mean,
            ci_low=ci.low,
            ci_high=ci.high,
            n_pairs=ci.n_values,
            tolerance=tolerance,
            verdict=verdict,
        )
        reason = describe_comparison(record, cand_dirs[key])
        if ci.n_probes < config.min_probes:
            reason += f" Only {ci.n_probes} probe(s) paired (minimum {config.min_probes})."
        comparisons.append(
            MetricComparison(method, metric, cand_dirs[key], ci.mean, ci.low, ci.high,
                             ci.n_values, ci.n_probes, tolerance, verdict, reason)
        )
        for probe_key, deltas in sorted(by_probe.items()):
            probe_deltas[probe_key].append(
                ProbeDelta(method, metric, float(np.mean(deltas)), len(deltas))
            )

    drift_comparisons, probe_details, word_counts = _compare_maps(
        candidate, baseline, config, probe_deltas
    )
    comparisons.extend(drift_comparisons)
    if not comparisons:
        raise RegressionError(
            f"runs {candidate.run_id} and {baseline.run_id} share no metric values and no maps: "
            "nothing to compare"
        )

    counted = [c for c in comparisons if config.drift.affects_verdict or not c.is_drift]
    overall = worst_verdict([c.verdict for c in counted])
    n_shared, n_cand_only, n_base_only = word_counts
    n_probes = len(probe_details)
    flagged = sorted(
        (c for c in counted if c.verdict != "pass"),
        key=lambda c: (-VERDICT_ORDER[c.verdict], c.method, c.metric),
    )
    reasons = [c.reason for c in flagged]
    if not flagged:
        reasons.append(f"All {len(counted)} comparisons are within tolerance.")
    reasons.append(
        f"Compared {n_shared} words both versions generated on {n_probes} probes "
        f"({n_cand_only} words only the candidate generated and {n_base_only} only the "
        "baseline generated were left out)."
    )
    return RegressionVerdict(
        candidate_run_id=candidate.run_id,
        baseline_run_id=baseline.run_id,
        verdict=overall,
        reasons=tuple(reasons),
        comparisons=tuple(comparisons),
        probes=tuple(probe_details),
        n_probes_compared=n_probes,
        n_words_compared=n_shared,
        n_words_candidate_only=n_cand_only,
        n_words_baseline_only=n_base_only,
        skipped=tuple(skipped),
    )


def _words_by_probe(run: RunResults) -> tuple[dict[str, dict[int, str]], dict[str, str]]:
    words: dict[str, dict[int, str]] = {}
    texts: dict[str, str] = {}
    for gen in run.generations:
        words[gen.probe_key] = generation_words(gen)
        texts[gen.probe_key] = gen.text
    maps_by_probe: dict[str, list[TokenMapRecord]] = defaultdict(list)
    for m in run.maps:
        maps_by_probe[m.probe_key].append(m)
    for probe_key, maps in maps_by_probe.items():
        if probe_key not in words:
            words[probe_key] = map_words(maps)
    return words, texts


def _compare_maps(
    candidate: RunResults,
    baseline: RunResults,
    config: RegressionConfig,
    probe_deltas: dict[str, list[ProbeDelta]],
) -> tuple[list[MetricComparison], list[ProbeComparison], tuple[int, int, int]]:
    cand_words, cand_texts = _words_by_probe(candidate)
    base_words, base_texts = _words_by_probe(baseline)
    cand_maps: dict[str, list[TokenMapRecord]] = defaultdict(list)
    base_maps: dict[str, list[TokenMapRecord]] = defaultdict(list)
    for m in candidate.maps:
        cand_maps[m.probe_key].append(m)
    for m in baseline.maps:
        base_maps[m.probe_key].append(m)

    spearman_by_method: dict[str, dict[str, list[float]]] = defaultdict(dict)
    overlap_by_method: dict[str, dict[str, list[float]]] = defaultdict(dict)
    details: list[ProbeComparison] = []
    totals = [0, 0, 0]
    for probe_key in sorted(set(cand_words) & set(base_words)):
        c_occ = occurrence_keys(cand_words[probe_key])
        b_occ = occurrence_keys(base_words[probe_key])
        c_keys, b_keys = set(c_occ.values()), set(b_occ.values())
        shared = c_keys & b_keys
        totals[0] += len(shared)
        totals[1] += len(c_keys - b_keys)
        totals[2] += len(b_keys - c_keys)
        c_word_maps = _word_maps(cand_maps.get(probe_key, []), c_occ)
        b_word_maps = _word_maps(base_maps.get(probe_key, []), b_occ)
        drifts: list[ProbeDrift] = []
        for method in sorted(set(c_word_maps) & set(b_word_maps)):
            keys = sorted(shared & set(c_word_maps[method]) & set(b_word_maps[method]))
            if not keys:
                continue
            rho, overlap = [], []
            for key in keys:
                a, b = common_grid(c_word_maps[method][key], b_word_maps[method][key])
                rho.append(spearman_similarity(a, b))
                overlap.append(top_overlap(a, b, config.drift.top_fraction))
            spearman_by_method[method][probe_key] = rho
            overlap_by_method[method][probe_key] = overlap
            drifts.append(
                ProbeDrift(method, float(np.mean(rho)), float(np.mean(overlap)), len(keys))
            )

        def listing(keys: set[tuple[str, int]]) -> tuple[str, ...]:
            return tuple(w for w, _ in sorted(keys, key=lambda k: (k[0], k[1])))

        details.append(
            ProbeComparison(
                probe_key=probe_key,
                candidate_text=cand_texts.get(probe_key),
                baseline_text=base_texts.get(probe_key),
                shared_words=listing(shared),
                candidate_only_words=listing(c_keys - b_keys),
                baseline_only_words=listing(b_keys - c_keys),
                deltas=tuple(probe_deltas.get(probe_key, ())),
                drift=tuple(drifts),
            )
        )
    # Probes with metric deltas but no generations or maps still deserve their detail row.
    covered = {d.probe_key for d in details}
    for probe_key in sorted(set(probe_deltas) - covered):
        details.append(
            ProbeComparison(probe_key, cand_texts.get(probe_key), base_texts.get(probe_key),
                            (), (), (), tuple(probe_deltas[probe_key]), ())
        )
    details.sort(key=lambda d: d.probe_key)

    comparisons: list[MetricComparison] = []
    for metric, values, minimum in (
        (DRIFT_SPEARMAN, spearman_by_method, config.drift.min_spearman),
        (DRIFT_TOP_OVERLAP, overlap_by_method, config.drift.min_top_overlap),
    ):
        for method in sorted(values):
            ci = cluster_bootstrap_mean(
                list(values[method].values()),
                n_resamples=config.n_resamples,
                confidence=config.confidence,
                rng=stable_seed(config.seed, method, metric),
            )
            verdict = _few_probes(_drift_verdict(ci, minimum), ci.n_probes, config)
            record = ComparisonRecord(
                candidate_run_id=candidate.run_id, baseline_run_id=baseline.run_id,
                method=method, metric=metric, delta=ci.mean, ci_low=ci.low, ci_high=ci.high,
                n_pairs=ci.n_values, tolerance=minimum, verdict=verdict,
            )
            reason = describe_comparison(record, "higher_is_better")
            if ci.n_probes < config.min_probes:
                reason += f" Only {ci.n_probes} probe(s) paired (minimum {config.min_probes})."
            comparisons.append(
                MetricComparison(method, metric, "higher_is_better", ci.mean, ci.low, ci.high,
                                 ci.n_values, ci.n_probes, minimum, verdict, reason,
                                 is_drift=True)
            )
    return comparisons, details, (totals[0], totals[1], totals[2])


def compare_stored_runs(
    repo: Any,
    candidate_run_id: int,
    baseline_run_id: int,
    config: RegressionConfig | None = None,
    *,
    store: bool = True,
) -> RegressionVerdict:
    """Load both runs from an `AuditRepository`, compare them, and store the verdict with its comparisons."""
    runs = []
    for run_id in (candidate_run_id, baseline_run_id):
        runs.append(
            RunResults(
                run_id=run_id,
                metrics=list(repo.get_metrics(run_id)),
                maps=list(repo.get_maps(run_id)),
                generations=list(repo.get_generations(run_id)),
            )
        )
    config = config or RegressionConfig()
    verdict = compare_runs(runs[0], runs[1], config)
    if store:
        repo.add_verdict(
            VerdictRecord(
                candidate_run_id=candidate_run_id,
                baseline_run_id=baseline_run_id,
                verdict=verdict.verdict,
                headline=verdict.reasons[0],
                reasons=verdict.reasons,
                settings=asdict(config),
                result={},
                comparisons=tuple(verdict.comparison_records()),
            )
        )
    return verdict
