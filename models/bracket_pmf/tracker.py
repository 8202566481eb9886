"""Bracket PMF trackers: the UKF and the particle filter on the bracket model, step by step.

Each tracker follows the step contract (DESIGN 2):

    init(key) -> state
    update(state, step: BracketStep, key) -> (state, TrackerInfo)

The live runner calls ``update`` per step; :func:`track` scans the same ``update`` over an
event's stacked steps, and ``jax.vmap`` of :func:`track` batches events (padded steps have
every row missing and ``dt = 0``: a pure prediction that changes nothing downstream and adds
0 to the log-likelihood).

* :func:`ukf_tracker`: the unscented Kalman filter of :mod:`kbayes.filters` (scaled sigma
  points, PSD repair, masked rows) on :func:`~models.bracket_pmf.model.bracket_state_space`;
  its marginal log-likelihood is what :mod:`models.bracket_pmf.fit` maximises.
* :func:`pf_tracker`: the bootstrap particle filter (Gordon et al. 1993) on the same model,
  systematic resampling when ESS < N/2.
* ``K = 1``: a single-bracket event is certain; both trackers return the PMF ``[1.0]`` and a
  zero log-likelihood for every step (no state to filter).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from kbayes.filters import bootstrap_particle, repair_psd, unscented_kalman
from kbayes.step import StepAlgorithm, scan_algorithm
from models.bracket_pmf.model import (
    BracketStep,
    bracket_state_space,
    jitter_repair,
    state_space_params,
    step_observation,
)
from models.bracket_pmf.params import BracketPMFParams
from models.bracket_pmf.pmf import gaussian_pmf, particle_pmf

REPAIRS = {"jitter": jitter_repair, "eigh": repair_psd}


class TrackerInfo(NamedTuple):
    """Per-step output of a tracker.

    Attributes:
        pmf: filtered bracket PMF after the step (sums to 1, entries in (0, 1)).
        log_likelihood: ``log p(y_t | y_1:t-1)`` over the observed rows (a PF estimate).
        observed: which observation rows were used.
    """

    pmf: Float[Array, " K"]
    log_likelihood: Float[Array, ""]
    observed: Bool[Array, " M"]


class CertainState(NamedTuple):
    """State of the ``K = 1`` tracker (nothing to track)."""

    log_likelihood: Float[Array, ""]


def _num_brackets(step_or_k: int) -> int:
    if step_or_k < 1:
        raise ValueError(f"an event needs at least one bracket, got K={step_or_k}")
    return step_or_k


def certain_tracker(weather: bool) -> StepAlgorithm[CertainState, TrackerInfo]:
    """The ``K = 1`` tracker: PMF ``[1.0]``, log-likelihood 0."""
    del weather

    def init(key: PRNGKeyArray | None = None) -> CertainState:
        del key
        return CertainState(jnp.zeros(()))

    def update(
        state: CertainState, step: BracketStep, key: PRNGKeyArray | None = None
    ) -> tuple[CertainState, TrackerInfo]:
        del key
        observed = jnp.zeros(jnp.shape(step.price), bool)
        return state, TrackerInfo(jnp.ones(1), jnp.zeros(()), observed)

    return StepAlgorithm(init, update)


def ukf_tracker(
    params: BracketPMFParams,
    num_brackets: int,
    weather: bool = False,
    with_pmf: bool = True,
    repair: str = "jitter",
) -> StepAlgorithm[Any, TrackerInfo]:
    """The unscented Kalman tracker of one event with ``num_brackets`` brackets.

    Args:
        params: model parameters.
        num_brackets: ``K`` (static).
        weather: whether steps carry the weather rows (static).
        with_pmf: compute the PMF every step (static; ``False`` skips it when only the
            likelihood is wanted, e.g. when fitting, and reports ``NaN``).
        repair: covariance repair, ``"jitter"`` (default, symmetrise + tiny diagonal) or
            ``"eigh"`` (:func:`~kbayes.filters.repair_psd`, eigenvalue floor; about 3x slower
            batched on CPU).

    Returns:
        ``init(key=None) -> GaussianState`` and ``update(state, step, key=None)``.
    """
    k = _num_brackets(num_brackets)
    if k == 1:
        return certain_tracker(weather)
    if repair not in REPAIRS:
        raise ValueError(f"repair={repair!r}: one of {sorted(REPAIRS)}")
    base = unscented_kalman(
        bracket_state_space(weather),
        state_space_params(params, k, weather),
        repair=REPAIRS[repair],
    )

    def update(
        state: Any, step: BracketStep, key: PRNGKeyArray | None = None
    ) -> tuple[Any, TrackerInfo]:
        state, info = base.update(state, step_observation(step, params, weather), key)
        pmf = gaussian_pmf(state.mean, state.cov) if with_pmf else jnp.full(k, jnp.nan)
        return state, TrackerInfo(pmf, info.log_likelihood, info.observed)

    return StepAlgorithm(base.init, update)


def pf_tracker(
    params: BracketPMFParams,
    num_brackets: int,
    num_particles: int = 1000,
    weather: bool = False,
    ess_threshold: float = 0.5,
) -> StepAlgorithm[Any, TrackerInfo]:
    """The bootstrap particle tracker (systematic resampling when ESS < threshold N).

    Args:
        params: model parameters.
        num_brackets: ``K`` (static).
        num_particles: ``N`` (static).
        weather: whether steps carry the weather rows (static).
        ess_threshold: resample when ``ESS < ess_threshold N``.

    Returns:
        ``init(key) -> ParticleState`` and ``update(state, step, key)`` (keys required).
    """
    k = _num_brackets(num_brackets)
    if k == 1:
        return certain_tracker(weather)
    base = bootstrap_particle(
        bracket_state_space(weather),
        state_space_params(params, k, weather),
        num_particles,
        resample="systematic",
        ess_threshold=ess_threshold,
        noise_dtype=jnp.float32,  # float32 proposal noise: ~4x cheaper than float64 normals
    )

    def update(state: Any, step: BracketStep, key: PRNGKeyArray | None) -> tuple[Any, TrackerInfo]:
        state, info = base.update(state, step_observation(step, params, weather), key)
        pmf = particle_pmf(state.particles, state.log_weights)
        return state, TrackerInfo(pmf, info.log_likelihood, info.observed)

    return StepAlgorithm(base.init, update)


def track(
    algorithm: StepAlgorithm[Any, TrackerInfo],
    steps: BracketStep,
    key: PRNGKeyArray | None = None,
) -> tuple[Any, TrackerInfo]:
    """Scan ``algorithm`` over one event's steps (leading axis ``T``): replay of the live
    ``update``, :func:`kbayes.step.scan_algorithm` typed for the bracket trackers."""
    return scan_algorithm(algorithm, steps, key)


def ukf_log_likelihood(
    params: BracketPMFParams, steps: BracketStep, num_brackets: int, weather: bool = False
) -> Float[Array, ""]:
    """``log p(y_1:T)`` of one event under the UKF (differentiable in ``params``)."""
    state, _ = track(ukf_tracker(params, num_brackets, weather, with_pmf=False), steps)
    return jnp.asarray(state.log_likelihood)
