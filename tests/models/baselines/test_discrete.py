"""Discretised Normal and kernel PMFs against independent oracles (scipy, Monte Carlo)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy.stats import norm

from models.baselines import climatology_pmf, kernel_mass, normal_pmf
from tests.models.baselines.helpers import event

LADDER = event(dt.date(2024, 1, 10), 1).ladder  # <= 39, [40, 41], >= 42


def test_normal_pmf_equals_the_normal_cdf_at_the_half_degrees() -> None:
    a, b = norm.cdf(39.5, 41, 2), norm.cdf(41.5, 41, 2)
    np.testing.assert_allclose(normal_pmf(LADDER, 41.0, 2.0), [a, b - a, 1 - b], rtol=1e-12)


def test_normal_pmf_matches_monte_carlo_of_the_rounded_high() -> None:
    rng = np.random.default_rng(0)
    n = 400_000
    x = np.floor(rng.normal(40.7, 1.3, n) + 0.5)  # round half up to the whole °F
    freq = np.array([(x <= 39).mean(), ((x >= 40) & (x <= 41)).mean(), (x >= 42).mean()])
    # Binomial standard error of each frequency is below 8e-4: 5 of them bound the error.
    np.testing.assert_allclose(normal_pmf(LADDER, 40.7, 1.3), freq, atol=4e-3)


def test_kernel_mass_is_the_mixture_of_discretised_normals() -> None:
    history = np.array([38.0, 39.0, 41.0, 44.0])
    grid, mass = kernel_mass(history, 1.5)
    want = np.mean(
        [norm.cdf(grid + 0.5, h, 1.5) - norm.cdf(grid - 0.5, h, 1.5) for h in history], axis=0
    )
    np.testing.assert_allclose(mass, want / want.sum(), rtol=1e-12, atol=1e-300)
    assert grid[0] <= history.min() - 9 and grid[-1] >= history.max() + 9
    assert np.all(np.diff(grid) == 1) and abs(want.sum() - 1) < 1e-9


def test_climatology_pmf_of_a_narrow_kernel_counts_the_past_values() -> None:
    p = climatology_pmf(LADDER, np.array([38.0, 39.0, 41.0, 44.0]), 0.05)
    np.testing.assert_allclose(p, [0.5, 0.25, 0.25], rtol=1e-9)
