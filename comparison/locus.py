"""Fixed-locus attention: a check on one run alone, no baseline needed.

The objects move from probe to probe. A model that reads its words from the objects has maps that
follow them; a model that reads a word from something else (a marker in a corner, a frame, a
watermark) has maps that keep peaking on the same place, a place that holds no object. For each
method and word group (every object word, each class, each slot such as "the first colour word"),
over the probes' word maps:

* observed, per image region r: the share of maps whose peak cell lies in r on a cell that holds no
  object of that probe;
* expected (the null): the maps' mean mass share on the cells of r that hold no object. If a map's
  peak fell where its mass is, as a map without one fixed favourite place would have it, the two
  agree; a map with a sharp mode on the object peaks off-object less often than its mass there, and
  only maps whose mode sits on the same object-free place, probe after probe, peak there more often
  than their spread predicts;
* excess = observed - expected, with a probe-bootstrap standard error; every (group, region) of a
  method is one Bonferroni family (`comparison.bootstrap.corrected_z`).

The check fails when the lower bound of the largest excess exceeds `locus.min_excess` (chosen from
honest models, docs/DESIGN.md). Regions are grid cells, merged into at most `locus.max_region_side`
regions a side on big grids. Maps of different grid sizes share the region grid of the smallest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from comparison.bootstrap import cluster_bootstrap_columns, corrected_z, stable_seed
from comparison.findings import LocusFinding, grid
from comparison.groups import describe_group
from comparison.grouped import family_confidence
from comparison.inputs import RunResults
from comparison.layout import ProbeSetLayout
from comparison.result import MetricComparison
from comparison.rules import LOCUS, LOCUS_BASELINE, locus_verdict
from comparison.settings import RegressionConfig
from comparison.wordmaps import WordMap, mass_share, peak_cell, run_word_maps

ALL_OBJECT_WORDS = "object words"
_TAIL = {"fail": "the maps keep returning to a place that holds no object: the model relies on something "
                 "other than the objects for these words.",
         "pass": "no region holds more off-object peaks than the maps' spread predicts beyond the limit."}


@dataclass(frozen=True)
class _Point:
    probe_key: str
    groups: tuple[str, ...]
    observed: np.ndarray  # [regions] one-hot (or zeros) of the off-object peak's region
    expected: np.ndarray  # [regions] mass share on object-free cells per region


def region_grid(shapes: set[tuple[int, int]], max_side: int) -> tuple[int, int]:
    return (min(max_side, min(s[0] for s in shapes)), min(max_side, min(s[1] for s in shapes)))


def _points(word_maps: list[WordMap], layout: ProbeSetLayout, regions: tuple[int, int]) -> dict[str, list[_Point]]:
    """method -> one point per object word map with a peak and mass."""
    out: dict[str, list[_Point]] = defaultdict(list)
    n_regions = regions[0] * regions[1]
    for wm in word_maps:
        if not wm.on_object:
            continue
        peak, share = peak_cell(wm.map), mass_share(wm.map)
        held = layout.held_cells(wm.probe_key, wm.map.shape)
        if peak is None or share is None or held is None:
            continue
        rows = np.arange(wm.map.shape[0]) * regions[0] // wm.map.shape[0]
        cols = np.arange(wm.map.shape[1]) * regions[1] // wm.map.shape[1]
        index = (rows[:, None] * regions[1] + cols[None, :]).ravel()
        free = ~held
        expected = np.bincount(index, weights=(share * free).ravel(), minlength=n_regions)
        observed = np.zeros(n_regions)
        if free[peak]:
            observed[index[peak[0] * wm.map.shape[1] + peak[1]]] = 1.0
        out[wm.method].append(_Point(wm.probe_key, wm.groups(ALL_OBJECT_WORDS), observed, expected))
    return out


def _region_name(region: tuple[int, int], regions: tuple[int, int]) -> str:
    rows = ("top", "middle", "bottom") if regions[0] >= 3 else ("top", "bottom")
    cols = ("left", "centre", "right") if regions[1] >= 3 else ("left", "right")
    vertical = rows[min(len(rows) - 1, region[0] * len(rows) // regions[0])]
    horizontal = cols[min(len(cols) - 1, region[1] * len(cols) // regions[1])]
    return (f"{vertical}-{horizontal} region (row {region[0] + 1}, column {region[1] + 1} of "
            f"{regions[0]}x{regions[1]})")


def locus_checks(run: RunResults, layout: ProbeSetLayout, config: RegressionConfig, side: str = "candidate",
                 word_maps: list[WordMap] | None = None) -> tuple[list[MetricComparison], list[LocusFinding]]:
    """One check (the most excessive group and region) and its finding per method, for one run
    (`word_maps`: the run's `run_word_maps`, when the caller has them already)."""
    settings = config.locus
    word_maps = run_word_maps(run, layout) if word_maps is None else word_maps
    shapes = {tuple(wm.map.shape) for wm in word_maps if wm.on_object}
    if not shapes:
        return [], []
    regions = region_grid(shapes, settings.max_region_side)
    checks, findings = [], []
    for method, points in sorted(_points(word_maps, layout, regions).items()):
        by_group: dict[str, dict[str, list[_Point]]] = defaultdict(lambda: defaultdict(list))
        for point in points:
            for group in point.groups:
                by_group[group][point.probe_key].append(point)
        eligible = {g: p for g, p in by_group.items() if len(p) >= settings.min_probes}
        if not eligible:
            continue
        n_tests = len(eligible) * regions[0] * regions[1]
        z = corrected_z(config.confidence, n_tests)
        candidates = []
        for group in sorted(eligible):
            probes = list(eligible[group].values())
            observed = np.array([np.sum([p.observed for p in ps], axis=0) for ps in probes])
            expected = np.array([np.sum([p.expected for p in ps], axis=0) for ps in probes])
            counts = np.array([len(ps) for ps in probes], dtype=np.float64)
            ci = cluster_bootstrap_columns(observed - expected, counts, z=z,
                                           rng=stable_seed(config.seed, side, method, group, "locus"))
            rates = (observed.sum(0) / counts.sum(), expected.sum(0) / counts.sum())
            candidates += [(float(ci.low[r]), float(ci.mean[r]), group, r, ci, rates) for r in range(len(ci.mean))]
        # the region whose excess is surely largest when one is flagged, else the largest estimate
        flagged = max(candidates, key=lambda c: (c[0], c[1]))
        shown = flagged if flagged[0] > settings.min_excess else max(candidates, key=lambda c: (c[1], c[0]))
        _, _, group, top, ci, (observed_rate, expected_rate) = shown
        region = divmod(top, regions[1])
        verdict = locus_verdict(float(ci.low[top]), settings.min_excess)
        level = family_confidence(config.confidence, n_tests)
        whose = "" if side == "candidate" else " (baseline, for contrast)"
        reason = (f"{method} fixed locus{whose}: {describe_group(group)}'s maps peak in the "
                  f"{_region_name(region, regions)}, where no object lies, in {observed_rate[top]:.0%} of "
                  f"{ci.n_values} maps against {expected_rate[top]:.0%} expected from the maps' own spread "
                  f"(excess {ci.mean[top]:+.3f}, {level * 100:.4g}% CI [{ci.low[top]:+.3f}, {ci.high[top]:+.3f}], "
                  f"limit {settings.min_excess:.3f}): {_TAIL[verdict]}")
        counts_here = settings.affects_verdict and side == "candidate"
        checks.append(MetricComparison(
            method, LOCUS if side == "candidate" else LOCUS_BASELINE, "lower_is_better", float(ci.mean[top]),
            float(ci.low[top]), float(ci.high[top]), ci.n_values, ci.n_probes, settings.min_excess, verdict,
            reason, counts=counts_here))
        box = (region[1] / regions[1], region[0] / regions[0], (region[1] + 1) / regions[1], (region[0] + 1) / regions[0])
        findings.append(LocusFinding(
            side, method, group, ci.n_values, ci.n_probes, grid(observed_rate.reshape(regions)),
            grid(expected_rate.reshape(regions)), grid(ci.mean.reshape(regions)), region, box, verdict))
    return checks, findings
