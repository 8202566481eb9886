"""Keeping covariance matrices symmetric positive semi-definite.

Round-off in ``P - K S K^T`` and in unscented transforms with a negative centre weight can
leave a covariance slightly asymmetric or with tiny negative eigenvalues, after which the
Cholesky factor of the next sigma-point step is ``NaN``. :func:`repair_psd` symmetrises and
floors the eigenvalues; it is cheap for the small state dimensions of the bracket models
(one ``eigh`` of a ``D x D`` matrix per step).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

# Relative eigenvalue floor, in units of machine epsilon times the largest |eigenvalue|.
RELATIVE_FLOOR_EPS = 10.0


def symmetrize(cov: Float[Array, "... D D"]) -> Float[Array, "... D D"]:
    """Return ``(P + P^T) / 2``."""
    return 0.5 * (cov + jnp.swapaxes(cov, -1, -2))


def repair_psd(cov: Float[Array, "D D"], min_eigenvalue: float = 0.0) -> Float[Array, "D D"]:
    """Symmetrise ``cov`` and floor its eigenvalues.

    The floor is ``max(min_eigenvalue, 10 * eps * max|lambda|)`` with ``eps`` the machine
    epsilon of ``cov``'s dtype, so a well-conditioned matrix comes back unchanged up to
    round-off and a float32 matrix stays Cholesky-factorisable.

    The gradient is that of :func:`symmetrize` (straight-through): the eigen-decomposition
    is not differentiated, because ``eigh``'s derivative is infinite at repeated eigenvalues
    (e.g. ``Q = q I``), which would turn a whole likelihood gradient into ``NaN``.

    Args:
        cov: a square matrix, nearly symmetric PSD.
        min_eigenvalue: absolute eigenvalue floor.

    Returns:
        A symmetric matrix whose eigenvalues are at least the floor.
    """
    sym = symmetrize(cov)
    const = lax.stop_gradient(sym)
    eigvals, eigvecs = jnp.linalg.eigh(const)
    eps = jnp.finfo(const.dtype).eps
    floor = jnp.maximum(min_eigenvalue, RELATIVE_FLOOR_EPS * eps * jnp.max(jnp.abs(eigvals)))
    clipped = (eigvecs * jnp.maximum(eigvals, floor)) @ eigvecs.T
    return sym + (symmetrize(clipped) - const)
