"""Probe-level bootstrap confidence intervals.

Why clustered: a report shows each version's metric means with a CI, the regression check the
paired candidate-minus-baseline deltas with a CI, and the quality benchmark its scores with a CI.
All must resample the same unit: probes. Words of one probe share an image and a caption, so
they are not independent; resampling them as if they were would make intervals far too narrow.
Each probe therefore contributes the sum and the count of its values, a bootstrap replicate draws
probes with replacement, and its statistic is the pooled mean of all values in the drawn probes.
"""

from __future__ import annotations

import zlib
from statistics import NormalDist
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCI:
    """A pooled mean over values grouped by probe, with its percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    n_values: int
    n_probes: int


def stable_seed(seed: int, *labels: str) -> np.random.Generator:
    """A generator seeded by `seed` and labels, so one metric's CI does not depend on the order
    in which the other metrics were computed."""
    label_hash = zlib.crc32("\x1f".join(labels).encode("utf-8"))
    return np.random.default_rng([int(seed), int(label_hash)])


def cluster_bootstrap_mean(
    values_by_probe: list[np.ndarray] | list[list[float]],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> MeanCI:
    """Pooled mean of all values and its bootstrap CI, resampling probes (clusters).

    `values_by_probe` holds one array per probe (each with at least one finite value).
    With a single probe the interval collapses to the mean: there is nothing to resample.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    groups = [np.asarray(v, dtype=np.float64) for v in values_by_probe]
    groups = [g[np.isfinite(g)] for g in groups]
    groups = [g for g in groups if g.size]
    if not groups:
        raise ValueError("no finite values to average")
    sums = np.array([g.sum() for g in groups])
    counts = np.array([g.size for g in groups], dtype=np.float64)
    mean = float(sums.sum() / counts.sum())
    n_probes = len(groups)
    if n_probes == 1:
        return MeanCI(mean, mean, mean, int(counts.sum()), 1)
    draws = rng.integers(0, n_probes, size=(n_resamples, n_probes))
    replicate_means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicate_means, [alpha, 1.0 - alpha])
    return MeanCI(mean, float(low), float(high), int(counts.sum()), n_probes)


SE_RESAMPLES = 500  # a standard error settles within a few per cent by 500 resamples (percentiles need more)


@dataclass(frozen=True)
class ColumnsCI:
    """Pooled means of several statistics over the same probes, each with a bootstrap standard error
    and an interval at a (possibly family-corrected) confidence."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    n_values: int
    n_probes: int


def corrected_z(confidence: float, n_tests: int) -> float:
    """Two-sided normal quantile for `confidence` shared by `n_tests` tests (Bonferroni).

    Why a normal quantile on a bootstrap standard error rather than bootstrap percentiles: a family
    of m tests at level 5% needs the 0.05 / 2m tails (1.6e-4 for 150 tests), which a few thousand
    resamples cannot estimate; the standard error they estimate well.
    """
    alpha = (1.0 - confidence) / max(1, n_tests)
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def cluster_bootstrap_columns(
    sums: np.ndarray,
    counts: np.ndarray,
    *,
    z: float,
    n_resamples: int = SE_RESAMPLES,
    rng: np.random.Generator,
) -> ColumnsCI:
    """Pooled means of K statistics (`sums` [P, K]: each probe's sum per statistic; `counts` [P]:
    each probe's number of values) with bootstrap standard errors resampling probes, and intervals
    mean +/- z * se (`corrected_z`)."""
    sums = np.asarray(sums, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if sums.ndim != 2 or counts.shape != (sums.shape[0],) or counts.sum() <= 0:
        raise ValueError(f"need sums [P, K] and positive counts [P], got {sums.shape} and {counts.shape}")
    n_probes = sums.shape[0]
    mean = sums.sum(axis=0) / counts.sum()
    if n_probes == 1:
        zero = np.zeros_like(mean)
        return ColumnsCI(mean, mean.copy(), mean.copy(), zero, int(counts.sum()), 1)
    # how often each probe is drawn in each replicate (probes drawn with replacement)
    draws = rng.integers(0, n_probes, size=(n_resamples, n_probes)) + (np.arange(n_resamples) * n_probes)[:, None]
    weights = np.bincount(draws.ravel(), minlength=n_resamples * n_probes).reshape(n_resamples, n_probes)
    replicates = (weights @ sums) / (weights @ counts)[:, None]
    se = replicates.std(axis=0, ddof=1)
    return ColumnsCI(mean, mean - z * se, mean + z * se, se, int(counts.sum()), n_probes)
