"""Unscented Kalman filter: step-by-step equality with filterpy on the nonlinear bracket model,
exactness on linear-Gaussian models, masking, PSD repair and the scan/step contract."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from filterpy.kalman import MerweScaledSigmaPoints as FpPoints
from filterpy.kalman import UnscentedKalmanFilter

from kbayes.filters import (
    LinearGaussianStep,
    MerweScaledSigmaPoints,
    Observation,
    StateSpaceModel,
    StateSpaceParams,
    repair_psd,
    unscented_kalman,
    unscented_kalman_filter,
)
from tests.filters.models import (
    FULLY_MISSING,
    KF,
    UKF,
    linear_as_state_space,
    linear_problem,
    simulate_bracket,
    softmax_ref_jnp,
    softmax_ref_np,
)

NUM_BRACKETS = 5
POINTS = MerweScaledSigmaPoints(alpha=0.6, beta=2.0, kappa=1.0)


# --- the bracket model: z in R^(K-1), random walk or mean reversion, y = softmax([z, 0]) ------


def fx_random_walk(x: jnp.ndarray, dt: Any, theta: Any) -> jnp.ndarray:
    return x


def fx_reverting(x: jnp.ndarray, dt: Any, theta: Any) -> jnp.ndarray:
    """Nonlinear drift toward ``theta`` at a rate that depends on ``dt``."""
    return theta + (x - theta) * jnp.exp(-0.3 * dt) + 0.05 * jnp.sin(x) * dt


def fx_reverting_np(x: np.ndarray, dt: float, theta: np.ndarray) -> np.ndarray:
    return theta + (x - theta) * np.exp(-0.3 * dt) + 0.05 * np.sin(x) * dt


def hx_all(x: jnp.ndarray, theta: Any) -> jnp.ndarray:
    return softmax_ref_jnp(x)


def hx_first(x: jnp.ndarray, theta: Any) -> jnp.ndarray:
    return softmax_ref_jnp(x)[:-1]


def run_filterpy(
    params: StateSpaceParams,
    obs: Observation,
    fx_np: Any,
    observe_all: bool,
) -> dict[str, np.ndarray]:
    """filterpy's UKF with the same points, ``Q dt`` and ``R + diag(noise_var)`` per step;
    missing rows are dropped from ``z``, ``R`` and ``hx``, a fully missing step is
    ``update(None)``."""
    d = params.initial_mean.shape[0]
    m = NUM_BRACKETS if observe_all else NUM_BRACKETS - 1
    points = FpPoints(d, alpha=POINTS.alpha, beta=POINTS.beta, kappa=POINTS.kappa)
    ukf = UnscentedKalmanFilter(
        dim_x=d,
        dim_z=m,
        dt=1.0,
        hx=lambda x: softmax_ref_np(x)[:m],
        fx=fx_np,
        points=points,
    )
    ukf.x = np.asarray(params.initial_mean).copy()
    ukf.P = np.asarray(params.initial_cov).copy()
    q, r0 = np.asarray(params.process_cov), np.asarray(params.obs_cov)
    out: dict[str, list[Any]] = {k: [] for k in ("pm", "pc", "fm", "fc", "ll")}
    for t in range(obs.y.shape[0]):
        dt = float(obs.dt[t])
        y, nv = np.asarray(obs.y[t]), np.asarray(obs.noise_var[t])
        ukf.Q = q * dt
        ukf.predict(dt=dt)
        out["pm"].append(ukf.x.copy())
        out["pc"].append(ukf.P.copy())
        seen = ~np.isnan(y)
        if seen.any():
            r = (r0 + np.diag(np.where(seen, nv, 0.0)))[np.ix_(seen, seen)]
            ukf.update(y[seen], R=r, hx=lambda x, seen=seen: softmax_ref_np(x)[:m][seen])
            out["ll"].append(ukf.log_likelihood)
        else:
            ukf.update(None)
            out["ll"].append(0.0)
        out["fm"].append(ukf.x.copy())
        out["fc"].append(ukf.P.copy())
    return {k: np.array(v) for k, v in out.items()}


def bracket_case(
    seed: int, observe_all: bool, reverting: bool, num_steps: int = 25
) -> tuple[StateSpaceModel, StateSpaceParams, Observation, Any]:
    rng = np.random.default_rng(seed)
    d = NUM_BRACKETS - 1
    q = 0.2
    data = simulate_bracket(rng, NUM_BRACKETS, num_steps, q, observe_all)
    y, nv = data.y.copy(), data.noise_var.copy()
    y[rng.uniform(size=y.shape) < 0.2] = np.nan
    y[[t for t in FULLY_MISSING if t < num_steps]] = np.nan
    m = y.shape[1]
    a = rng.normal(size=(d, d))
    theta = rng.normal(size=d)
    params = StateSpaceParams(
        initial_mean=jnp.asarray(rng.normal(size=d)),
        initial_cov=jnp.asarray(0.5 * np.eye(d) + 0.1 * a @ a.T),
        process_cov=jnp.asarray(q * np.eye(d) + 0.02),
        obs_cov=jnp.asarray(1e-3 * np.eye(m) + 2e-4),
        model=jnp.asarray(theta),
    )
    obs = Observation(jnp.asarray(y), dt=jnp.asarray(data.dt), noise_var=jnp.asarray(nv))
    fx = fx_reverting if reverting else fx_random_walk
    fx_np = (lambda x, dt: fx_reverting_np(x, dt, theta)) if reverting else (lambda x, dt: x)
    model = StateSpaceModel(fx, hx_all if observe_all else hx_first)
    return model, params, obs, fx_np


@pytest.mark.parametrize(("observe_all", "reverting"), [(False, False), (True, True)])
def test_matches_filterpy_step_by_step(observe_all: bool, reverting: bool) -> None:
    model, params, obs, fx_np = bracket_case(
        10 + observe_all + 2 * reverting, observe_all, reverting
    )
    state, info = UKF(params, obs, model=model, points=POINTS)  # default PSD repair
    ref = run_filterpy(params, obs, fx_np, observe_all)
    diffs = {
        "predicted_mean": np.abs(info.predicted_mean - ref["pm"]).max(),
        "predicted_cov": np.abs(info.predicted_cov - ref["pc"]).max(),
        "filtered_mean": np.abs(info.filtered_mean - ref["fm"]).max(),
        "filtered_cov": np.abs(info.filtered_cov - ref["fc"]).max(),
        "log_likelihood": np.abs(info.log_likelihood - ref["ll"]).max(),
    }
    assert max(diffs.values()) < 1e-8, diffs
    np.testing.assert_allclose(state.log_likelihood, ref["ll"].sum(), atol=1e-8)
    # Not a vacuous comparison: the curvature of the softmax shows in the predicted
    # observation (E[h(z)] != h(E[z])).
    plug_in = np.stack(
        [softmax_ref_np(z)[: obs.y.shape[1]] for z in np.asarray(info.predicted_mean)]
    )
    assert np.abs(np.asarray(info.predicted_obs_mean) - plug_in).max() > 1e-3


def test_linear_model_equals_exact_kalman() -> None:
    rng = np.random.default_rng(20)
    problem = linear_problem(rng, d=3, m=4, num_steps=30)
    model, ss = linear_as_state_space(problem.params)
    k_state, k_info = KF(problem.params, problem.obs)
    u_state, u_info = UKF(ss, problem.obs, model=model, points=POINTS)
    for name in ("filtered_mean", "filtered_cov", "predicted_cov", "log_likelihood"):
        diff = np.abs(getattr(u_info, name) - getattr(k_info, name)).max()
        assert diff < 1e-9, (name, diff)
    assert abs(u_state.log_likelihood - k_state.log_likelihood) < 1e-9


def test_time_varying_inputs_equal_kalman_time_varying_steps() -> None:
    """``inputs`` reach ``fx``: a per-step ``F_t`` given as inputs equals the Kalman filter
    with ``LinearGaussianStep.transition_matrix``."""
    rng = np.random.default_rng(21)
    problem = linear_problem(rng)
    t_len, (m, d) = problem.obs.y.shape[0], problem.params.obs_matrix.shape
    f_t = jnp.asarray(rng.normal(size=(t_len, d, d)) * 0.3 + np.eye(d))
    model = StateSpaceModel(fx=fx_inputs, hx=hx_inputs)
    _, ss = linear_as_state_space(problem.params)
    _, u_info = UKF(ss, problem.obs._replace(inputs=f_t), model=model)
    p = problem.params
    steps = LinearGaussianStep(
        problem.obs.y,
        problem.obs.dt,
        problem.obs.noise_var,
        transition_matrix=f_t,
        process_cov=p.process_cov * problem.obs.dt[:, None, None],
        obs_matrix=jnp.broadcast_to(p.obs_matrix, (t_len, m, d)),
        obs_cov=jnp.broadcast_to(p.obs_cov, (t_len, m, m)),
    )
    _, k_info = KF(p, steps)
    np.testing.assert_allclose(u_info.filtered_mean, k_info.filtered_mean, atol=1e-9)
    np.testing.assert_allclose(u_info.log_likelihood, k_info.log_likelihood, atol=1e-9)


def fx_inputs(x: jnp.ndarray, dt: Any, theta: Any, f: jnp.ndarray) -> jnp.ndarray:
    return f @ x


def hx_inputs(x: jnp.ndarray, theta: Any, f: jnp.ndarray) -> jnp.ndarray:
    return theta[1] @ x


def test_likelihood_gradient_is_finite_and_exact_with_repeated_eigenvalues() -> None:
    """``Q = q I`` has repeated eigenvalues, where ``eigh`` has no derivative; the repair's
    straight-through gradient keeps the UKF gradient equal to the Kalman one."""
    rng = np.random.default_rng(22)
    problem = linear_problem(rng, d=3, m=4, num_steps=30)
    model, ss = linear_as_state_space(problem.params)
    ss = ss._replace(initial_cov=jnp.eye(3))

    def ukf_ll(log_q: jax.Array) -> jax.Array:
        p = ss._replace(process_cov=jnp.exp(log_q) * jnp.eye(3))
        return unscented_kalman_filter(p, problem.obs, model=model)[0].log_likelihood

    def kf_ll(log_q: float) -> float:
        p = problem.params._replace(process_cov=np.exp(log_q) * jnp.eye(3), initial_cov=jnp.eye(3))
        return float(KF(p, problem.obs)[0].log_likelihood)

    log_q, h = np.log(0.1), 1e-5
    g_u = jax.jit(jax.grad(ukf_ll))(jnp.asarray(log_q))
    g_k = (kf_ll(log_q + h) - kf_ll(log_q - h)) / (2 * h)  # exact filter, central difference
    assert np.isfinite(g_u)
    np.testing.assert_allclose(g_u, g_k, rtol=1e-6)


def test_missing_rows_give_no_nan_and_fully_missing_step_is_pure_predict() -> None:
    model, params, obs, _ = bracket_case(30, observe_all=True, reverting=True)
    nv = np.asarray(obs.noise_var).copy()
    nv[np.isnan(np.asarray(obs.y))] = np.nan
    state, info = UKF(params, obs._replace(noise_var=jnp.asarray(nv)), model=model, points=POINTS)
    for leaf in jax.tree_util.tree_leaves((state, info)):
        assert np.isfinite(np.asarray(leaf, dtype=float)).all()
    for t in FULLY_MISSING:
        assert info.log_likelihood[t] == 0.0
        np.testing.assert_array_equal(info.filtered_mean[t], info.predicted_mean[t])
    # the predicted covariance of a missing row is still a forecast (finite, positive)
    assert (np.diagonal(info.predicted_obs_cov, axis1=1, axis2=2) > 0).all()


def test_repair_psd() -> None:
    v = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    bad = (v * np.array([2.0, 1.0, 1e-3, -1e-9])) @ v.T
    bad[0, 1] += 1e-7  # asymmetric too
    fixed = np.asarray(repair_psd(jnp.asarray(bad), min_eigenvalue=1e-10))
    np.testing.assert_array_equal(fixed, fixed.T)
    assert np.linalg.eigvalsh(fixed).min() >= 1e-10 * (1 - 1e-6)
    np.linalg.cholesky(fixed)
    good = (v * np.array([2.0, 1.0, 1e-3, 1e-4])) @ v.T
    np.testing.assert_allclose(repair_psd(jnp.asarray(good)), good, atol=1e-14)


def test_scan_equals_step_by_step() -> None:
    model, params, obs, _ = bracket_case(40, observe_all=True, reverting=True)
    final, infos = UKF(params, obs, model=model, points=POINTS)
    algo = unscented_kalman(model, params, points=POINTS)
    update = jax.jit(algo.update)
    state = algo.init(None)
    for t in range(obs.y.shape[0]):
        state, info = update(state, jax.tree_util.tree_map(lambda a, t=t: a[t], obs), None)
        np.testing.assert_allclose(info.filtered_mean, infos.filtered_mean[t], atol=1e-12)
        np.testing.assert_allclose(info.filtered_cov, infos.filtered_cov[t], atol=1e-12)
    np.testing.assert_allclose(state.log_likelihood, final.log_likelihood, atol=1e-10)
    np.testing.assert_allclose(state.cov, final.cov, atol=1e-12)
