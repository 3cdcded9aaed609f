"""The token whose map moved most between versions (the gallery opens on it)."""

from __future__ import annotations

import numpy as np

from comparison.drift import most_changed_token


def _maps():
    same = np.zeros((4, 4)); same[1, 1] = 1.0
    moved = np.zeros((4, 4)); moved[3, 3] = 1.0
    half = np.zeros((4, 4)); half[1, 1] = 1.0; half[3, 3] = 1.0
    return same, moved, half


def test_most_changed_token_is_where_the_versions_maps_disagree():
    same, moved, _ = _maps()
    cand = {"tam": {0: same, 1: moved, 2: same}}
    base = {"tam": {0: same, 1: same, 2: same}}
    assert most_changed_token(cand, base, [0, 1, 2]) == 1
    # an unpaired token (the baseline never generated its word) is never chosen
    assert most_changed_token(cand, base, [0, -1, 2]) in (0, 2)
    assert most_changed_token(cand, base, [-1, -1, -1]) is None


def test_most_changed_token_can_be_limited_to_object_words():
    same, moved, half = _maps()
    cand = {"tam": {0: moved, 1: half, 2: same}}
    base = {"tam": {0: same, 1: same, 2: same}}
    assert most_changed_token(cand, base, [0, 1, 2]) == 0
    assert most_changed_token(cand, base, [0, 1, 2], eligible={1, 2}) == 1
