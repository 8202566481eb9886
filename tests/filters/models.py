"""Small models and simulated data shared by the filter tests."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kbayes.filters import (
    LinearGaussianParams,
    Observation,
    StateSpaceModel,
    StateSpaceParams,
    kalman_filter,
    particle_filter,
    unscented_kalman_filter,
)

# Jitted once per test session: static arguments compare by value, so tests that use the same
# model functions and shapes share one compilation (XLA compiles dominate the test time).
KF = jax.jit(kalman_filter)
UKF = jax.jit(unscented_kalman_filter, static_argnames=("model", "points", "repair"))
PF = jax.jit(
    particle_filter,
    static_argnames=(
        "model",
        "num_particles",
        "resample",
        "ess_threshold",
        "log_likelihood",
        "noise_dtype",
    ),
)


def softmax_ref_np(z: np.ndarray) -> np.ndarray:
    """NumPy ``softmax([z, 0])``, independent of the JAX code under test."""
    a = np.concatenate([z, [0.0]])
    e = np.exp(a - a.max())
    return e / e.sum()


def softmax_ref_jnp(z: jnp.ndarray) -> jnp.ndarray:
    a = jnp.concatenate([z, jnp.zeros(1, z.dtype)])
    return jnp.exp(a - jnp.max(a)) / jnp.sum(jnp.exp(a - jnp.max(a)))


class BracketData(NamedTuple):
    y: np.ndarray  # (T, M)
    dt: np.ndarray  # (T,)
    noise_var: np.ndarray  # (T, M)
    z: np.ndarray  # (T, K-1) true states


def simulate_bracket(
    rng: np.random.Generator,
    num_brackets: int,
    num_steps: int,
    q: float,
    observe_all: bool,
    z0_scale: float = 1.0,
) -> BracketData:
    """Random-walk log-ratio state, noisy bracket probabilities, irregular ``dt``."""
    d = num_brackets - 1
    dt = rng.uniform(0.1, 3.0, num_steps)
    z = rng.normal(0.0, z0_scale, d)
    zs, ys = [], []
    m = num_brackets if observe_all else d
    noise_var = rng.uniform(1e-4, 4e-3, (num_steps, m))
    for t in range(num_steps):
        z = z + rng.normal(0.0, np.sqrt(q * dt[t]), d)
        p = softmax_ref_np(z)[:m]
        ys.append(p + rng.normal(0.0, np.sqrt(noise_var[t])))
        zs.append(z.copy())
    return BracketData(np.array(ys), dt, noise_var, np.array(zs))


FULLY_MISSING = (4, 11)


class LinearProblem(NamedTuple):
    params: LinearGaussianParams
    obs: Observation
    x: np.ndarray


def linear_problem(
    rng: np.random.Generator,
    d: int = 3,
    m: int = 4,
    num_steps: int = 30,
    missing: bool = True,
    noise_scale: float = 1.0,
) -> LinearProblem:
    """A stable linear-Gaussian model, data simulated from it, irregular ``dt``, noise
    variances per step and (optionally) missing rows and two fully missing steps."""
    a = rng.normal(size=(d, d))
    f = 0.9 * a / np.max(np.abs(np.linalg.eigvals(a)))
    b = rng.normal(size=(d, d))
    q = 0.1 * (b @ b.T / d + 0.5 * np.eye(d))
    h = rng.normal(size=(m, d))
    r = noise_scale * (0.05 * np.eye(m) + 0.01)
    m0 = rng.normal(size=d)
    p0 = np.eye(d)
    dt = rng.uniform(0.2, 2.5, num_steps)
    noise_var = noise_scale * rng.uniform(0.01, 0.2, (num_steps, m))
    x = rng.multivariate_normal(m0, p0)
    xs, ys = [], []
    for t in range(num_steps):
        x = f @ x + rng.multivariate_normal(np.zeros(d), q * dt[t])
        y = h @ x + rng.multivariate_normal(np.zeros(m), r + np.diag(noise_var[t]))
        xs.append(x)
        ys.append(y)
    y = np.array(ys)
    if missing:
        drop = rng.uniform(size=y.shape) < 0.25
        y[drop] = np.nan
        noise_var[drop] = np.nan  # a missing quote has no spread either
        full = [t for t in FULLY_MISSING if t < num_steps]
        y[full] = np.nan
        noise_var[full] = np.nan
    params = LinearGaussianParams(
        jnp.asarray(m0),
        jnp.asarray(p0),
        jnp.asarray(f),
        jnp.asarray(q),
        jnp.asarray(h),
        jnp.asarray(r),
    )
    obs = Observation(jnp.asarray(y), dt=jnp.asarray(dt), noise_var=jnp.asarray(noise_var))
    return LinearProblem(params, obs, np.array(xs))


def linear_fx(x: jnp.ndarray, dt: Any, theta: Any) -> jnp.ndarray:
    return theta[0] @ x


def linear_hx(x: jnp.ndarray, theta: Any) -> jnp.ndarray:
    return theta[1] @ x


LINEAR_MODEL = StateSpaceModel(linear_fx, linear_hx)


def linear_as_state_space(params: LinearGaussianParams) -> tuple[StateSpaceModel, StateSpaceParams]:
    """The same linear model in ``fx``/``hx`` form for the UKF and the particle filter."""
    ss = StateSpaceParams(
        params.initial_mean,
        params.initial_cov,
        params.process_cov,
        params.obs_cov,
        model=(params.transition_matrix, params.obs_matrix),
    )
    return LINEAR_MODEL, ss
