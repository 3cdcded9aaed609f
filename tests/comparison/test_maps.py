"""Map similarity: Spearman, top overlap, total variation, common grid."""

from __future__ import annotations

import numpy as np
import pytest

from comparison.maps import common_grid, resize_grid, spearman_similarity, top_overlap, total_variation


def test_spearman_is_rank_correlation_with_defined_flat_cases():
    a = np.arange(20, dtype=float).reshape(4, 5)
    assert spearman_similarity(a, a * 3 + 1) == pytest.approx(1.0)
    assert spearman_similarity(a, -a) == pytest.approx(-1.0)
    assert spearman_similarity(np.zeros(4), np.zeros(4)) == 1.0
    assert spearman_similarity(np.ones(4), np.zeros(4)) == 1.0  # both flat: same (empty) ranking
    assert spearman_similarity(np.zeros(4), np.arange(4)) == 0.0
    with pytest.raises(ValueError, match="differ in size"):
        spearman_similarity(np.zeros(4), np.zeros(5))


def test_top_overlap_counts_shared_top_cells():
    a = np.arange(20, dtype=float).reshape(4, 5)
    assert top_overlap(a, a) == 1.0 and top_overlap(a, -a) == 0.0  # top 4 of 20 cells
    b = a.copy()
    b[3, 4], b[0, 0] = b[0, 0], b[3, 4]  # swap the best cell with the worst
    assert top_overlap(a, b) == 0.75
    assert top_overlap(a, b, fraction=1.0) == 1.0


def test_total_variation_of_unit_mass_maps():
    a = np.array([[1.0, 0.0], [0.0, 0.0]])
    b = np.array([[0.0, 0.0], [0.0, 3.0]])
    assert total_variation(a, a * 5) == pytest.approx(0.0)
    assert total_variation(a, b) == pytest.approx(1.0)
    assert total_variation(a, (a + b) / 2) == pytest.approx(0.75)  # unit mass: 0.25 / 0.75
    assert total_variation(np.zeros((2, 2)), a) is None


def test_common_grid_brings_both_maps_to_the_smaller_grid():
    big, small = np.ones((8, 6)), np.ones((4, 7))
    x, y = common_grid(big, small)
    assert x.shape == y.shape == (4, 6)
    np.testing.assert_allclose(resize_grid(np.full((2, 2), 3.0), (4, 4)), np.full((4, 4), 3.0))


def test_spearman_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, size=(6, 6)).astype(float)  # many ties
    b = a + rng.normal(0, 1.0, size=(6, 6))
    assert spearman_similarity(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0])
