"""From a belief over the alr state to a bracket PMF that sums to 1 with every entry in (0, 1).

The forecast of the bracket outcome is the posterior mean of ``p = softmax([z, 0])``:

* Gaussian belief ``z ~ N(m, P)`` (UKF): an unscented logistic-normal mean with symmetric
  points in centred log-ratio coordinates (:func:`gaussian_pmf`); every weight is positive,
  so the mean is a convex combination of PMFs;
* particles ``z^i`` with normalised log weights: ``E[p] ~= sum_i w_i softmax([z^i, 0])``.

Round-off can still give an entry of exactly 0 or 1 (a saturated softmax), so
:func:`clip_pmf` floors every entry at ``eps`` and renormalises: with ``K >= 2`` the result lies
in ``[eps / (1 + K eps), 1 - (K - 1) eps / (1 + K eps)]``, strictly inside (0, 1). A
single-bracket event (``K = 1``) has the PMF ``[1.0]`` by definition.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from kbayes.compositional import reference_softmax

PMF_EPS = 1e-6


def clip_pmf(p: Float[Array, "... K"], eps: float = PMF_EPS) -> Float[Array, "... K"]:
    """Floor at ``eps`` and renormalise (non-finite entries count as 0 before flooring)."""
    p = jnp.asarray(p)
    p = jnp.where(jnp.isfinite(p), p, jnp.zeros_like(p))
    p = jnp.maximum(p, eps)
    return p / jnp.sum(p, axis=-1, keepdims=True)


def gaussian_pmf(mean: Float[Array, " Km1"], cov: Float[Array, "Km1 Km1"]) -> Float[Array, " K"]:
    """Symmetric unscented ``E[softmax([z, 0])]`` for ``z ~ N(mean, cov)``, clipped into (0, 1).

    The belief is mapped to centred log-ratio coordinates ``c = H z`` with
    ``H = (I_K - 1 1^T / K) [I_{K-1}; 0]`` (``softmax(c) = softmax([z, 0])``), where every bracket
    (the reference included) is a coordinate. With ``S`` the symmetric square root of
    ``H P H^T`` (rank ``K - 1``), the ``2K`` points ``H m +- sqrt(K) S_j`` with weights
    ``1 / (2K)`` match the mean and covariance of ``c`` exactly (the ``kappa = 0`` unscented
    rule, Julier & Uhlmann 2004). Unlike Cholesky sigma points in alr coordinates, the rule
    is permutation-equivariant, so an exchangeable belief (e.g. the prior) gives a uniform PMF.
    """
    d = mean.shape[-1]
    k = d + 1
    h = (jnp.eye(k, dtype=mean.dtype) - 1.0 / k)[:, :d]
    c_mean = h @ mean
    c_cov = h @ cov @ h.T
    c_cov = 0.5 * (c_cov + c_cov.T)
    w, v = jnp.linalg.eigh(c_cov)
    root = (v * jnp.sqrt(jnp.maximum(w, 0.0))) @ v.T
    points = c_mean + jnp.sqrt(float(k)) * jnp.concatenate([root.T, -root.T])
    return clip_pmf(jnp.mean(jax.nn.softmax(points, axis=-1), axis=0))


def particle_pmf(
    particles: Float[Array, "N Km1"], log_weights: Float[Array, " N"]
) -> Float[Array, " K"]:
    """Weighted mean of ``softmax([z^i, 0])``, clipped into (0, 1)."""
    w = jax.nn.softmax(log_weights)
    return clip_pmf(w @ reference_softmax(particles))
