"""Logistic-normal moments by the unscented transform and by Monte Carlo."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kbayes.compositional import (
    ilr_inverse,
    logistic_normal_moments_monte_carlo,
    logistic_normal_moments_unscented,
)
from kbayes.filters import MerweScaledSigmaPoints


def quadrature_moments(m: float, s: float) -> tuple[float, float]:
    """E[p] and Var[p] of p = sigmoid(z), z ~ N(m, s^2), by 80-point Gauss-Hermite."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    p = 1.0 / (1.0 + np.exp(-(m + s * x)))
    mean = float(w @ p)
    return mean, float(w @ (p - mean) ** 2)


@pytest.mark.parametrize(("m", "s"), [(0.0, 0.3), (1.2, 0.5), (-2.0, 0.2)])
def test_two_brackets_against_quadrature(m: float, s: float) -> None:
    mean, var = quadrature_moments(m, s)
    ut = logistic_normal_moments_unscented(jnp.array([m]), jnp.array([[s**2]]))
    assert float(ut.mean[0]) == pytest.approx(mean, abs=2e-3)
    assert float(ut.cov[0, 0]) == pytest.approx(var, rel=0.05)
    n = 200_000
    mc = logistic_normal_moments_monte_carlo(
        jnp.array([m]), jnp.array([[s**2]]), jax.random.key(0), n
    )
    assert abs(float(mc.mean[0]) - mean) < 5 * np.sqrt(var / n)
    assert float(mc.cov[0, 0]) == pytest.approx(var, rel=0.02)
    # p = [sigmoid(z), 1 - sigmoid(z)]: the second part mirrors the first
    assert float(ut.mean[1]) == pytest.approx(1 - float(ut.mean[0]), abs=1e-14)
    assert float(ut.cov[1, 1]) == pytest.approx(float(ut.cov[0, 0]), rel=1e-12)


def test_moments_live_on_the_simplex_and_the_two_methods_agree() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    m, s = jnp.asarray(rng.normal(size=4)), jnp.asarray(0.1 * a @ a.T + 0.05 * np.eye(4))
    ut = logistic_normal_moments_unscented(m, s)
    mc = logistic_normal_moments_monte_carlo(m, s, jax.random.key(1), 100_000)
    for mom in (ut, mc):
        assert mom.mean.shape == (5,) and mom.cov.shape == (5, 5)
        assert float(mom.mean.sum()) == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(mom.cov @ np.ones(5), 0.0, atol=1e-12)
        np.testing.assert_allclose(mom.cov, mom.cov.T, atol=1e-15)
    np.testing.assert_allclose(ut.mean, mc.mean, atol=1e-2)
    np.testing.assert_allclose(ut.cov, mc.cov, atol=5e-3)
    # the covariance is not vacuous: the plug-in softmax(m) would miss the mean shift
    assert np.abs(np.asarray(ut.cov)).max() > 1e-3


def test_small_alpha_and_other_inverse_maps() -> None:
    m, s = jnp.array([0.3, -0.4]), jnp.diag(jnp.array([0.04, 0.09]))
    tight = logistic_normal_moments_unscented(m, s, MerweScaledSigmaPoints(alpha=1e-2))
    wide = logistic_normal_moments_unscented(m, s)
    np.testing.assert_allclose(tight.mean, wide.mean, atol=2e-3)
    ilr_mom = logistic_normal_moments_unscented(m, s, inverse=ilr_inverse)
    assert float(ilr_mom.mean.sum()) == pytest.approx(1.0, abs=1e-12)
    mc = logistic_normal_moments_monte_carlo(m, s, jax.random.key(2), 50_000, inverse=ilr_inverse)
    np.testing.assert_allclose(ilr_mom.mean, mc.mean, atol=5e-3)


@pytest.mark.slow
def test_monte_carlo_error_shrinks_with_samples() -> None:
    m, s = 0.7, 0.8
    mean, _ = quadrature_moments(m, s)
    errors = {}
    for n in (10_000, 1_000_000):
        keys = jax.random.split(jax.random.key(3), 20)
        est = [
            float(
                logistic_normal_moments_monte_carlo(jnp.array([m]), jnp.array([[s**2]]), k, n).mean[
                    0
                ]
            )
            for k in keys
        ]
        errors[n] = np.sqrt(np.mean((np.array(est) - mean) ** 2))
    assert 4.0 < errors[10_000] / errors[1_000_000] < 25.0  # sqrt(100) = 10 expected
