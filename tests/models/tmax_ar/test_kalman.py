"""The filter's likelihood against the exact joint Gaussian, and the censored update."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import multivariate_normal, norm

from models.tmax_ar.grid import TENTHS, WHOLE
from models.tmax_ar.kalman import OBS_SD, backward_sample, effective_ar, kalman_filter

T = 40


def _inputs(seed: int):
    rng = np.random.default_rng(seed)
    phi = 0.7 + 0.25 * rng.random(T)
    sigma = 0.1 + 0.2 * rng.random(T)
    base = 20 + rng.standard_normal(T)
    phi_e, sig_e = effective_ar(jnp.asarray(phi), jnp.asarray(sigma))
    return rng, np.asarray(phi_e), np.asarray(sig_e), base


def _joint_cov(phi: np.ndarray, sigma: np.ndarray, tau: float) -> np.ndarray:
    # x_s = sum_j (prod_{i=j+1..s} phi_i) sigma_j eps_j
    a = np.zeros((T, T))
    for s in range(T):
        for j in range(s + 1):
            a[s, j] = np.prod(phi[j + 1 : s + 1]) * sigma[j]
    return a @ a.T + tau**2 + OBS_SD**2 * np.eye(T)


def test_tenths_loglik_equals_joint_gaussian() -> None:
    rng, phi, sigma, base = _inputs(0)
    mu, tau = 0.7, 1.5
    cov = _joint_cov(phi, sigma, tau)
    y = rng.multivariate_normal(base + mu, cov)
    kind = np.full(T, TENTHS)
    kind[[5, 6, 7, 20]] = 0  # gaps are marginalised out
    f = kalman_filter(
        jnp.asarray(phi),
        jnp.asarray(sigma),
        jnp.asarray(base),
        jnp.asarray(y),
        jnp.asarray(kind),
        jnp.asarray(mu),
        jnp.asarray(tau),
    )
    keep = kind > 0
    ref = multivariate_normal(base[keep] + mu, cov[np.ix_(keep, keep)]).logpdf(y[keep])
    np.testing.assert_allclose(float(f.loglik), ref, rtol=2e-4)


def test_single_whole_report_is_an_interval_probability() -> None:
    _, phi, sigma, base = _inputs(1)
    kind = np.zeros(T, dtype=int)
    kind[0] = WHOLE
    y = np.zeros(T)
    y[0] = 21.0
    mu, tau = 0.3, 1.0
    f = kalman_filter(
        jnp.asarray(phi),
        jnp.asarray(sigma),
        jnp.asarray(base),
        jnp.asarray(y),
        jnp.asarray(kind),
        jnp.asarray(mu),
        jnp.asarray(tau),
    )
    sd = np.sqrt(float(sigma[0]) ** 2 + tau**2 + OBS_SD**2)
    m = base[0] + mu
    ref = np.log(norm.cdf((21.5 - m) / sd) - norm.cdf((20.5 - m) / sd))
    np.testing.assert_allclose(float(f.loglik), ref, rtol=1e-4)


def test_backward_sample_respects_reports() -> None:
    rng, phi, sigma, base = _inputs(2)
    y = base + 0.5 + 0.1 * rng.standard_normal(T)
    kind = np.full(T, TENTHS)
    f = kalman_filter(
        jnp.asarray(phi),
        jnp.asarray(sigma),
        jnp.asarray(base),
        jnp.asarray(y),
        jnp.asarray(kind),
        jnp.asarray(0.0),
        jnp.asarray(2.0),
    )
    keys = jax.random.split(jax.random.PRNGKey(0), 200)
    x, d = jax.vmap(backward_sample, in_axes=(0, None, None, None))(
        keys, f, jnp.asarray(phi), jnp.asarray(sigma)
    )
    temp = base + np.asarray(d)[:, None] + np.asarray(x)
    assert np.all(np.isfinite(temp))
    assert np.abs(temp.mean(axis=0) - y).max() < 0.05
