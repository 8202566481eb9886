"""Resampling of weighted particles, and the effective sample size.

Each scheme maps normalised weights ``w`` (given as log weights) to ``N`` ancestor indices
whose counts have expectation ``N w_i`` (Douc, Cappé & Moulines 2005, "Comparison of
resampling schemes for particle filtering"):

* multinomial: ``N`` i.i.d. uniforms, the highest variance;
* stratified: one uniform in each ``[(i-1)/N, i/N)``;
* systematic (Kitagawa 1996; Carpenter, Clifford & Fearnhead 1999): a single uniform
  ``U``, points ``(U + i)/N``; the cheapest and usually the lowest variance.

Indices come from ``searchsorted`` on the cumulative weights: ``O(N log N)``, ``jit``-able.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

ResampleFn = Callable[[PRNGKeyArray, Float[Array, " N"]], Int[Array, " N"]]
"""``resample(key, log_weights) -> ancestor indices``."""


def effective_sample_size(log_weights: Float[Array, " N"]) -> Float[Array, ""]:
    """``ESS = 1 / sum_i w_i^2`` of the normalised weights (Kong, Liu & Wong 1994)."""
    log_w = log_weights - jax.nn.logsumexp(log_weights)
    return jnp.exp(-jax.nn.logsumexp(2.0 * log_w))


def _indices_from_uniforms(
    log_weights: Float[Array, " N"], uniforms: Float[Array, " N"]
) -> Int[Array, " N"]:
    cdf = jnp.cumsum(jax.nn.softmax(log_weights))
    idx = jnp.searchsorted(cdf, uniforms, side="right")
    return jnp.clip(idx, 0, log_weights.shape[0] - 1)


def systematic_resample(key: PRNGKeyArray, log_weights: Float[Array, " N"]) -> Int[Array, " N"]:
    """Systematic resampling: points ``(U + i) / N``, one ``U ~ Uniform[0, 1)``."""
    n = log_weights.shape[0]
    u = jax.random.uniform(key, (), dtype=log_weights.dtype)
    return _indices_from_uniforms(log_weights, (u + jnp.arange(n, dtype=u.dtype)) / n)


def stratified_resample(key: PRNGKeyArray, log_weights: Float[Array, " N"]) -> Int[Array, " N"]:
    """Stratified resampling: one independent uniform in each stratum ``[i/N, (i+1)/N)``."""
    n = log_weights.shape[0]
    u = jax.random.uniform(key, (n,), dtype=log_weights.dtype)
    return _indices_from_uniforms(log_weights, (u + jnp.arange(n, dtype=u.dtype)) / n)


def multinomial_resample(key: PRNGKeyArray, log_weights: Float[Array, " N"]) -> Int[Array, " N"]:
    """Multinomial resampling: ``N`` i.i.d. draws from the categorical of the weights."""
    n = log_weights.shape[0]
    u = jax.random.uniform(key, (n,), dtype=log_weights.dtype)
    return _indices_from_uniforms(log_weights, u)


RESAMPLERS: dict[str, ResampleFn] = {
    "systematic": systematic_resample,
    "stratified": stratified_resample,
    "multinomial": multinomial_resample,
}
