"""Unrolled small-matrix Cholesky and forward substitution against LAPACK / NumPy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.linalg import solve_triangular

from kbayes.filters import linalg


def _spd(rng: np.random.Generator, n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    a = rng.normal(size=(*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(n)


@pytest.mark.parametrize("n", [1, 2, 5, 6, 8])
def test_cholesky_and_solve_match_lapack_batched(n: int) -> None:
    rng = np.random.default_rng(n)
    a = _spd(rng, n, (3, 2))
    b = rng.normal(size=(3, 2, n, 4))
    chol = linalg.cholesky(jnp.asarray(a))
    np.testing.assert_allclose(chol, np.linalg.cholesky(a), rtol=1e-12, atol=1e-12)
    assert np.all(np.triu(np.asarray(chol), 1) == 0.0)
    got = linalg.solve_lower(chol, jnp.asarray(b))
    want = solve_triangular(np.linalg.cholesky(a), b, lower=True)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_reads_the_lower_triangle_and_not_pd_gives_nan() -> None:
    rng = np.random.default_rng(0)
    a = _spd(rng, 4)
    upper_garbage = a + np.triu(np.full((4, 4), 7.0), 1)
    np.testing.assert_allclose(
        linalg.cholesky(jnp.asarray(upper_garbage)), np.linalg.cholesky(a), atol=1e-12
    )
    assert np.isnan(np.asarray(linalg.cholesky(jnp.asarray(-a)))).any()


def test_large_matrices_fall_back_to_lapack() -> None:
    n = linalg.UNROLL_MAX_DIM + 2
    rng = np.random.default_rng(1)
    a = _spd(rng, n)
    b = rng.normal(size=(n, 3))
    chol = linalg.cholesky(jnp.asarray(a))
    np.testing.assert_allclose(chol, np.linalg.cholesky(a), atol=1e-12)
    np.testing.assert_allclose(
        linalg.solve_lower(chol, jnp.asarray(b)), np.linalg.solve(np.asarray(chol), b), atol=1e-10
    )


def test_gradients_match_lapack_on_symmetric_input() -> None:
    """d/dtheta of a scalar through the factor and a solve, with A(theta) symmetric."""
    rng = np.random.default_rng(2)
    base = jnp.asarray(_spd(rng, 5))
    direction = jnp.asarray(_spd(rng, 5))
    b = jnp.asarray(rng.normal(size=(5, 2)))

    def loss(theta: jax.Array, chol_fn, solve_fn) -> jax.Array:
        chol = chol_fn(base + theta * direction)
        return jnp.sum(solve_fn(chol, b) ** 2) + jnp.sum(jnp.log(jnp.diagonal(chol)))

    got = jax.grad(loss)(0.3, linalg.cholesky, linalg.solve_lower)
    want = jax.grad(loss)(0.3, jnp.linalg.cholesky, lambda c, r: solve_triangular(c, r, lower=True))
    np.testing.assert_allclose(got, want, rtol=1e-9)
