"""Ogata thinning: reproducible, stationary mean rates, hour-of-day profile, bounded output."""

from __future__ import annotations

import numpy as np
import pytest

from kbayes.pointprocess import (
    StationarityWarning,
    hawkes_params,
    hour_of_day_baseline,
    simulate,
    stationary_rate,
)


def test_seeded_and_valid() -> None:
    params = hawkes_params([0.3, 0.2], [[0.2, 0.3], [0.1, 0.2]], [2.0, 5.0])
    a = simulate(params, 200.0, np.random.default_rng(5))
    b = simulate(params, 200.0, 5)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.marks, b.marks)
    assert np.all(np.diff(a.times) >= 0) and a.times[-1] <= 200.0 and a.times[0] >= 0.0
    c = simulate(params, 200.0, 6)
    assert len(c.times) != len(a.times) or not np.array_equal(c.times, a.times)


def test_mean_rate_matches_the_stationary_rate() -> None:
    params = hawkes_params([0.3, 0.2], [[0.3, 0.2], [0.25, 0.35]], 3.0)
    T = 5000.0
    events = simulate(params, T, 11)
    expected = stationary_rate(params) * T
    # clustered counts are over-dispersed: Var ~ N / (1 - rho)^2; allow 4 of those sds
    sd = np.sqrt(expected) / (1 - 0.6)
    assert np.all(np.abs(events.counts - expected) < 4 * sd), (events.counts, expected)


def test_hour_of_day_profile_is_followed() -> None:
    grid = hour_of_day_baseline((0, 12, 24), start_hour=0.0, seconds_per_unit=3600.0)
    params = hawkes_params([[2.0, 0.2]], [[0.0]], 1.0)  # Poisson, 2/h by day, 0.2/h by night
    events = simulate(params, 24.0 * 200, 3, grid)
    first_half = np.mod(events.times, 24.0) < 12.0
    assert first_half.sum() == pytest.approx(2.0 * 12 * 200, rel=0.05)
    assert (~first_half).sum() == pytest.approx(0.2 * 12 * 200, rel=0.15)


def test_explosive_process_warns_and_is_capped() -> None:
    params = hawkes_params([1.0], [[1.5]], 5.0)
    with pytest.warns(StationarityWarning), pytest.raises(RuntimeError, match="max_events"):
        simulate(params, 1000.0, 0, max_events=2000)
