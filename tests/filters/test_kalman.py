"""Exact Kalman filter: against an independent NumPy reference and the batch likelihood."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import multivariate_normal

from kbayes.filters import (
    GaussianState,
    LinearGaussianStep,
    Observation,
    kalman,
)
from tests.filters.models import FULLY_MISSING, KF, linear_problem


def numpy_kalman(
    m0: np.ndarray,
    p0: np.ndarray,
    fs: np.ndarray,
    qs: np.ndarray,
    hs: np.ndarray,
    rs: np.ndarray,
    ys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Textbook Kalman filter on the observed sub-vector (explicit slicing, explicit inverse)."""
    m, p = m0.copy(), p0.copy()
    means, covs, lls = [], [], []
    for f, q, h, r, y in zip(fs, qs, hs, rs, ys, strict=True):
        m, p = f @ m, f @ p @ f.T + q
        obs = ~np.isnan(y)
        ll = 0.0
        if obs.any():
            ho, ro, yo = h[obs], r[np.ix_(obs, obs)], y[obs]
            s = ho @ p @ ho.T + ro
            k = p @ ho.T @ np.linalg.inv(s)
            ll = multivariate_normal(ho @ m, s).logpdf(yo)
            m = m + k @ (yo - ho @ m)
            p = (np.eye(len(m)) - k @ ho) @ p @ (np.eye(len(m)) - k @ ho).T + k @ ro @ k.T
        means.append(m)
        covs.append(p)
        lls.append(ll)
    return np.array(means), np.array(covs), np.array(lls)


def test_time_varying_matches_numpy_reference() -> None:
    rng = np.random.default_rng(1)
    problem = linear_problem(rng)
    t_len, (m, d) = problem.obs.y.shape[0], problem.params.obs_matrix.shape
    fs = rng.normal(size=(t_len, d, d)) * 0.5 + np.eye(d)
    bq = rng.normal(size=(t_len, d, d))
    qs = 0.1 * (bq @ bq.transpose(0, 2, 1)) + 0.05 * np.eye(d)
    hs = rng.normal(size=(t_len, m, d))
    br = rng.normal(size=(t_len, m, m))
    rs = 0.1 * (br @ br.transpose(0, 2, 1)) + 0.1 * np.eye(m)
    ys, nv = np.asarray(problem.obs.y), np.asarray(problem.obs.noise_var)
    m0, p0 = np.asarray(problem.params.initial_mean), np.asarray(problem.params.initial_cov)
    # every step overrides F, Q, H, R: NaN defaults prove the overrides are used
    params = jax.tree_util.tree_map(lambda a: jnp.full_like(a, jnp.nan), problem.params)._replace(
        initial_mean=problem.params.initial_mean, initial_cov=problem.params.initial_cov
    )
    steps = LinearGaussianStep(
        y=problem.obs.y,
        dt=problem.obs.dt,  # ignored for Q: every step gives Q_t explicitly
        noise_var=problem.obs.noise_var,
        transition_matrix=jnp.asarray(fs),
        process_cov=jnp.asarray(qs),
        obs_matrix=jnp.asarray(hs),
        obs_cov=jnp.asarray(rs),
    )
    state, info = KF(params, steps)
    r_t = rs + np.stack([np.diag(v) for v in np.nan_to_num(nv)])
    ref_m, ref_p, ref_ll = numpy_kalman(m0, p0, fs, qs, hs, r_t, ys)
    np.testing.assert_allclose(info.filtered_mean, ref_m, atol=1e-10)
    np.testing.assert_allclose(info.filtered_cov, ref_p, atol=1e-10)
    np.testing.assert_allclose(info.log_likelihood, ref_ll, atol=1e-10)
    np.testing.assert_allclose(state.log_likelihood, ref_ll.sum(), atol=1e-9)
    for t in FULLY_MISSING:
        assert info.log_likelihood[t] == 0.0
        assert not info.observed[t].any()


