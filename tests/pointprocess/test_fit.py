"""Maximum-likelihood fit: recovery, standard errors, structure, edge cases, stationarity."""

from __future__ import annotations

import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kbayes.pointprocess.mle as mle
from kbayes.pointprocess import (
    EventSequence,
    HawkesFit,
    HawkesParams,
    StationarityWarning,
    bracket_structure,
    check_events,
    check_stationarity,
    fit,
    hawkes_params,
    hour_of_day_baseline,
    ks_table,
    log_likelihood,
    prepare,
    simulate,
    stationary_rate,
)


@pytest.fixture(scope="module")
def two_dim() -> tuple[HawkesParams, EventSequence]:
    params = hawkes_params([0.5, 0.3], [[0.3, 0.2], [0.1, 0.4]], 3.0)
    return params, simulate(params, 2000.0, np.random.default_rng(0))


@pytest.fixture(scope="module")
def hawkes_fit(two_dim: tuple[HawkesParams, EventSequence]) -> HawkesFit:
    return fit(two_dim[1])


def test_small_fit_recovers_parameters_within_standard_errors(
    two_dim: tuple[HawkesParams, EventSequence], hawkes_fit: HawkesFit
) -> None:
    truth, events = two_dim
    info = hawkes_fit.info
    assert info.converged and info.method == "newton (profile beta)"
    assert info.num_free == 2 + 4 + 1 and info.hessian_positive_definite
    assert info.log_likelihood == pytest.approx(log_likelihood(hawkes_fit.params, events), abs=1e-8)
    assert info.log_likelihood > log_likelihood(truth, events)  # the MLE beats the truth
    for est, se, true in zip(hawkes_fit.params, hawkes_fit.stderr, truth, strict=True):
        est, se, true = np.asarray(est), np.asarray(se), np.asarray(true)
        assert np.all(np.isfinite(se)) and np.all(se > 0)
        assert np.all(np.abs(est - true) < 4 * se), (est, se, true)
    # shared beta: one parameter, reported in every cell
    assert np.ptp(np.asarray(hawkes_fit.params.beta)) == 0.0
    rho = float(np.max(np.abs(np.linalg.eigvals(np.asarray(hawkes_fit.params.alpha)))))
    assert info.spectral_radius == pytest.approx(rho, rel=1e-12) and info.stationary
    assert 0 < info.spectral_radius_se < 0.1
    cov = hawkes_fit.covariance
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_standard_errors_equal_delta_method_from_unconstrained_hessian(
    two_dim: tuple[HawkesParams, EventSequence], hawkes_fit: HawkesFit
) -> None:
    _, events = two_dim
    index = hawkes_fit.free_index
    phi = mle.FreeParams(
        mu=hawkes_fit.params.mu[:, 0],
        alpha=hawkes_fit.params.alpha.reshape(-1),
        beta=hawkes_fit.params.beta[:1, 0],
    )
    flat = jnp.concatenate(list(phi))
    u = jnp.log(jnp.expm1(flat))
    data = prepare(events, pad=True)
    fixed = HawkesParams(*(jnp.zeros_like(x) for x in hawkes_fit.params))

    def nll_u(x: jax.Array) -> jax.Array:
        y = jax.nn.softplus(x)
        free = mle.FreeParams(y[:2], y[2:6], y[6:])
        return -mle.log_likelihood_fast(mle.unpack(free, index, fixed), data)

    h_u = np.asarray(jax.jit(jax.hessian(nll_u))(u))
    jac = np.diag(np.asarray(jax.nn.sigmoid(u)))
    delta = jac @ np.linalg.inv(h_u) @ jac
    np.testing.assert_allclose(delta, hawkes_fit.covariance, rtol=1e-4, atol=1e-9)


