"""Bootstrap particle filter: resampling schemes, agreement with the exact Kalman filter within
Monte Carlo error that shrinks with the number of particles, masking, scan/step contract."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kbayes.filters import (
    Observation,
    StateSpaceParams,
    bootstrap_particle,
    effective_sample_size,
    masked_gaussian_log_likelihood,
    multinomial_resample,
    observed_rows,
    stratified_resample,
    systematic_resample,
)
from kbayes.step import split_keys
from tests.filters.models import (
    FULLY_MISSING,
    KF,
    PF,
    LinearProblem,
    linear_as_state_space,
    linear_problem,
)

SMALL, LARGE = 1_000, 10_000


@pytest.fixture(scope="module")
def problem() -> LinearProblem:
    """Observation noise large enough for a bootstrap filter (ESS stays in the hundreds)."""
    return linear_problem(np.random.default_rng(30), noise_scale=10.0)


def pf_errors(problem: LinearProblem, num_particles: int, seeds: range) -> tuple[Any, Any, Any]:
    """Per seed: RMS over steps and dimensions of the filtered-mean error in Kalman standard
    deviations, RMS over steps of the log-likelihood increment error, and the error of the
    total log-likelihood."""
    model, ss = linear_as_state_space(problem.params)
    k_state, k_info = KF(problem.params, problem.obs)
    sd = np.sqrt(np.diagonal(k_info.filtered_cov, axis1=1, axis2=2))
    mean_err, inc_err, ll_err = [], [], []
    for seed in seeds:
        state, info = PF(
            ss, problem.obs, jax.random.key(seed), model=model, num_particles=num_particles
        )
        z = (np.asarray(info.filtered_mean) - np.asarray(k_info.filtered_mean)) / sd
        mean_err.append(np.sqrt(np.mean(z**2)))
        inc = np.asarray(info.log_likelihood) - np.asarray(k_info.log_likelihood)
        inc_err.append(np.sqrt(np.mean(inc**2)))
        ll_err.append(float(state.log_likelihood - k_state.log_likelihood))
    return np.array(mean_err), np.array(inc_err), np.array(ll_err)


# --- resampling ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resample", [systematic_resample, stratified_resample, multinomial_resample]
)
def test_resampling_is_unbiased(resample: Any) -> None:
    rng = np.random.default_rng(0)
    n, reps = 8, 4000
    w = rng.dirichlet(np.ones(n))
    log_w = jnp.log(jnp.asarray(w)) + 3.0  # unnormalised on purpose
    idx = jax.jit(jax.vmap(resample, in_axes=(0, None)))(
        jax.random.split(jax.random.key(1), reps), log_w
    )
    counts = np.stack([np.bincount(row, minlength=n) for row in np.asarray(idx)])
    se = np.sqrt(n * w * (1 - w) / reps)  # multinomial standard error: an upper bound
    assert np.all(np.abs(counts.mean(0) - n * w) < 5 * se + 1e-9)
    assert counts.sum(1).tolist() == [n] * reps
    if resample is systematic_resample:
        # each particle is copied floor(N w_i) or ceil(N w_i) times
        assert np.all(counts >= np.floor(n * w) - 1e-9) and np.all(counts <= np.ceil(n * w))
    if resample is multinomial_resample:
        assert np.allclose(counts.var(0), n * w * (1 - w), rtol=0.2)


def test_effective_sample_size() -> None:
    assert np.isclose(effective_sample_size(jnp.zeros(50)), 50.0)
    assert np.isclose(effective_sample_size(jnp.array([0.0, -jnp.inf, -jnp.inf])), 1.0)
    w = np.array([0.5, 0.25, 0.25])
    assert np.isclose(effective_sample_size(jnp.log(jnp.asarray(w)) - 7.0), 1 / np.sum(w**2))


def test_masked_gaussian_log_likelihood_matches_scipy() -> None:
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(2)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    res = rng.normal(size=(5, 4))
    observed = np.array([True, False, True, True])
    res_nan = res.copy()
    res_nan[:, 1] = np.nan
    got = masked_gaussian_log_likelihood(jnp.asarray(res_nan), jnp.asarray(cov), observed)
    keep = np.ix_(observed, observed)
    want = multivariate_normal(np.zeros(3), cov[keep]).logpdf(res[:, observed])
    np.testing.assert_allclose(got, want, atol=1e-12)
    none = masked_gaussian_log_likelihood(jnp.asarray(res_nan), jnp.asarray(cov), observed & False)
    np.testing.assert_array_equal(none, 0.0)


# --- the filter ----------------------------------------------------------------------------


def test_agrees_with_kalman_and_error_shrinks_with_particles(problem: LinearProblem) -> None:
    seeds = range(8)
    mean_small, inc_small, _ = pf_errors(problem, SMALL, seeds)
    mean_large, inc_large, ll_large = pf_errors(problem, LARGE, seeds)
    # Monte Carlo error: filtered means within a small fraction of the posterior sd, and
    # log p(y_1:T) (about -172 here) within a fraction of a nat ...
    assert mean_large.mean() < 0.08, mean_large
    assert np.sqrt(np.mean(ll_large**2)) < 0.4, ll_large
    # ... and it shrinks like N^(-1/2): sqrt(10) ~ 3.2 expected between 1e3 and 1e4 particles
    # (errors pooled over 30 steps and 8 seeds, so the ratios are stable).
    mean_ratio = mean_small.mean() / mean_large.mean()
    inc_ratio = np.sqrt(np.mean(inc_small**2) / np.mean(inc_large**2))
    assert 2.0 < mean_ratio < 6.0, (mean_ratio, mean_small, mean_large)
    assert 1.8 < inc_ratio < 6.0, (inc_ratio, inc_small, inc_large)


def test_missing_rows_and_fully_missing_steps(problem: LinearProblem) -> None:
    model, ss = linear_as_state_space(problem.params)
    state, info = PF(ss, problem.obs, jax.random.key(0), model=model, num_particles=SMALL)
    for leaf in jax.tree_util.tree_leaves((state, info)):
        assert np.isfinite(np.asarray(leaf, dtype=float)).all()
    for t in FULLY_MISSING:
        assert abs(float(info.log_likelihood[t])) < 1e-12
        assert not info.observed[t].any()
    np.testing.assert_array_equal(info.resampled, info.ess < 0.5 * SMALL)
    assert 0 < info.resampled.sum() < len(info.resampled)
    assert float(jax.nn.logsumexp(state.log_weights)) == pytest.approx(0.0, abs=1e-12)


def test_scan_equals_step_by_step(problem: LinearProblem) -> None:
    model, ss = linear_as_state_space(problem.params)
    key = jax.random.key(3)
    final, infos = PF(ss, problem.obs, key, model=model, num_particles=SMALL)
    algo = bootstrap_particle(model, ss, SMALL)
    num_steps = problem.obs.y.shape[0]
    init_key, step_keys = split_keys(key, num_steps)
    state = algo.init(init_key)
    update = jax.jit(algo.update)
    for t in range(num_steps):
        obs_t = jax.tree_util.tree_map(lambda a, t=t: a[t], problem.obs)
        state, info = update(state, obs_t, step_keys[t])
        np.testing.assert_allclose(info.filtered_mean, infos.filtered_mean[t], atol=1e-10)
        np.testing.assert_allclose(info.log_likelihood, infos.log_likelihood[t], atol=1e-10)
        assert bool(info.resampled) == bool(infos.resampled[t])
    np.testing.assert_allclose(state.particles, final.particles, atol=1e-10)
    np.testing.assert_allclose(state.log_likelihood, final.log_likelihood, atol=1e-9)


def test_needs_a_key(problem: LinearProblem) -> None:
    model, ss = linear_as_state_space(problem.params)
    with pytest.raises(ValueError, match="PRNG key"):
        bootstrap_particle(model, ss, 10).init(None)
    with pytest.raises(ValueError, match="unknown resampling"):
        bootstrap_particle(model, ss, 10, resample="residual")


# --- heavier statistical checks --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("resample", ["systematic", "stratified", "multinomial"])
def test_many_particles_match_kalman_closely(problem: LinearProblem, resample: str) -> None:
    model, ss = linear_as_state_space(problem.params)
    k_state, k_info = KF(problem.params, problem.obs)
    state, info = PF(
        ss, problem.obs, jax.random.key(9), model=model, num_particles=100_000, resample=resample
    )
    sd = np.sqrt(np.diagonal(k_info.filtered_cov, axis1=1, axis2=2))
    z = (np.asarray(info.filtered_mean) - np.asarray(k_info.filtered_mean)) / sd
    assert np.sqrt(np.mean(z**2)) < 0.03
    assert abs(float(state.log_likelihood - k_state.log_likelihood)) < 0.15
    cov_ratio = np.diagonal(info.filtered_cov, axis1=1, axis2=2) / sd**2
    assert np.all(np.abs(cov_ratio - 1) < 0.15)


@pytest.mark.slow
def test_custom_log_likelihood_and_never_resampling(problem: LinearProblem) -> None:
    """A user log-likelihood equal to the default reproduces the default path exactly, and
    ``ess_threshold=0`` never resamples."""
    model, ss = linear_as_state_space(problem.params)

    def gaussian(x: jax.Array, obs: Observation, params: StateSpaceParams) -> jax.Array:
        seen = observed_rows(obs)
        r = params.obs_cov + jnp.diag(jnp.where(seen, obs.noise_var, 0.0))
        return masked_gaussian_log_likelihood(obs.y - params.model[1] @ x, r, seen)

    key = jax.random.key(4)
    _, default = PF(ss, problem.obs, key, model=model, num_particles=SMALL)
    _, custom = PF(ss, problem.obs, key, model=model, num_particles=SMALL, log_likelihood=gaussian)
    np.testing.assert_allclose(custom.filtered_mean, default.filtered_mean, atol=1e-10)
    np.testing.assert_allclose(custom.log_likelihood, default.log_likelihood, atol=1e-10)
    _, never = PF(ss, problem.obs, key, model=model, num_particles=SMALL, ess_threshold=0.0)
    assert not np.asarray(never.resampled).any()


def test_float32_proposal_noise_keeps_float64_particles_and_accuracy(
    problem: LinearProblem,
) -> None:
    model, ss = linear_as_state_space(problem.params)
    k_state, k_info = KF(problem.params, problem.obs)
    state, info = PF(
        ss,
        problem.obs,
        jax.random.key(5),
        model=model,
        num_particles=LARGE,
        noise_dtype=jnp.float32,
    )
    assert state.particles.dtype == jnp.float64
    sd = np.sqrt(np.diagonal(k_info.filtered_cov, axis1=1, axis2=2))
    z = (np.asarray(info.filtered_mean) - np.asarray(k_info.filtered_mean)) / sd
    assert np.sqrt(np.mean(z**2)) < 0.1
    assert abs(float(state.log_likelihood - k_state.log_likelihood)) < 0.5