def test_log_likelihood_equals_batch_gaussian_likelihood() -> None:
    """log p(y_1:T) from the filter equals the log density of the stacked observed ``y``
    under its joint Gaussian, built without any recursion."""
    rng = np.random.default_rng(2)
    params, obs, _ = linear_problem(rng)
    f, q, h, r = (np.asarray(a) for a in params[2:])
    dt, y, nv = (np.asarray(a) for a in (obs.dt, obs.y, obs.noise_var))
    d, t_len = f.shape[0], len(dt)
    # x_t = A_t x_0 + sum_{s<=t} B_{t,s} w_s: build Cov of the stacked states.
    big = np.zeros((t_len * d, (t_len + 1) * d))  # coefficients on (x_0, w_1..w_T)
    coef = np.eye(d)
    rows = []
    noise_coefs = []
    for t in range(t_len):
        coef = f @ coef
        noise_coefs = [f @ c for c in noise_coefs] + [np.eye(d)]
        rows.append(np.hstack([coef, *noise_coefs, np.zeros((d, (t_len - t - 1) * d))]))
    big = np.vstack(rows)
    src_cov = np.zeros(((t_len + 1) * d, (t_len + 1) * d))
    src_cov[:d, :d] = np.asarray(params.initial_cov)
    for t in range(t_len):
        src_cov[(t + 1) * d : (t + 2) * d, (t + 1) * d : (t + 2) * d] = q * dt[t]
    src_mean = np.concatenate([np.asarray(params.initial_mean), np.zeros(t_len * d)])
    hh = np.kron(np.eye(t_len), h)
    y_mean = hh @ big @ src_mean
    y_cov = hh @ big @ src_cov @ big.T @ hh.T
    y_cov += np.kron(np.eye(t_len), r) + np.diag(np.nan_to_num(nv.ravel()))
    keep = ~np.isnan(y.ravel())
    expected = multivariate_normal(y_mean[keep], y_cov[np.ix_(keep, keep)]).logpdf(y.ravel()[keep])
    state, _ = KF(params, obs)
    np.testing.assert_allclose(state.log_likelihood, expected, rtol=1e-11)


def test_nan_and_mask_are_the_same_missing_rows() -> None:
    rng = np.random.default_rng(3)
    params, obs, _ = linear_problem(rng)
    missing = np.isnan(np.asarray(obs.y))
    y_filled = jnp.asarray(np.where(missing, 123.0, np.asarray(obs.y)))
    nv_filled = jnp.asarray(np.where(missing, 1e9, np.asarray(obs.noise_var)))
    masked = Observation(y_filled, dt=obs.dt, noise_var=nv_filled, mask=jnp.asarray(~missing))
    s1, i1 = KF(params, obs)
    s2, i2 = KF(params, masked)
    np.testing.assert_allclose(i1.filtered_mean, i2.filtered_mean, atol=1e-12)
    np.testing.assert_allclose(i1.filtered_cov, i2.filtered_cov, atol=1e-12)
    np.testing.assert_allclose(s1.log_likelihood, s2.log_likelihood, atol=1e-12)


def test_missing_rows_give_no_nan_and_fully_missing_step_is_pure_predict() -> None:
    rng = np.random.default_rng(4)
    params, obs, _ = linear_problem(rng)
    state, info = KF(params, obs)
    for leaf in jax.tree_util.tree_leaves((state, info)):
        assert np.isfinite(np.asarray(leaf, dtype=float)).all()
    for t in FULLY_MISSING:
        assert info.log_likelihood[t] == 0.0
        np.testing.assert_array_equal(info.filtered_mean[t], info.predicted_mean[t])
        np.testing.assert_array_equal(info.filtered_cov[t], info.predicted_cov[t])
        np.testing.assert_array_equal(info.innovation[t], 0.0)


def test_scan_equals_step_by_step() -> None:
    rng = np.random.default_rng(5)
    params, obs, _ = linear_problem(rng)
    final, infos = KF(params, obs)
    algo = kalman(params)
    update = jax.jit(algo.update)
    state: GaussianState = algo.init(None)
    for t in range(obs.y.shape[0]):
        step = jax.tree_util.tree_map(lambda a, t=t: a[t], obs)
        state, info = update(state, step, None)
        np.testing.assert_allclose(info.filtered_mean, infos.filtered_mean[t], atol=1e-13)
        np.testing.assert_allclose(info.filtered_cov, infos.filtered_cov[t], atol=1e-13)
        np.testing.assert_allclose(info.log_likelihood, infos.log_likelihood[t], atol=1e-12)
    np.testing.assert_allclose(state.log_likelihood, final.log_likelihood, atol=1e-11)


def test_batches_vmap() -> None:
    rng = np.random.default_rng(6)
    problems = [linear_problem(rng) for _ in range(3)]
    stack = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *[(p.params, p.obs) for p in problems])
    batched, _ = jax.vmap(KF)(*stack)
    singles = [KF(p.params, p.obs)[0].log_likelihood for p in problems]
    np.testing.assert_allclose(batched.log_likelihood, singles, atol=1e-11)


def test_default_dt_is_one() -> None:
    rng = np.random.default_rng(7)
    params, obs, _ = linear_problem(rng, missing=False)
    state, _ = KF(params, Observation(obs.y))
    t_len = obs.y.shape[0]
    ref_m, _, ref_ll = numpy_kalman(
        *(np.asarray(a) for a in params[:2]),
        *(np.repeat(np.asarray(a)[None], t_len, 0) for a in params[2:]),
        np.asarray(obs.y),
    )
    np.testing.assert_allclose(state.mean, ref_m[-1], atol=1e-10)
    np.testing.assert_allclose(state.log_likelihood, ref_ll.sum(), atol=1e-9)
