"""Probe-bootstrap intervals of several statistics at once, and family-corrected quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from comparison.bootstrap import cluster_bootstrap_columns, corrected_z, stable_seed


def test_corrected_z_is_the_normal_quantile_and_grows_with_the_family():
    assert corrected_z(0.95, 1) == pytest.approx(1.959964, abs=1e-5)
    assert corrected_z(0.95, 10) == pytest.approx(2.807034, abs=1e-5)  # 0.005 / 2 per tail
    assert corrected_z(0.95, 100) > corrected_z(0.95, 10)


def test_standard_errors_match_the_sampling_spread_of_a_mean():
    rng = np.random.default_rng(4)
    sums = rng.normal(size=(400, 2)) * np.array([1.0, 3.0])
    ci = cluster_bootstrap_columns(sums, np.ones(400), z=2.0, n_resamples=3000, rng=stable_seed(0, "t"))
    assert ci.se == pytest.approx(np.array([1.0, 3.0]) / np.sqrt(400), rel=0.12)
    assert np.allclose(ci.high - ci.mean, 2.0 * ci.se)
    assert ci.n_probes == 400 and ci.n_values == 400


def test_probes_weigh_by_their_number_of_values():
    """Pooled mean: a probe with three values weighs three times a probe with one."""
    sums = np.array([[3.0], [0.0]])
    ci = cluster_bootstrap_columns(sums, np.array([3.0, 1.0]), z=1.0, rng=stable_seed(0, "w"))
    assert ci.mean[0] == pytest.approx(0.75)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        cluster_bootstrap_columns(np.ones(3), np.ones(3), z=1.0, rng=stable_seed(0))