def test_poisson_fit_by_mask_is_closed_form_and_fails_ks(
    two_dim: tuple[HawkesParams, EventSequence], hawkes_fit: HawkesFit
) -> None:
    _, events = two_dim
    poisson = fit(events, alpha_structure=np.zeros((2, 2), bool))
    np.testing.assert_allclose(
        np.asarray(poisson.params.mu)[:, 0], events.counts / events.T, rtol=1e-6
    )
    assert np.all(np.asarray(poisson.params.alpha) == 0.0)
    assert poisson.info.num_free == 2 and poisson.info.spectral_radius == 0.0
    assert np.all(np.isnan(np.asarray(poisson.stderr.alpha)))
    se_mu = np.asarray(poisson.stderr.mu)[:, 0]  # Poisson: sqrt(N_i) / T
    np.testing.assert_allclose(se_mu, np.sqrt(events.counts) / events.T, rtol=1e-4)
    # time rescaling: the Hawkes fit passes, the Poisson fit of Hawkes data is rejected
    good = ks_table(hawkes_fit.params, events)
    bad = ks_table(poisson.params, events)
    assert np.all(good["pvalue"] > 0.01), good
    assert np.all(bad["pvalue"] < 0.01), bad
    assert poisson.info.aic > hawkes_fit.info.aic


def test_empty_dimension_is_documented_boundary_result(
    two_dim: tuple[HawkesParams, EventSequence], hawkes_fit: HawkesFit
) -> None:
    _, events = two_dim
    three = check_events(events.times, events.marks, events.T, num_dims=3)
    with pytest.warns(UserWarning, match=r"dimension\(s\) \[2\] have no events"):
        result = fit(three)
    mu, alpha = np.asarray(result.params.mu), np.asarray(result.params.alpha)
    assert mu[2, 0] == 0.0
    assert np.all(alpha[2, :] == 0.0) and np.all(alpha[:, 2] == 0.0)
    assert np.isnan(np.asarray(result.stderr.mu)[2, 0])
    assert np.all(np.isnan(np.asarray(result.stderr.alpha)[2, :]))
    assert result.info.empty_dims == [2]
    # the empty dimension adds nothing: same optimum as the two-dimensional fit
    assert result.info.log_likelihood == pytest.approx(hawkes_fit.info.log_likelihood, abs=1e-6)
    np.testing.assert_allclose(alpha[:2, :2], np.asarray(hawkes_fit.params.alpha), atol=1e-4)


