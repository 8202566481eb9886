"""Scaled sigma points and the unscented transform.

The scaled unscented transform (Julier & Uhlmann 1997, 2004; Julier 2002; Wan & van der Merwe
2000, "The unscented Kalman filter for nonlinear estimation") represents ``x ~ (m, P)`` in
``n`` dimensions by ``2n + 1`` points

    lambda = alpha^2 (n + kappa) - n,     L L^T = (n + lambda) P,
    X_0 = m,   X_i = m + L[:, i-1],   X_{n+i} = m - L[:, i-1]      (i = 1..n)

with weights

    Wm_0 = lambda / (n + lambda),   Wc_0 = Wm_0 + 1 - alpha^2 + beta,
    Wm_i = Wc_i = 1 / (2 (n + lambda)).

The ordering and the square root (rows of the upper Cholesky factor, i.e. columns of the
lower one) are those of filterpy's ``MerweScaledSigmaPoints``, so results agree to round-off.
With ``alpha = 1, kappa = 0`` (the default here) every covariance weight is non-negative and
transformed covariances stay PSD; ``beta = 2`` is optimal for Gaussian priors.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from kbayes.filters import linalg


class MerweScaledSigmaPoints(NamedTuple):
    """Hyperparameters of the scaled sigma points (van der Merwe 2004).

    Attributes:
        alpha: spread of the points around the mean (``0 < alpha <= 1``).
        beta: prior-knowledge correction of the centre covariance weight (2 for Gaussian).
        kappa: secondary scaling (``0`` or ``3 - n``); needs ``n + lambda > 0``.
    """

    alpha: float = 1.0
    beta: float = 2.0
    kappa: float = 0.0


def merwe_weights(
    n: int, alpha: float = 1.0, beta: float = 2.0, kappa: float = 0.0
) -> tuple[Float[np.ndarray, " S"], Float[np.ndarray, " S"]]:
    """Mean and covariance weights ``(Wm, Wc)`` of the ``S = 2n + 1`` scaled sigma points.

    NumPy float64 constants, computed once at trace time (no weight arithmetic is traced
    into every filter step); cast them to the sigma points' dtype where they are used.
    """
    lam = alpha**2 * (n + kappa) - n
    c = 0.5 / (n + lam)
    wm = np.full((2 * n + 1,), c)
    wm[0] = lam / (n + lam)
    wc = wm.copy()
    wc[0] += 1.0 - alpha**2 + beta
    return wm, wc


def merwe_sigma_points(
    mean: Float[Array, " n"], cov: Float[Array, "n n"], alpha: float = 1.0, kappa: float = 0.0
) -> Float[Array, "S n"]:
    """The ``2n + 1`` scaled sigma points of ``(mean, cov)``, one per row.

    ``cov`` must be positive definite (see :func:`~kbayes.filters.psd.repair_psd`); a failed
    Cholesky factorisation gives ``NaN`` points, never an exception.
    """
    n = mean.shape[-1]
    lam = alpha**2 * (n + kappa) - n
    chol = linalg.cholesky((n + lam) * cov)
    offsets = chol.T
    return jnp.concatenate([mean[None, :], mean + offsets, mean - offsets], axis=0)


def unscented_transform(
    sigmas: Float[Array, "S k"],
    wm: Float[ArrayLike, " S"],
    wc: Float[ArrayLike, " S"],
    noise_cov: Float[Array, "k k"] | None = None,
) -> tuple[Float[Array, " k"], Float[Array, "k k"]]:
    """Weighted mean and covariance of transformed sigma points, plus additive noise.

    ``mean = sum_i Wm_i Y_i``, ``cov = sum_i Wc_i (Y_i - mean)(Y_i - mean)^T + noise_cov``.
    """
    wm = jnp.asarray(wm, sigmas.dtype)
    wc = jnp.asarray(wc, sigmas.dtype)
    mean = wm @ sigmas
    dev = sigmas - mean
    cov = (dev.T * wc) @ dev
    if noise_cov is not None:
        cov = cov + noise_cov
    return mean, cov


def unscented_cross_covariance(
    sigmas_x: Float[Array, "S n"],
    mean_x: Float[Array, " n"],
    sigmas_y: Float[Array, "S k"],
    mean_y: Float[Array, " k"],
    wc: Float[ArrayLike, " S"],
) -> Float[Array, "n k"]:
    """``sum_i Wc_i (X_i - mean_x)(Y_i - mean_y)^T``."""
    wc = jnp.asarray(wc, sigmas_y.dtype)
    return ((sigmas_x - mean_x).T * wc) @ (sigmas_y - mean_y)
