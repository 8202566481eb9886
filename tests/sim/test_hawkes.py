"""Hawkes arrival samplers: counts, clustering, and agreement between the two methods."""

from __future__ import annotations

import numpy as np
import pytest

from kbayes.sim import intensity, ogata_thinning, simulate_hawkes

MU, ALPHA, BETA, T = 0.05, 0.6, 1 / 60.0, 50_000.0


def _bin_counts(times: np.ndarray, width: float, t_end: float) -> np.ndarray:
    return np.bincount((times // width).astype(int), minlength=int(t_end // width))


def test_cluster_method_mean_count_and_overdispersion() -> None:
    rng = np.random.Generator(np.random.PCG64(1))
    edges = np.array([0.0, T])
    counts = [len(simulate_hawkes(rng, edges, np.array([MU]), ALPHA, BETA)) for _ in range(15)]
    expected = MU * T / (1 - ALPHA)
    assert np.mean(counts) == pytest.approx(expected, rel=0.05)
    hk = simulate_hawkes(rng, edges, np.array([MU]), ALPHA, BETA)
    assert (np.diff(hk.times) >= 0).all() and hk.times[-1] < T
    par = hk.parent[hk.parent >= 0]
    assert (hk.times[hk.parent >= 0] >= hk.times[par]).all()  # children follow their parents
    assert ((hk.generation == 0) == (hk.parent < 0)).all()
    c = _bin_counts(hk.times, 300.0, T)
    assert c.var() / c.mean() > 1.5  # bursty


def test_poisson_limit_is_not_overdispersed() -> None:
    rng = np.random.Generator(np.random.PCG64(2))
    hk = simulate_hawkes(rng, np.array([0.0, T]), np.array([MU]), 0.0, BETA)
    c = _bin_counts(hk.times, 300.0, T)
    assert c.var() / c.mean() == pytest.approx(1.0, abs=0.15)


def test_ogata_thinning_agrees_with_cluster_method() -> None:
    rng = np.random.Generator(np.random.PCG64(3))
    n_ogata = [len(ogata_thinning(rng, MU, ALPHA, BETA, T)) for _ in range(15)]
    assert np.mean(n_ogata) == pytest.approx(MU * T / (1 - ALPHA), rel=0.05)
    c = _bin_counts(ogata_thinning(rng, MU, ALPHA, BETA, T), 300.0, T)
    assert c.var() / c.mean() > 1.5


def test_piecewise_baseline_is_respected() -> None:
    rng = np.random.Generator(np.random.PCG64(4))
    edges = np.array([0.0, 10_000.0, 20_000.0])
    hk = simulate_hawkes(rng, edges, np.array([0.001, 0.1]), 0.3, BETA)
    immigrants = hk.times[hk.generation == 0]
    assert (immigrants < 10_000).sum() < 0.05 * (immigrants >= 10_000).sum()


def test_intensity_and_validation() -> None:
    lam = intensity(np.array([0.0, 1.0]), np.array([0.0, 1.0, 2.0]), MU, ALPHA, 1.0)
    assert lam[0] == pytest.approx(MU)  # left-continuous: the event at 0 is not yet counted
    assert lam[2] == pytest.approx(MU + ALPHA * (np.exp(-2.0) + np.exp(-1.0)))
    with pytest.raises(ValueError):
        simulate_hawkes(np.random.default_rng(0), np.array([0.0, 1.0]), np.array([1.0]), 1.0, 1.0)
    with pytest.raises(ValueError):
        simulate_hawkes(np.random.default_rng(0), np.array([0.0, 1.0]), np.array([1.0]), 0.5, 0.0)