def test_stationarity_warning() -> None:
    explosive = hawkes_params([1.0, 1.0], [[0.8, 0.5], [0.5, 0.7]], 2.0)
    with pytest.warns(StationarityWarning, match=r"spectral radius 1\.2\d+ >= 1"):
        rho = check_stationarity(explosive)
    assert rho == pytest.approx(0.75 + np.sqrt(0.01 / 4 + 0.25), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_stationarity(hawkes_params([1.0, 1.0], [[0.5, 0.2], [0.1, 0.3]], 1.0)) < 1


@pytest.mark.slow
def test_fit_warns_and_reports_radius_above_one() -> None:
    truth = hawkes_params([4.0], [[1.1]], 4.0)
    with pytest.warns(StationarityWarning):
        events = simulate(truth, 12.0, np.random.default_rng(0))
    with pytest.warns(StationarityWarning, match="spectral radius"):
        result = fit(events, stderr=False)
    assert result.info.spectral_radius > 1.0 and not result.info.stationary
    assert result.info.spectral_radius == pytest.approx(float(result.params.alpha[0, 0]))


def _bracket_truth() -> tuple[np.ndarray, np.ndarray]:
    d = 8
    alpha = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            bi, si = divmod(i, 2)
            bj, sj = divmod(j, 2)
            if i == j:
                alpha[i, j] = 0.3
            elif bi == bj:
                alpha[i, j] = 0.12
            elif abs(bi - bj) == 1 and si == sj:
                alpha[i, j] = 0.07
    mu = np.array([0.10, 0.12, 0.20, 0.18, 0.22, 0.20, 0.12, 0.10])
    return mu, alpha


@pytest.mark.slow
def test_recovery_eight_dimensional_bracket_flow() -> None:
    mu, alpha = _bracket_truth()
    truth = hawkes_params(mu, alpha, 2.0)
    structure = bracket_structure(4)
    assert np.array_equal(structure >= 0, alpha > 0)
    events = simulate(truth, 20_000.0, np.random.default_rng(2024))
    assert len(events.times) > 10_000
    assert len(events.times) == pytest.approx(stationary_rate(truth).sum() * 20_000.0, rel=0.05)
    start = time.perf_counter()
    result = fit(events, alpha_structure=structure)
    first = time.perf_counter() - start
    start = time.perf_counter()
    again = fit(events, alpha_structure=structure)
    second = time.perf_counter() - start
    print(f"\n8-dim fit on {len(events.times)} events: first {first:.1f} s, second {second:.1f} s")
    assert again.info.log_likelihood == result.info.log_likelihood
    assert result.info.method == "newton (profile beta)"
    assert result.info.converged and result.info.hessian_positive_definite
    alpha_err = np.abs(np.asarray(result.params.alpha) - alpha).max()
    mu_err = np.abs(np.asarray(result.params.mu)[:, 0] / mu - 1.0).max()
    beta_hat = float(result.params.beta[0, 0])
    print(
        f"max |alpha error| {alpha_err:.4f}, max mu relative error {mu_err:.4f}, "
        f"beta {beta_hat:.4f}"
    )
    assert alpha_err <= 0.03
    assert mu_err <= 0.10
    assert beta_hat == pytest.approx(2.0, rel=0.05)
    assert np.all(np.asarray(result.params.alpha)[alpha == 0] == 0.0)  # the mask holds
    rho_true = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    assert abs(result.info.spectral_radius - rho_true) < 4 * result.info.spectral_radius_se
    table = ks_table(result.params, events)
    assert np.all(table["pvalue"] > 0.01), table


@pytest.mark.slow
def test_recovery_hour_of_day_baseline_and_row_decays() -> None:
    # times in minutes over three days; four six-hour bins starting at 05:00
    grid = hour_of_day_baseline((0, 6, 12, 18, 24), start_hour=5.0, seconds_per_unit=60.0)
    mu = np.array([[0.2, 0.6, 0.9, 0.4], [0.3, 0.5, 0.7, 0.2]])
    alpha = np.array([[0.35, 0.15], [0.2, 0.3]])
    truth = hawkes_params(mu, alpha, np.array([1.5, 4.0]))
    events = simulate(truth, 3 * 24 * 60.0, np.random.default_rng(7), grid)
    assert len(events.times) > 5_000
    result = fit(events, grid, beta_structure="row")
    assert result.info.converged
    np.testing.assert_allclose(np.asarray(result.params.mu), mu, rtol=0.15)
    np.testing.assert_allclose(np.asarray(result.params.alpha), alpha, atol=0.05)
    np.testing.assert_allclose(np.asarray(result.params.beta)[:, 0], [1.5, 4.0], rtol=0.2)
    z = (np.asarray(result.params.mu) - mu) / np.asarray(result.stderr.mu)
    assert np.all(np.abs(z) < 4)
    assert np.all(ks_table(result.params, events, grid)["pvalue"] > 0.01)
    # per-pair decays nest the per-row model: a higher likelihood, same data
    pair = fit(events, grid, beta_structure="pair", init=result.params, stderr=False)
    assert pair.info.log_likelihood >= result.info.log_likelihood - 1e-6


@pytest.mark.slow
def test_tied_structure_adam_and_fallback(
    two_dim: tuple[HawkesParams, EventSequence], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, events = two_dim
    tying = np.array([[0, 1], [1, 0]])  # one self parameter, one cross parameter
    lbfgs = fit(events, alpha_structure=tying)
    a = np.asarray(lbfgs.params.alpha)
    assert a[0, 0] == a[1, 1] and a[0, 1] == a[1, 0] and lbfgs.info.num_free == 2 + 2 + 1
    assert lbfgs.stderr.alpha[0, 0] == lbfgs.stderr.alpha[1, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        adam = fit(events, alpha_structure=tying, method="adam", max_iter=3000, learning_rate=0.05)
    assert adam.info.method == "adam"
    assert adam.info.log_likelihood == pytest.approx(lbfgs.info.log_likelihood, abs=0.05)

    original = mle.run_lbfgs

    def broken(*args: object) -> tuple[object, ...]:
        u, _, gnorm, count = original(*args)
        return u, jnp.asarray(jnp.nan), gnorm, count

    monkeypatch.setattr(mle, "run_lbfgs", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fallback = fit(
            events, alpha_structure=tying, method="lbfgs", max_iter=3000, learning_rate=0.05
        )
    assert fallback.info.method == "adam (fallback)"
    assert np.isfinite(fallback.info.log_likelihood)
