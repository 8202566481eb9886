"""Gaussian beliefs and their measurement update with missing rows.

Both the exact Kalman filter and the unscented Kalman filter reduce the measurement update
to the same conditioning of a joint Gaussian

    [x]      ([m ]   [P    C])
    [y]  ~ N ([y^], [C^T  S]),     S = Cov(y) including the observation noise,

on the observed rows of ``y``. Missing rows are handled without changing shapes (so the step
stays ``jit``/``scan``/``vmap``-able): their innovation is set to 0, their rows and columns of
``S`` to those of the identity and their columns of ``C`` to 0. The gain then has zero
columns for them, and the Cholesky factor of the padded ``S`` has unit diagonal there, so

    K = C S^{-1},   m+ = m + K (y - y^),   P+ = P - K S K^T,
    log p(y_obs) = -1/2 [v^T S^{-1} v + log det S + M_obs log 2 pi]

are exactly those of the observed sub-vector, and an all-missing step leaves ``(m, P)``
unchanged with zero log-likelihood.

With ``S = L L^T`` all of it takes one forward substitution ``L^{-1} [C^T | v] = [G | w]``
(the square-root form of the measurement update, e.g. Grewal & Andrews 2015, ch. 6):

    K v = G^T w,   K S K^T = C L^{-T} L^{-1} C^T = G^T G,   v^T S^{-1} v = w^T w,

so no gain, inverse or back substitution is formed. The factor and the substitution are
the unrolled ones of :mod:`kbayes.filters.linalg` for small ``M``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from kbayes.filters import linalg

LOG_2PI = math.log(2.0 * math.pi)


class GaussianState(NamedTuple):
    """Filtered Gaussian belief after a step.

    Attributes:
        mean: filtered mean ``E[x_t | y_1:t]``.
        cov: filtered covariance ``Cov[x_t | y_1:t]``.
        log_likelihood: cumulative marginal log-likelihood ``log p(y_1:t)``.
    """

    mean: Float[Array, " D"]
    cov: Float[Array, "D D"]
    log_likelihood: Float[Array, ""]


class GaussianFilterInfo(NamedTuple):
    """Diagnostics of one Gaussian filter step.

    Attributes:
        log_likelihood: increment ``log p(y_t | y_1:t-1)`` over the observed rows.
        innovation: ``y_t - y^_t`` on observed rows, 0 on missing rows.
        predicted_obs_mean: ``y^_t = E[y_t | y_1:t-1]`` for every row (a forecast of the
            missing ones).
        predicted_obs_cov: ``S_t = Cov[y_t | y_1:t-1]`` including ``R_t``, every row (the
            per-step ``noise_var`` of missing rows is not added).
        observed: which rows were used.
        predicted_mean: ``E[x_t | y_1:t-1]``.
        predicted_cov: ``Cov[x_t | y_1:t-1]``.
        filtered_mean: ``E[x_t | y_1:t]``.
        filtered_cov: ``Cov[x_t | y_1:t]``.
    """

    log_likelihood: Float[Array, ""]
    innovation: Float[Array, " M"]
    predicted_obs_mean: Float[Array, " M"]
    predicted_obs_cov: Float[Array, "M M"]
    observed: Bool[Array, " M"]
    predicted_mean: Float[Array, " D"]
    predicted_cov: Float[Array, "D D"]
    filtered_mean: Float[Array, " D"]
    filtered_cov: Float[Array, "D D"]


class Conditioned(NamedTuple):
    """Result of :func:`condition_on_observation`."""

    mean: Float[Array, " D"]
    cov: Float[Array, "D D"]
    log_likelihood: Float[Array, ""]
    innovation: Float[Array, " M"]


def _pad_missing(cov: Float[Array, "M M"], observed: Bool[Array, " M"]) -> Float[Array, "M M"]:
    """Replace missing rows/columns of ``cov`` by those of the identity."""
    both = observed[:, None] & observed[None, :]
    return jnp.where(both, cov, jnp.eye(cov.shape[-1], dtype=cov.dtype))


def masked_gaussian_log_likelihood(
    residual: Float[Array, "*batch M"], cov: Float[Array, "M M"], observed: Bool[Array, " M"]
) -> Float[Array, "*batch"]:
    """``log N(residual; 0, cov)`` over the observed rows only, batched over leading axes.

    Args:
        residual: ``y - E[y]``; values on missing rows are ignored (may be ``NaN``).
        cov: covariance of ``y`` (rows and columns of missing rows are ignored).
        observed: which rows enter.

    Returns:
        The log density of the observed sub-vector; 0 when no row is observed.
    """
    chol = linalg.cholesky(_pad_missing(cov, observed))
    r = jnp.where(observed, residual, jnp.zeros_like(residual))
    m = r.shape[-1]
    flat = r.reshape(-1, m)
    white = linalg.solve_lower(chol, flat.T).T.reshape(r.shape)
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    n_obs = jnp.sum(observed)
    return -0.5 * (jnp.sum(white**2, axis=-1) + log_det + n_obs * LOG_2PI)


def condition_on_observation(
    mean: Float[Array, " D"],
    cov: Float[Array, "D D"],
    y: Float[Array, " M"],
    y_pred: Float[Array, " M"],
    obs_cov: Float[Array, "M M"],
    cross_cov: Float[Array, "D M"],
    observed: Bool[Array, " M"],
) -> Conditioned:
    """Condition the joint Gaussian of ``(x, y)`` on the observed rows of ``y``.

    Args:
        mean: prior mean ``m`` of ``x``.
        cov: prior covariance ``P`` of ``x``.
        y: observation (missing rows may hold anything finite; see
            :func:`~kbayes.filters.observation.filled_values`).
        y_pred: predicted observation mean ``y^``.
        obs_cov: predicted observation covariance ``S`` (noise included).
        cross_cov: ``C = Cov(x, y)``.
        observed: which rows of ``y`` to condition on.

    Returns:
        Posterior mean and covariance, ``log p(y_obs)`` and the (masked) innovation.
    """
    innovation = jnp.where(observed, y - y_pred, jnp.zeros_like(y_pred))
    s_pad = _pad_missing(obs_cov, observed)
    c_pad = jnp.where(observed[None, :], cross_cov, jnp.zeros_like(cross_cov))
    chol = linalg.cholesky(s_pad)
    # One forward substitution: [G | w] = L^{-1} [C^T | v] (see the module docstring).
    solved = linalg.solve_lower(chol, jnp.concatenate([c_pad.T, innovation[:, None]], axis=1))
    g, white = solved[:, :-1], solved[:, -1]
    new_mean = mean + white @ g
    new_cov = cov - g.T @ g
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    log_lik = -0.5 * (white @ white + log_det + jnp.sum(observed) * LOG_2PI)
    return Conditioned(new_mean, new_cov, log_lik, innovation)
