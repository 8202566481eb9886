"""Moments of the logistic-normal distribution (Aitchison & Shen 1980).

If ``z ~ N(m, S)`` in ``R^(K-1)`` and ``p = softmax([z, 0])`` then ``p`` is logistic-normal
on the ``K``-part simplex. Its mean and covariance have no closed form; two approximations:

* unscented: push the ``2(K-1) + 1`` scaled sigma points of ``(m, S)`` through the map
  (Julier & Uhlmann 2004; Wan & van der Merwe 2000). Deterministic, differentiable, exact
  for affine maps and accurate to the 3rd order for small ``S``; every sigma point lies on
  the simplex, so the mean sums to 1 and the covariance rows sum to 0 exactly;
* Monte Carlo: ``N`` draws, sample mean and (unbiased) sample covariance; error
  ``O(N^{-1/2})``.

Another inverse log-ratio map (e.g. :func:`~kbayes.compositional.log_ratio.ilr_inverse`) can
be passed as ``inverse``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from kbayes.compositional.log_ratio import reference_softmax
from kbayes.filters.sigma_points import (
    MerweScaledSigmaPoints,
    merwe_sigma_points,
    merwe_weights,
    unscented_transform,
)

InverseMap = Callable[[Float[Array, "... Km1"]], Float[Array, "... K"]]

DEFAULT_POINTS = MerweScaledSigmaPoints()


class SimplexMoments(NamedTuple):
    """Mean and covariance of a random composition ``p``.

    Attributes:
        mean: ``E[p]``.
        cov: ``Cov[p]`` (singular: ``cov @ 1 = 0`` for a distribution on the simplex).
    """

    mean: Float[Array, " K"]
    cov: Float[Array, "K K"]


def logistic_normal_moments_unscented(
    mean: Float[Array, " Km1"],
    cov: Float[Array, "Km1 Km1"],
    points: MerweScaledSigmaPoints = DEFAULT_POINTS,
    inverse: InverseMap = reference_softmax,
) -> SimplexMoments:
    """Unscented-transform approximation of ``E[p]`` and ``Cov[p]``, ``p = inverse(z)``.

    Args:
        mean: ``m``, mean of ``z``.
        cov: ``S``, covariance of ``z`` (positive definite).
        points: sigma-point hyperparameters.
        inverse: the map from ``z`` to the simplex (default ``softmax([z, 0])``).

    Returns:
        The approximate mean and covariance of ``p``.
    """
    mean = jnp.asarray(mean)
    wm, wc = merwe_weights(mean.shape[-1], *points)
    sigmas = merwe_sigma_points(mean, jnp.asarray(cov), points.alpha, points.kappa)
    p_mean, p_cov = unscented_transform(inverse(sigmas), wm, wc)
    return SimplexMoments(p_mean, p_cov)


def logistic_normal_moments_monte_carlo(
    mean: Float[Array, " Km1"],
    cov: Float[Array, "Km1 Km1"],
    key: PRNGKeyArray,
    num_samples: int = 10_000,
    inverse: InverseMap = reference_softmax,
) -> SimplexMoments:
    """Monte Carlo estimate of ``E[p]`` and ``Cov[p]``, ``p = inverse(z)``, ``z ~ N(m, S)``.

    Args:
        mean: ``m``, mean of ``z``.
        cov: ``S``, covariance of ``z`` (positive definite).
        key: PRNG key.
        num_samples: number of draws (static).
        inverse: the map from ``z`` to the simplex (default ``softmax([z, 0])``).

    Returns:
        The sample mean and the unbiased sample covariance of ``p``.
    """
    mean = jnp.asarray(mean)
    chol = jnp.linalg.cholesky(jnp.asarray(cov))
    eps = jax.random.normal(key, (num_samples, mean.shape[-1]), dtype=mean.dtype)
    p = inverse(mean + eps @ chol.T)
    p_mean = jnp.mean(p, axis=0)
    dev = p - p_mean
    return SimplexMoments(p_mean, dev.T @ dev / (num_samples - 1))
