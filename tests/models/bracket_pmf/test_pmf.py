"""``gaussian_pmf`` against Monte Carlo: the unscented logistic-normal mean is accurate.

For ``z ~ N(m, P)`` the oracle is the Monte Carlo mean of ``softmax([z, 0])`` (antithetic
pairs, so its standard error ``se`` is estimated from the pair means). The symmetric rule
matches the mean and covariance of the centred log-ratios exactly and is symmetric, so its
error is of fourth order in the belief's scale ``s``: the test allows ``5 se + 0.03 s^4``
(the constant is about 5x the largest error seen over ``K = 2..7``, ``s <= 1.5``) and checks
that the rule is far better than the plug-in ``softmax([m, 0])``, whose error is of second
order.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from models.bracket_pmf import gaussian_pmf

N_PAIRS = 100_000


def _belief(k: int, s: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    d = k - 1
    a = rng.normal(size=(d, d))
    cov = a @ a.T / d + 0.3 * np.eye(d)
    return rng.normal(0.0, 1.0, d), s**2 * cov / np.mean(np.diag(cov))


def _softmax0(z: np.ndarray) -> np.ndarray:
    z = np.concatenate([z, np.zeros((*z.shape[:-1], 1))], axis=-1)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def _monte_carlo(mean: np.ndarray, cov: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((N_PAIRS, len(mean))) @ np.linalg.cholesky(cov).T
    pair = 0.5 * (_softmax0(mean + e) + _softmax0(mean - e))
    return pair.mean(axis=0), pair.std(axis=0) / np.sqrt(N_PAIRS)


@pytest.mark.parametrize("k", [2, 4, 7])
@pytest.mark.parametrize("s", [0.2, 0.5, 1.0])
def test_gaussian_pmf_matches_monte_carlo(k: int, s: float) -> None:
    seed = 100 * k + int(10 * s)
    mean, cov = _belief(k, s, seed)
    mc, se = _monte_carlo(mean, cov, seed + 1)
    p = np.asarray(gaussian_pmf(jnp.asarray(mean), jnp.asarray(cov)))
    assert p.shape == (k,) and abs(p.sum() - 1.0) < 1e-12
    err = np.abs(p - mc)
    tol = 5 * se + 0.03 * s**4
    assert np.all(err <= tol), (
        f"error {err.max():.2e} over tolerance {tol[np.argmax(err - tol)]:.2e}"
    )
    plug = np.abs(_softmax0(mean) - mc).max()
    if plug > 20 * se.max():  # the second-order term is resolved by the Monte Carlo
        assert err.max() < 0.5 * plug, (err.max(), plug)


def test_gaussian_pmf_of_an_exchangeable_belief_is_uniform() -> None:
    k = 5
    cov = 0.7 * (np.eye(k - 1) + np.ones((k - 1, k - 1)))  # alr covariance of iid clr noise
    p = np.asarray(gaussian_pmf(jnp.zeros(k - 1), jnp.asarray(cov)))
    np.testing.assert_allclose(p, 1.0 / k, rtol=0, atol=1e-12)
