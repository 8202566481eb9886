"""Bootstrap particle filter with log weights and adaptive resampling.

For the additive-Gaussian model of :mod:`kbayes.filters.state_space` (or any observation
log-likelihood ``log g(y_t | x_t)``), each step of the bootstrap filter (Gordon, Salmond &
Smith 1993) with adaptive resampling (Liu & Chen 1995; Doucet & Johansen 2009) is

    x_t^i = fx(x_{t-1}^i, dt_t) + w_t^i,    w_t^i ~ N(0, Q_t)          (proposal = prior)
    log W_t^i = log w_{t-1}^i + log g(y_t | x_t^i)
    log p^(y_t | y_1:t-1) = logsumexp_i log W_t^i                       (w_{t-1} normalised)
    log w_t^i = log W_t^i - logsumexp_j log W_t^j
    if ESS_t = 1 / sum_i (w_t^i)^2 < threshold * N:  resample, w_t^i = 1/N

The filtered moments in the info are computed from the weighted particles before
resampling (lower variance). Resampling runs under ``lax.cond``, so a scanned filter skips
it on the (usual) steps with a high ESS; under ``vmap`` the cond becomes a select and every
step pays for it. The process noise can be drawn in float32 (``noise_dtype``) and cast: the
inverse-error-function normal sampler is the most expensive part of a float64 step, and a
proposal does not need float64 tails. The likelihood estimate ``exp(sum_t log p^)`` is unbiased
(Del Moral 2004); its log is biased low by about half its variance. The default
``log g`` is the Gaussian ``N(y_obs; hx(x)_obs, R_t,obs)`` over observed rows; an all-missing
step leaves the weights unchanged (pure prediction). Resampling is not differentiable:
gradients of the log-likelihood estimate ignore the ancestor choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from kbayes.filters import linalg
from kbayes.filters.gaussian import masked_gaussian_log_likelihood
from kbayes.filters.observation import (
    Observation,
    filled_values,
    observation_cov,
    observed_rows,
    time_step,
)
from kbayes.filters.resampling import RESAMPLERS, ResampleFn, effective_sample_size
from kbayes.filters.state_space import StateSpaceModel, StateSpaceParams
from kbayes.step import StepAlgorithm, scan_algorithm

ObservationLogLikFn = Callable[
    [Float[Array, " D"], Observation, StateSpaceParams], Float[Array, ""]
]
"""``log_likelihood(x, obs, params) -> log g(y | x)`` for one particle (``vmap``-ed)."""


class ParticleState(NamedTuple):
    """Weighted particle approximation of the filtering distribution.

    Attributes:
        particles: ``x_t^i``.
        log_weights: normalised log weights (``logsumexp == 0``).
        log_likelihood: cumulative estimate of ``log p(y_1:t)``.
    """

    particles: Float[Array, "N D"]
    log_weights: Float[Array, " N"]
    log_likelihood: Float[Array, ""]


class ParticleInfo(NamedTuple):
    """Diagnostics of one particle filter step.

    Attributes:
        log_likelihood: estimate of the increment ``log p(y_t | y_1:t-1)``.
        ess: effective sample size after weighting, before resampling.
        resampled: whether the step resampled.
        observed: which rows of ``y`` were used.
        filtered_mean: weighted particle mean.
        filtered_cov: weighted particle covariance.
    """

    log_likelihood: Float[Array, ""]
    ess: Float[Array, ""]
    resampled: Bool[Array, ""]
    observed: Bool[Array, " M"]
    filtered_mean: Float[Array, " D"]
    filtered_cov: Float[Array, "D D"]


def weighted_moments(
    particles: Float[Array, "N D"], log_weights: Float[Array, " N"]
) -> tuple[Float[Array, " D"], Float[Array, "D D"]]:
    """Mean and covariance of the weighted particles."""
    w = jax.nn.softmax(log_weights)
    mean = w @ particles
    dev = particles - mean
    return mean, (dev.T * w) @ dev


def _resolve_resampler(resample: str | ResampleFn) -> ResampleFn:
    if callable(resample):
        return resample
    if resample not in RESAMPLERS:
        raise ValueError(f"unknown resampling scheme {resample!r}; one of {sorted(RESAMPLERS)}")
    return RESAMPLERS[resample]


def bootstrap_particle(
    model: StateSpaceModel,
    params: StateSpaceParams,
    num_particles: int,
    *,
    resample: str | ResampleFn = "systematic",
    ess_threshold: float = 0.5,
    log_likelihood: ObservationLogLikFn | None = None,
    noise_dtype: object = None,
) -> StepAlgorithm[ParticleState, ParticleInfo]:
    """The bootstrap particle filter for ``model`` at ``params`` as an ``init``/``update`` pair.

    Args:
        model: ``fx``, ``hx`` (and optionally ``process_cov_fn``); ``Q_t`` must be positive
            definite (it is Cholesky-factorised), as must ``P_0``.
        params: ``m_0, P_0, Q, R`` and the model parameters.
        num_particles: ``N`` (static).
        resample: ``"systematic"`` (default), ``"stratified"``, ``"multinomial"`` or a
            function ``(key, log_weights) -> indices``.
        ess_threshold: resample when ``ESS < ess_threshold * N`` (1 means every step, 0 never).
        log_likelihood: ``log g(y | x)`` per particle; default the masked Gaussian around
            ``hx(x)`` with ``R_t = R + diag(noise_var_t)``.
        noise_dtype: dtype of the standard normals of the process noise (``None``: the
            particles' dtype); e.g. ``jnp.float32`` for float64 particles, about 4x cheaper.

    Returns:
        ``init(key) -> ParticleState`` (``N`` draws from ``N(m_0, P_0)``, equal weights) and
        ``update(state, obs, key) -> (ParticleState, ParticleInfo)``.
    """
    resampler = _resolve_resampler(resample)
    n = num_particles

    def init(key: PRNGKeyArray | None) -> ParticleState:
        if key is None:
            raise ValueError("the particle filter needs a PRNG key")
        mean = jnp.asarray(params.initial_mean)
        chol = linalg.cholesky(jnp.asarray(params.initial_cov))
        eps = jax.random.normal(key, (n, mean.shape[-1]), dtype=mean.dtype)
        log_w = jnp.full((n,), -math.log(n), dtype=mean.dtype)
        return ParticleState(mean + eps @ chol.T, log_w, jnp.zeros((), mean.dtype))

    def observation_log_lik(
        particles: Float[Array, "N D"], obs: Observation
    ) -> tuple[Float[Array, " N"], Bool[Array, " M"]]:
        observed = observed_rows(obs)
        if log_likelihood is not None:
            return jax.vmap(lambda x: log_likelihood(x, obs, params))(particles), observed
        y_pred = jax.vmap(lambda x: model.observe(x, params.model, obs.inputs))(particles)
        r = observation_cov(params.obs_cov, obs, observed)
        residual = filled_values(obs, observed) - y_pred
        return masked_gaussian_log_likelihood(residual, r, observed), observed

    def update(
        state: ParticleState, obs: Observation, key: PRNGKeyArray | None
    ) -> tuple[ParticleState, ParticleInfo]:
        if key is None:
            raise ValueError("the particle filter needs a PRNG key")
        key_move, key_resample = jax.random.split(key)
        dt = time_step(obs)
        chol_q = linalg.cholesky(model.process_cov(params, dt))
        x_prev = state.particles
        drift = jax.vmap(lambda x: model.transition(x, dt, params.model, obs.inputs))(x_prev)
        std = jax.random.normal(key_move, x_prev.shape, dtype=noise_dtype or x_prev.dtype)
        particles = drift + std.astype(x_prev.dtype) @ chol_q.T

        log_g, observed = observation_log_lik(particles, obs)
        unnormalised = state.log_weights + log_g
        increment = jax.nn.logsumexp(unnormalised)
        log_w = unnormalised - increment
        ess = effective_sample_size(log_w)
        mean, cov = weighted_moments(particles, log_w)

        def resample_branch(
            xw: tuple[Float[Array, "N D"], Float[Array, " N"]],
        ) -> tuple[Float[Array, "N D"], Float[Array, " N"]]:
            x, lw = xw
            return x[resampler(key_resample, lw)], jnp.full_like(lw, -math.log(n))

        # Only when the ESS is low; a scanned filter skips the ancestor draw and the gather
        # on the other steps (under vmap the cond is a select, as before).
        do_resample = ess < ess_threshold * n
        particles, log_w = lax.cond(do_resample, resample_branch, lambda xw: xw, (particles, log_w))
        new_state = ParticleState(particles, log_w, state.log_likelihood + increment)
        info = ParticleInfo(increment, ess, do_resample, observed, mean, cov)
        return new_state, info

    return StepAlgorithm(init, update)


def particle_filter(
    params: StateSpaceParams,
    observations: Observation,
    key: PRNGKeyArray,
    *,
    model: StateSpaceModel,
    num_particles: int,
    resample: str | ResampleFn = "systematic",
    ess_threshold: float = 0.5,
    log_likelihood: ObservationLogLikFn | None = None,
    noise_dtype: object = None,
) -> tuple[ParticleState, ParticleInfo]:
    """Run the bootstrap particle filter over stacked observations with ``lax.scan``.

    Args:
        params: ``m_0, P_0, Q, R`` and the model parameters.
        observations: per-step :class:`Observation` with a leading time axis ``T``.
        key: PRNG key, split as in :func:`~kbayes.step.scan_algorithm`.
        model, num_particles, resample, ess_threshold, log_likelihood, noise_dtype: see
            :func:`bootstrap_particle`.

    Returns:
        The final :class:`ParticleState` (``log_likelihood`` estimates ``log p(y_1:T)``) and
        the stacked :class:`ParticleInfo`.
    """
    algorithm = bootstrap_particle(
        model,
        params,
        num_particles,
        resample=resample,
        ess_threshold=ess_threshold,
        log_likelihood=log_likelihood,
        noise_dtype=noise_dtype,
    )
    return scan_algorithm(algorithm, observations, key)
