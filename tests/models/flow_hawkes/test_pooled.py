"""Pooled likelihood = sum of per-day likelihoods; recovery on simulated bracket flow."""

from __future__ import annotations

import numpy as np
import pytest

from kbayes.pointprocess import (
    bracket_structure,
    constant_baseline,
    hawkes_params,
    hour_of_day_baseline,
    log_likelihood,
    simulate,
)
from models.flow_hawkes import (
    fit_pooled,
    poisson_log_likelihood,
    pooled_ks,
    pooled_log_likelihood,
    role_means,
    role_sums,
    stack_days,
)


def _truth(num_brackets: int = 3) -> tuple[np.ndarray, np.ndarray]:
    d = 2 * num_brackets
    alpha = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            bi, si = divmod(i, 2)
            bj, sj = divmod(j, 2)
            if i == j:
                alpha[i, j] = 0.35
            elif bi == bj:
                alpha[i, j] = 0.10
            elif abs(bi - bj) == 1:
                alpha[i, j] = 0.06 if si == sj else 0.02
    mu = np.linspace(0.15, 0.3, d)
    return mu, alpha


def test_pooled_log_likelihood_is_the_sum_over_days() -> None:
    mu, alpha = _truth()
    rng = np.random.default_rng(1)
    grids = [
        hour_of_day_baseline((0, 12, 24), start_hour=h, seconds_per_unit=60.0)
        for h in (3.0, 10.5, 20.0)
    ]
    params = hawkes_params(np.stack([mu, 0.5 * mu], axis=1), alpha, 0.8)
    days = [simulate(params, T, rng, g) for T, g in zip((300.0, 700.0, 150.0), grids, strict=True)]
    expected = sum(float(log_likelihood(params, ev, g)) for ev, g in zip(days, grids, strict=True))
    got = float(pooled_log_likelihood(params, stack_days(days, grids)))
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-8)
    # concatenating the days would differ: the pooled sum resets the excitation each day
    with pytest.raises(ValueError, match="dimensions"):
        stack_days([days[0], simulate(hawkes_params([0.1], [[0.2]], 1.0), 10.0, 0)])


def test_poisson_reference_matches_kbayes_likelihood() -> None:
    rng = np.random.default_rng(3)
    days = [
        simulate(hawkes_params([0.2, 0.4], np.zeros((2, 2)), 1.0), T, rng) for T in (100.0, 250.0)
    ]
    grids = [constant_baseline()] * 2
    n = np.sum([ev.counts for ev in days], axis=0)
    mle = hawkes_params(n / 350.0, np.zeros((2, 2)), 1.0)
    expected = sum(float(log_likelihood(mle, ev, g)) for ev, g in zip(days, grids, strict=True))
    assert poisson_log_likelihood(days, grids) == pytest.approx(expected, rel=1e-10)


@pytest.mark.slow
def test_pooled_fit_recovers_tied_roles_on_simulated_flow() -> None:
    mu, alpha = _truth()
    truth = hawkes_params(mu, alpha, 1.5)
    rng = np.random.default_rng(11)
    days = [simulate(truth, 900.0, rng) for _ in range(6)]
    n = sum(len(ev.times) for ev in days)
    assert n > 5000
    structure = bracket_structure(3, neighbours="both", tied=True)
    res = fit_pooled(days, alpha_structure=structure, tol=1e-6)
    assert res.info.converged
    est = role_means(np.asarray(res.params.alpha), 3)
    true = role_means(alpha, 3)
    for role in true:
        assert est[role] == pytest.approx(true[role], abs=0.03), (role, est, true)
    assert float(res.params.beta[0, 0]) == pytest.approx(1.5, rel=0.15)
    assert np.abs(np.asarray(res.params.mu)[:, 0] / mu - 1).max() < 0.15
    rho_true = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    assert abs(res.info.spectral_radius - rho_true) < 4 * res.info.spectral_radius_se
    assert role_sums(np.asarray(res.params.alpha), 3)["self"] == pytest.approx(est["self"])
    # correctly specified: the pooled residuals are Exp(1)
    ks = pooled_ks(res.params, days, [constant_baseline()] * len(days))
    assert np.all(ks["pvalue"] > 0.001), ks
    # the Hawkes model beats the Poisson reference by a wide margin here
    assert res.info.log_likelihood - poisson_log_likelihood(days, [constant_baseline()] * 6) > 100


def test_pooled_ks_rejects_a_poisson_fit_of_clustered_flow() -> None:
    mu, alpha = _truth()
    rng = np.random.default_rng(5)
    days = [simulate(hawkes_params(mu, alpha, 1.5), 900.0, rng) for _ in range(3)]
    n = np.sum([ev.counts for ev in days], axis=0)
    poisson = hawkes_params(n / 2700.0, np.zeros_like(alpha), 1.0)
    ks = pooled_ks(poisson, days, [constant_baseline()] * 3)
    assert np.mean(ks["pvalue"] < 0.01) > 0.5
