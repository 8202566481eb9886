"""The shared L-BFGS loop: reaches a known optimum, and each stopping rule stops it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kbayes.optim import lbfgs_minimize


def _rosenbrock(p: dict[str, jax.Array]) -> jax.Array:
    x, y = p["x"], p["y"]
    return jnp.sum(100.0 * (y - x**2) ** 2 + (1.0 - x) ** 2)


def test_lbfgs_reaches_the_rosenbrock_minimum() -> None:
    with jax.enable_x64(True):
        start = {"x": jnp.array([-1.2, 0.5]), "y": jnp.array([1.0, 2.0])}
        out = jax.jit(lambda p: lbfgs_minimize(_rosenbrock, p, 500, 1e-10))(start)
        np.testing.assert_allclose(np.asarray(out.params["x"]), 1.0, atol=1e-8)
        np.testing.assert_allclose(np.asarray(out.params["y"]), 1.0, atol=1e-8)
        assert float(out.grad_norm) < 1e-10
        # the reported value and gradient norm are those at the returned point
        np.testing.assert_allclose(float(out.value), float(_rosenbrock(out.params)), rtol=1e-9)
        grad = jax.grad(_rosenbrock)(out.params)
        norm = float(jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grad))))
        np.testing.assert_allclose(float(out.grad_norm), norm, rtol=1e-6, atol=1e-14)
        assert 1 < int(out.iterations) < 500


def test_lbfgs_stops_at_the_cap_and_on_a_stall() -> None:
    with jax.enable_x64(True):
        start = {"x": jnp.array([-1.2]), "y": jnp.array([1.0])}
        capped = lbfgs_minimize(_rosenbrock, start, 3, 1e-12)
        assert int(capped.iterations) == 3
        # a huge stall tolerance: every step after the second counts as no progress
        stalled = lbfgs_minimize(_rosenbrock, start, 500, 1e-12, stall_rtol=1e6)
        assert int(stalled.iterations) == 2
        free = lbfgs_minimize(_rosenbrock, start, 500, 1e-12)
        assert int(free.iterations) > 2
