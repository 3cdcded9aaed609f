"""Wilson intervals of detection and false-alarm rates."""

from __future__ import annotations

import pytest

from comparison.proportions import wilson_interval


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (8, 8, 0.6756, 1.0),      # all caught: the interval still admits 68 %
    (0, 8, 0.0, 0.3244),      # no false alarm in 8: up to 32 % is not ruled out
    (19, 20, 0.7639, 0.9911),
    (5, 10, 0.2366, 0.7634),
])
def test_known_wilson_intervals(k, n, low, high):
    rate = wilson_interval(k, n)
    assert rate.rate == pytest.approx(k / n)
    assert (rate.low, rate.high) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_no_trials_leave_the_whole_interval_open():
    rate = wilson_interval(0, 0)
    assert (rate.low, rate.high) == (0.0, 1.0)


@pytest.mark.parametrize(("k", "n"), [(3, 2), (-1, 4)])
def test_impossible_counts_are_refused(k, n):
    with pytest.raises(ValueError):
        wilson_interval(k, n)
