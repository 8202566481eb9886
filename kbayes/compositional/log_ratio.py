"""Log-ratio coordinates of the probability simplex (Aitchison 1986; Egozcue et al. 2003).

For ``p`` in the open simplex with ``K`` parts:

* additive log-ratio, last part as reference: ``alr(p)_k = log(p_k / p_K)``, ``k < K``;
  inverse ``p = softmax([z, 0])`` (:func:`reference_softmax`): the bracket PMF map of
  DESIGN.md section 3.1, with the last bracket as reference;
* centred log-ratio: ``clr(p) = log p - mean(log p)`` (sums to 0); inverse ``softmax``;
* isometric log-ratio: ``ilr(p) = V^T clr(p)`` with ``V`` the ``K x (K-1)`` Helmert-type
  orthonormal basis of the zero-sum hyperplane (:func:`helmert_basis`); inverse
  ``softmax(V u)``. ``ilr`` is an isometry between Aitchison geometry and ``R^(K-1)``.

All functions act on the last axis and broadcast over leading ones.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


def reference_softmax(z: Float[Array, "... Km1"]) -> Float[Array, "... K"]:
    """``softmax([z, 0])``: the last part is the reference (inverse of :func:`alr`)."""
    z = jnp.asarray(z)
    zero = jnp.zeros((*z.shape[:-1], 1), dtype=z.dtype)
    return jax.nn.softmax(jnp.concatenate([z, zero], axis=-1), axis=-1)


def reference_log_softmax(z: Float[Array, "... Km1"]) -> Float[Array, "... K"]:
    """``log softmax([z, 0])``, computed stably."""
    z = jnp.asarray(z)
    zero = jnp.zeros((*z.shape[:-1], 1), dtype=z.dtype)
    return jax.nn.log_softmax(jnp.concatenate([z, zero], axis=-1), axis=-1)


def alr(p: Float[Array, "... K"]) -> Float[Array, "... Km1"]:
    """Additive log-ratio ``log(p_k / p_K)`` for ``k < K``."""
    log_p = jnp.log(jnp.asarray(p))
    return log_p[..., :-1] - log_p[..., -1:]


def alr_inverse(z: Float[Array, "... Km1"]) -> Float[Array, "... K"]:
    """Inverse of :func:`alr`: ``softmax([z, 0])``."""
    return reference_softmax(z)


def clr(p: Float[Array, "... K"]) -> Float[Array, "... K"]:
    """Centred log-ratio ``log p - mean(log p)``."""
    log_p = jnp.log(jnp.asarray(p))
    return log_p - jnp.mean(log_p, axis=-1, keepdims=True)


def clr_inverse(c: Float[Array, "... K"]) -> Float[Array, "... K"]:
    """Inverse of :func:`clr`: ``softmax(c)``."""
    return jax.nn.softmax(jnp.asarray(c), axis=-1)


def helmert_basis(num_parts: int) -> Float[np.ndarray, "K Km1"]:
    """Orthonormal Helmert-type basis of ``{x in R^K : sum x = 0}``.

    Column ``j`` (``j = 1..K-1``) contrasts the first ``j`` parts with part ``j + 1``:
    ``1 / sqrt(j (j+1))`` on parts ``1..j``, ``-j / sqrt(j (j+1))`` on part ``j + 1``, 0 after.
    ``V^T V = I``, ``V V^T = I - 11^T / K``, ``V^T 1 = 0``.

    Args:
        num_parts: ``K >= 2``.

    Returns:
        ``V`` as a float64 NumPy array (a compile-time constant under ``jit``).
    """
    if num_parts < 2:
        raise ValueError(f"a composition needs at least 2 parts, got {num_parts}")
    basis = np.zeros((num_parts, num_parts - 1))
    for j in range(1, num_parts):
        norm = np.sqrt(j * (j + 1.0))
        basis[:j, j - 1] = 1.0 / norm
        basis[j, j - 1] = -j / norm
    return basis


def ilr(p: Float[Array, "... K"]) -> Float[Array, "... Km1"]:
    """Isometric log-ratio ``V^T clr(p)`` with the :func:`helmert_basis`."""
    c = clr(p)
    basis = jnp.asarray(helmert_basis(c.shape[-1]), dtype=c.dtype)
    return c @ basis


def ilr_inverse(u: Float[Array, "... Km1"]) -> Float[Array, "... K"]:
    """Inverse of :func:`ilr`: ``softmax(V u)``."""
    u = jnp.asarray(u)
    basis = jnp.asarray(helmert_basis(u.shape[-1] + 1), dtype=u.dtype)
    return jax.nn.softmax(u @ basis.T, axis=-1)
