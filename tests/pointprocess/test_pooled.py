"""Pooled likelihood = sum of per-day likelihoods; recovery; Newton = L-BFGS; day factors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kbayes.pointprocess import (
    bracket_structure,
    constant_baseline,
    fit_pooled,
    hawkes_params,
    hour_of_day_baseline,
    log_likelihood,
    pooled_log_likelihood,
    simulate,
    stack_days,
)
from models.flow_hawkes import (
    day_params,
    poisson_log_likelihood,
    pooled_ks,
    role_means,
    role_sums,
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


def test_newton_pooled_equals_lbfgs_pooled() -> None:
    mu, alpha = _truth(2)
    rng = np.random.default_rng(4)
    grids = [hour_of_day_baseline((0, 12, 24), start_hour=h, seconds_per_unit=60.0) for h in (2, 9)]
    params = hawkes_params(np.stack([mu, 0.6 * mu], axis=1), alpha, 1.2)
    days = [simulate(params, 700.0, rng, g) for g in grids]
    structure = bracket_structure(2, neighbours="both", tied=True)
    newton = fit_pooled(days, grids, alpha_structure=structure, stderr=False)
    assert newton.info.method == "newton (profile beta)" and newton.info.converged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # L-BFGS may stall just above 1e-9
        lbfgs = fit_pooled(
            days, grids, alpha_structure=structure, stderr=False, method="lbfgs", tol=1e-9
        )
    for a, b in zip(newton.params, lbfgs.params, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert newton.info.log_likelihood == pytest.approx(lbfgs.info.log_likelihood, abs=1e-7)
    exact = float(pooled_log_likelihood(newton.params, stack_days(days, grids)))
    assert newton.info.log_likelihood == pytest.approx(exact, abs=1e-8)
    np.testing.assert_array_equal(newton.day_scale, 1.0)


def _day_varying(seed: int) -> tuple[list, list, np.ndarray, np.ndarray, np.ndarray]:
    """Six days whose baselines are ``c_e mu`` with levels from 0.3 to 3."""
    mu, alpha = _truth(2)
    levels = np.array([0.3, 0.6, 1.0, 1.5, 2.2, 3.0])
    rng = np.random.default_rng(seed)
    days = [simulate(hawkes_params(c * mu, alpha, 1.5), 600.0, rng) for c in levels]
    return days, [constant_baseline()] * len(days), levels, mu, alpha


def test_day_factors_make_day_varying_baselines_well_specified() -> None:
    days, grids, levels, mu, _ = _day_varying(21)
    structure = bracket_structure(2, neighbours="both", tied=True)
    shared = fit_pooled(days, grids, alpha_structure=structure, stderr=False)
    scaled = fit_pooled(days, grids, alpha_structure=structure, day_baseline="day")
    assert scaled.info.converged and "day factors (day" in scaled.info.method
    assert scaled.info.log_likelihood > shared.info.log_likelihood + 50
    assert scaled.info.num_free == shared.info.num_free + len(days) - 1
    # the likelihood reported is the exact sum over days with mu_e = c_e mu
    exact = sum(
        float(log_likelihood(day_params(scaled.params, scaled.day_scale, k), ev, g))
        for k, (ev, g) in enumerate(zip(days, grids, strict=True))
    )
    assert scaled.info.log_likelihood == pytest.approx(exact, abs=1e-7)
    # factors: one per day, exposure-weighted mean 1, proportional to the true levels
    c = scaled.day_scale[:, 0, 0]
    assert np.all(scaled.day_scale == c[:, None, None])
    assert np.average(c, weights=[ev.T for ev in days]) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(c / c.mean(), levels / levels.mean(), rtol=0.25)
    np.testing.assert_allclose(
        np.asarray(scaled.params.mu)[:, 0] * c.mean(), mu * levels.mean(), rtol=0.2
    )
    assert np.all(np.isfinite(np.asarray(scaled.stderr.alpha)[structure >= 0]))
    # time rescaling: the shared baseline is rejected, the day-scaled one is not
    bad = pooled_ks(shared.params, days, grids)
    good = pooled_ks(scaled.params, days, grids, day_scale=scaled.day_scale)
    assert np.min(bad["pvalue"]) < 1e-3, bad
    assert np.all(good["pvalue"] > 0.01), good
    assert np.all(good["statistic"] < bad["statistic"])


def test_day_factor_options_nest_and_refuse_bad_input() -> None:
    days, grids, *_ = _day_varying(22)
    structure = bracket_structure(2, neighbours="both", tied=True)
    fits = {
        mode: fit_pooled(days, grids, alpha_structure=structure, stderr=False, day_baseline=mode)
        for mode in ("shared", "day", "day_dim", "day_dim_bin")
    }
    ll = [fits[m].info.log_likelihood for m in ("shared", "day", "day_dim", "day_dim_bin")]
    assert ll == sorted(ll)  # nested models: each finer set of factors fits at least as well
    dim = fits["day_dim"].day_scale
    assert dim.shape == (6, 4, 1) and np.ptp(dim[:, :, 0], axis=1).max() > 0
    with pytest.raises(ValueError, match="day_baseline must be"):
        fit_pooled(days, grids, day_baseline="weekly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method='lbfgs' fits a shared baseline only"):
        fit_pooled(days, grids, day_baseline="day", method="lbfgs")
