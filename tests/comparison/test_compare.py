"""`compare_runs` on constructed runs where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from comparison import (
    DRIFT_SPEARMAN,
    DRIFT_TOP_OVERLAP,
    ComparisonError,
    DriftConfig,
    RegressionConfig,
    RunResults,
    compare_runs,
)
from tests.comparison.records import Map, Metric, answer, blob

WORDS = ("a", "red", "circle", "above", "a", "blue", "square")


def _run(
    run_id: int,
    values: dict[tuple[str, str], float],
    *,
    words_by_probe: dict[str, tuple[str, ...]],
    metric: str = "obj_iou",
    direction: str = "higher_is_better",
    peaks: dict[str, tuple[int, int]] | None = None,
) -> RunResults:
    """values: (probe, word) -> metric value; peaks: probe -> where every map peaks."""
    metrics = [
        Metric(method="tam", metric=metric, value=v, direction=direction, probe_key=p, word=w)
        for (p, w), v in values.items()
    ]
    generations = [answer(p, ws) for p, ws in words_by_probe.items()]
    maps = []
    if peaks is not None:
        for p, ws in words_by_probe.items():
            for i, w in enumerate(ws):
                token_text = answer(p, ws).tokens[i]  # the stored piece, e.g. "\u0120red"
                maps.append(Map(p, i, token_text, i, "tam", blob(peaks[p])))
    return RunResults(run_id, metrics, maps, generations)


def _values(n_probes: int, words: tuple[str, ...], fn) -> dict[tuple[str, str], float]:
    return {(f"p{i:03d}", w): fn(i, j) for i in range(n_probes) for j, w in enumerate(set(words))}


PROBES = {f"p{i:03d}": WORDS for i in range(20)}
RNG_BASE = np.random.default_rng(7).uniform(0.3, 0.8, size=(20, 10))


def _base(i: int, j: int) -> float:
    return float(RNG_BASE[i, j])


def test_clear_regression_fails():
    baseline = _run(1, _values(20, WORDS, _base), words_by_probe=PROBES)
    candidate = _run(2, _values(20, WORDS, lambda i, j: _base(i, j) - 0.3), words_by_probe=PROBES)
    verdict = compare_runs(candidate, baseline, RegressionConfig(tolerances={"obj_iou": 0.05}))
    assert verdict.verdict == "fail"
    (cmp,) = [c for c in verdict.comparisons if c.metric == "obj_iou"]
    assert cmp.delta == pytest.approx(-0.3)
    assert cmp.ci_high < -0.05
    assert cmp.n_probes == 20
    assert cmp.n_pairs == 20 * len(set(WORDS))
    assert "fell by 0.300" in verdict.reasons[0] and "regression" in verdict.reasons[0]
    assert (verdict.candidate_run_id, verdict.baseline_run_id) == (2, 1)
    assert verdict.headline.startswith("tam obj_iou fell by 0.300")


def test_noise_passes():
    noise = np.random.default_rng(3).normal(0, 0.02, size=(20, 10))
    baseline = _run(1, _values(20, WORDS, _base), words_by_probe=PROBES)
    candidate = _run(
        2, _values(20, WORDS, lambda i, j: _base(i, j) + noise[i, j]), words_by_probe=PROBES
    )
    verdict = compare_runs(candidate, baseline, RegressionConfig(default_tolerance=0.05))
    assert verdict.verdict == "pass"
    (cmp,) = verdict.comparisons
    assert cmp.ci_low < 0 < cmp.ci_high or abs(cmp.delta) < 0.01
    assert cmp.ci_low > -0.05


def test_borderline_warns():
    # every probe's delta is -tol +/- 0.03, so the mean is exactly -tol and the CI straddles it
    tol = 0.1
    baseline = _run(1, _values(20, WORDS, _base), words_by_probe=PROBES)
    candidate = _run(
        2,
        _values(20, WORDS, lambda i, j: _base(i, j) - tol + (0.03 if i % 2 else -0.03)),
        words_by_probe=PROBES,
    )
    verdict = compare_runs(candidate, baseline, RegressionConfig(tolerances={"obj_iou": tol}))
    (cmp,) = verdict.comparisons
    assert cmp.ci_low < -tol < cmp.ci_high
    assert cmp.verdict == verdict.verdict == "warn"
    assert "straddles" in cmp.reason


def test_lower_is_better_mirrors():
    baseline = _run(1, _values(20, WORDS, _base), words_by_probe=PROBES,
                    metric="func_mass", direction="lower_is_better")
    worse = _run(2, _values(20, WORDS, lambda i, j: _base(i, j) + 0.3), words_by_probe=PROBES,
                 metric="func_mass", direction="lower_is_better")
    better = _run(3, _values(20, WORDS, lambda i, j: _base(i, j) - 0.3), words_by_probe=PROBES,
                  metric="func_mass", direction="lower_is_better")
    assert compare_runs(worse, baseline).verdict == "fail"
    assert compare_runs(better, baseline).verdict == "pass"


def test_ci_resamples_probes_not_words():
    # 5 probes, 100 words each; within a probe all deltas are equal, between probes they differ.
    probe_deltas = [-0.2, 0.0, 0.1, -0.1, 0.05]
    words = tuple(f"w{k}" for k in range(100))
    wb = {f"p{i:03d}": words for i in range(5)}
    baseline = _run(1, {(f"p{i:03d}", w): 0.5 for i in range(5) for w in words}, words_by_probe=wb)
    candidate = _run(
        2, {(f"p{i:03d}", w): 0.5 + probe_deltas[i] for i in range(5) for w in words},
        words_by_probe=wb,
    )
    (cmp,) = compare_runs(candidate, baseline).comparisons
    sd_between_probes = np.std(probe_deltas, ddof=1)
    # a word-level bootstrap would give a width near 2*1.96*sd/sqrt(500) ~ 0.04; probes: ~0.2
    assert cmp.ci_high - cmp.ci_low > 2 * 1.96 * sd_between_probes / np.sqrt(5) * 0.6
    assert cmp.n_pairs == 500 and cmp.n_probes == 5


def test_different_words_compare_only_shared_words():
    cand_words = {f"p{i:03d}": ("a", "red", "circle") for i in range(10)}
    base_words = {f"p{i:03d}": ("a", "blue", "circle", "left") for i in range(10)}
    peaks = {p: (2, 2) for p in cand_words}
    baseline = _run(1, {(p, w): 0.5 for p, ws in base_words.items() for w in ws},
                    words_by_probe=base_words, peaks=peaks)
    # "red" scores terribly, but baseline never said "red": it must not count
    candidate = _run(2, {(p, w): (0.0 if w == "red" else 0.5) for p, ws in cand_words.items()
                         for w in ws}, words_by_probe=cand_words, peaks=peaks)
    verdict = compare_runs(candidate, baseline)
    assert verdict.verdict == "pass"
    (cmp,) = [c for c in verdict.comparisons if c.metric == "obj_iou"]
    assert cmp.n_pairs == 20 and cmp.delta == 0.0  # "a" and "circle" on 10 probes
    assert (verdict.n_words_compared, verdict.n_words_candidate_only,
            verdict.n_words_baseline_only) == (20, 10, 20)
    detail = verdict.probes[0]
    assert detail.shared_words == ("a", "circle")
    assert detail.candidate_only_words == ("red",)
    assert set(detail.baseline_only_words) == {"blue", "left"}
    assert any("Compared the maps of 20 words" in r for r in verdict.reasons)
    drift = [c for c in verdict.comparisons if c.metric == DRIFT_SPEARMAN]
    assert drift and drift[0].n_pairs == 20


def test_repeated_words_pair_by_occurrence():
    # candidate says "a" once, baseline twice: only one "a" pair
    cand = {"p000": ("a", "circle"), "p001": ("a", "circle"), "p002": ("a", "circle")}
    base = {"p000": ("a", "circle", "a"), "p001": ("a", "circle", "a"),
            "p002": ("a", "circle", "a")}
    peaks = {p: (1, 1) for p in cand}
    verdict = compare_runs(_run(2, {}, words_by_probe=cand, peaks=peaks),
                           _run(1, {}, words_by_probe=base, peaks=peaks))
    assert verdict.n_words_compared == 6
    assert verdict.n_words_baseline_only == 3


def test_map_drift_fails_when_candidate_looks_elsewhere_and_needs_no_masks():
    probes = {f"p{i:03d}": ("red", "circle") for i in range(12)}
    rng = np.random.default_rng(0)
    base_peaks = {p: tuple(rng.integers(0, 3, size=2)) for p in probes}
    far_peaks = {p: (7, 7) for p in probes}  # every map in the opposite corner
    baseline = _run(1, {}, words_by_probe=probes, peaks=base_peaks)
    same = _run(2, {}, words_by_probe=probes, peaks=base_peaks)
    moved = _run(3, {}, words_by_probe=probes, peaks=far_peaks)
    config = RegressionConfig(drift=DriftConfig(min_spearman=0.3, min_top_overlap=0.25))

    ok = compare_runs(same, baseline, config)
    assert ok.verdict == "pass"
    assert {c.metric for c in ok.comparisons} == {DRIFT_SPEARMAN, DRIFT_TOP_OVERLAP}
    assert all(c.delta == pytest.approx(1.0) for c in ok.comparisons)

    bad = compare_runs(moved, baseline, config)
    assert bad.verdict == "warn"  # drift alone: different, not measurably worse
    spear = next(c for c in bad.comparisons if c.metric == DRIFT_SPEARMAN)
    assert spear.ci_high < 0.3 and spear.verdict == "warn"
    assert "looks somewhere else" in spear.reason and "different, not measurably worse" in spear.reason
    assert "no quality check regressed" in bad.headline
    flags = bad.probe_flags()  # the gallery names each moved probe's changes beyond a limit
    assert set(flags) == set(probes)
    assert all(f.metric in (DRIFT_SPEARMAN, DRIFT_TOP_OVERLAP) and f.check_verdict == "warn" and f.beyond > 0
               for probe_flags in flags.values() for f in probe_flags)
    assert compare_runs(same, baseline, config).probe_flags() == {}  # nothing moved, nothing flagged

    strict = compare_runs(moved, baseline, RegressionConfig(drift=DriftConfig(alone="fail")))
    assert strict.verdict == "fail" and strict.check("tam", DRIFT_SPEARMAN).verdict == "fail"

    lenient = compare_runs(moved, baseline, RegressionConfig(drift=DriftConfig(affects_verdict=False)))
    assert lenient.verdict == "pass"
    # drift is still reported, marked as not deciding
    spear = lenient.check("tam", DRIFT_SPEARMAN)
    assert spear.verdict == "fail" and not spear.counts and "Reported only" in spear.reason
    assert lenient.headline.startswith("All ") and "reported only" in lenient.headline


def test_deterministic_and_seed_dependent():
    noise = np.random.default_rng(5).normal(-0.05, 0.05, size=(20, 10))
    baseline = _run(1, _values(20, WORDS, _base), words_by_probe=PROBES)
    candidate = _run(
        2, _values(20, WORDS, lambda i, j: _base(i, j) + noise[i, j]), words_by_probe=PROBES
    )
    a = compare_runs(candidate, baseline, RegressionConfig(seed=1))
    b = compare_runs(candidate, baseline, RegressionConfig(seed=1))
    c = compare_runs(candidate, baseline, RegressionConfig(seed=2))
    assert a == b
    assert (a.comparisons[0].ci_low, a.comparisons[0].ci_high) != (
        c.comparisons[0].ci_low, c.comparisons[0].ci_high)


def test_few_probes_never_pass_silently():
    probes = {"p000": ("red",), "p001": ("red",)}
    baseline = _run(1, {("p000", "red"): 0.5, ("p001", "red"): 0.5}, words_by_probe=probes)
    candidate = _run(2, {("p000", "red"): 0.5, ("p001", "red"): 0.5}, words_by_probe=probes)
    verdict = compare_runs(candidate, baseline, RegressionConfig(min_probes=3))
    assert verdict.verdict == "warn"
    assert "Only 2 probe(s)" in verdict.comparisons[0].reason


def test_nothing_in_common_is_an_error():
    a = _run(1, {("p000", "red"): 0.5}, words_by_probe={})
    b = _run(2, {("p999", "red"): 0.5}, words_by_probe={})
    with pytest.raises(ComparisonError, match="nothing to compare"):
        compare_runs(a, b)


def test_maps_of_different_grid_sizes_are_compared_on_a_common_grid():
    probes = {f"p{i:03d}": ("red",) for i in range(4)}
    base = _run(1, {}, words_by_probe=probes)
    cand = _run(2, {}, words_by_probe=probes)
    base.maps.extend(Map(p, 0, "red", 0, "tam", blob((2, 2), (8, 8))) for p in probes)
    cand.maps.extend(Map(p, 0, "red", 0, "tam", blob((4, 4), (16, 16)))
                     for p in probes)
    verdict = compare_runs(cand, base)
    spear = next(c for c in verdict.comparisons if c.metric == DRIFT_SPEARMAN)
    assert spear.delta > 0.9 and spear.verdict == "pass"
