"""Log-ratio transforms: exact inverses, simplex outputs, Helmert basis, isometry."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbayes.compositional import (
    alr,
    alr_inverse,
    clr,
    clr_inverse,
    helmert_basis,
    ilr,
    ilr_inverse,
    reference_log_softmax,
    reference_softmax,
)

TRANSFORMS: dict[str, tuple[Callable, Callable]] = {
    "alr": (alr, alr_inverse),
    "clr": (clr, clr_inverse),
    "ilr": (ilr, ilr_inverse),
}
FAST = settings(max_examples=40, deadline=None)


@st.composite
def compositions(draw: st.DrawFn) -> np.ndarray:
    """Points of the open simplex with 2..8 parts, some parts as small as 1e-12."""
    k = draw(st.integers(2, 8))
    log_w = draw(st.lists(st.floats(-27.0, 0.0), min_size=k, max_size=k))
    w = np.exp(np.array(log_w))
    return w / w.sum()


@st.composite
def coordinates(draw: st.DrawFn, name: str) -> np.ndarray:
    """Log-ratio coordinates small enough that every part stays representable in (0, 1)."""
    k = draw(st.integers(2, 8))
    bound = 4.0 if name == "ilr" else 10.0  # |V u|_inf <= |u|_2 <= sqrt(7) * 4 for ilr
    size = k if name == "clr" else k - 1
    z = np.array(draw(st.lists(st.floats(-bound, bound), min_size=size, max_size=size)))
    return z - z.mean() if name == "clr" else z


@pytest.mark.parametrize("name", TRANSFORMS)
@FAST
@given(p=compositions())
def test_inverse_of_transform_is_identity(name: str, p: np.ndarray) -> None:
    forward, inverse = TRANSFORMS[name]
    back = np.asarray(inverse(forward(jnp.asarray(p))))
    np.testing.assert_allclose(back, p, rtol=1e-9, atol=0)
    assert back.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", TRANSFORMS)
@FAST
@given(data=st.data())
def test_inverse_lands_in_the_open_simplex_and_transform_recovers_it(
    name: str, data: st.DataObject
) -> None:
    forward, inverse = TRANSFORMS[name]
    z = data.draw(coordinates(name))
    p = np.asarray(inverse(jnp.asarray(z)))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all((p > 0) & (p < 1)), p
    np.testing.assert_allclose(np.asarray(forward(jnp.asarray(p))), z, atol=1e-9)


def test_reference_softmax_is_softmax_with_a_zero_last_logit() -> None:
    z = jnp.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    p = reference_softmax(z)
    e = np.exp([[1.0, -2.0, 0.5, 0.0], [0.0] * 4])
    np.testing.assert_allclose(p, e / e.sum(1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(alr_inverse(z), p, rtol=0)
    np.testing.assert_allclose(reference_log_softmax(z), np.log(p), atol=1e-14)
    np.testing.assert_allclose(alr(p), z, atol=1e-14)  # batched over the leading axis
    # stable for extreme coordinates
    assert np.isfinite(np.asarray(reference_log_softmax(jnp.array([800.0, -800.0])))).all()


@pytest.mark.parametrize("k", [2, 3, 6])
def test_helmert_basis_is_an_orthonormal_zero_sum_basis(k: int) -> None:
    v = helmert_basis(k)
    assert v.shape == (k, k - 1)
    np.testing.assert_allclose(v.T @ v, np.eye(k - 1), atol=1e-14)
    np.testing.assert_allclose(v.T @ np.ones(k), 0.0, atol=1e-14)
    np.testing.assert_allclose(v @ v.T, np.eye(k) - 1.0 / k, atol=1e-14)
    if k == 2:
        np.testing.assert_allclose(v[:, 0], [1 / np.sqrt(2), -1 / np.sqrt(2)])
    with pytest.raises(ValueError, match="at least 2 parts"):
        helmert_basis(1)


@FAST
@given(p=compositions(), seed=st.integers(0, 2**32 - 1))
def test_ilr_is_an_isometry_and_clr_sums_to_zero(p: np.ndarray, seed: int) -> None:
    q = np.random.default_rng(seed).dirichlet(np.ones(len(p)))
    d_ilr = np.linalg.norm(np.asarray(ilr(jnp.asarray(p)) - ilr(jnp.asarray(q))))
    d_clr = np.linalg.norm(np.asarray(clr(jnp.asarray(p)) - clr(jnp.asarray(q))))
    assert d_ilr == pytest.approx(d_clr, rel=1e-9)
    assert float(jnp.sum(clr(jnp.asarray(p)))) == pytest.approx(0.0, abs=1e-9)
