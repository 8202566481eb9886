"""Exact Kalman filter for linear-Gaussian models: the oracle the other filters are tested on.

    x_t = F_t x_{t-1} + w_t,   w_t ~ N(0, Q_t)
    y_t = H_t x_t + v_t,       v_t ~ N(0, R_t)
    x_0 ~ N(m_0, P_0)

Each step predicts over ``dt_t`` and conditions on the observed rows of ``y_t`` (Kalman 1960):

    m^- = F m,   P^- = F P F^T + Q_t,   S = H P^- H^T + R_t,   K = P^- H^T S^{-1},
    m = m^- + K (y - H m^-),   P = P^- - K S K^T,   log p(y_t | y_1:t-1) = log N(y; H m^-, S).

Defaults come from :class:`LinearGaussianParams`: ``F_t = F``, ``Q_t = Q dt_t``, ``H_t = H``,
``R_t = R + diag(noise_var_t)``. A :class:`LinearGaussianStep` may override any of ``F_t``,
``Q_t`` (taken as is, not scaled by ``dt``), ``H_t``, ``R_t`` for time-varying models; a plain
:class:`~kbayes.filters.observation.Observation` uses the defaults. Missing rows and fully
missing steps are handled as in :mod:`kbayes.filters.gaussian`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from kbayes.filters.gaussian import (
    GaussianFilterInfo,
    GaussianState,
    condition_on_observation,
)
from kbayes.filters.observation import (
    Observation,
    filled_values,
    observation_cov,
    observed_rows,
    time_step,
)
from kbayes.filters.psd import symmetrize
from kbayes.step import StepAlgorithm, scan_algorithm


class LinearGaussianParams(NamedTuple):
    """Arrays of a (time-invariant by default) linear-Gaussian model.

    Attributes:
        initial_mean: ``m_0``, the belief before the first step.
        initial_cov: ``P_0``.
        transition_matrix: ``F``.
        process_cov: ``Q``, process noise covariance per unit time (``Q_t = Q dt``).
        obs_matrix: ``H``.
        obs_cov: ``R``, base observation noise covariance.
    """

    initial_mean: Float[Array, " D"]
    initial_cov: Float[Array, "D D"]
    transition_matrix: Float[Array, "D D"]
    process_cov: Float[Array, "D D"]
    obs_matrix: Float[Array, "M D"]
    obs_cov: Float[Array, "M M"]


class LinearGaussianStep(NamedTuple):
    """Observation of one step with optional time-varying model matrices.

    Attributes:
        y: observed vector, ``NaN`` for missing rows.
        dt: time since the previous step (``None`` means 1).
        noise_var: per-row variances added to the diagonal of ``R_t``.
        mask: ``True`` where observed.
        transition_matrix: ``F_t`` (``None``: ``params.transition_matrix``).
        process_cov: ``Q_t`` as is (``None``: ``params.process_cov * dt``).
        obs_matrix: ``H_t`` (``None``: ``params.obs_matrix``).
        obs_cov: ``R_t`` before ``noise_var`` (``None``: ``params.obs_cov``).
    """

    y: Float[Array, " M"]
    dt: Float[ArrayLike, ""] | None = None
    noise_var: Float[Array, " M"] | None = None
    mask: Bool[Array, " M"] | None = None
    transition_matrix: Float[Array, "D D"] | None = None
    process_cov: Float[Array, "D D"] | None = None
    obs_matrix: Float[Array, "M D"] | None = None
    obs_cov: Float[Array, "M M"] | None = None


def kalman_predict(
    mean: Float[Array, " D"],
    cov: Float[Array, "D D"],
    transition_matrix: Float[Array, "D D"],
    process_cov: Float[Array, "D D"],
) -> tuple[Float[Array, " D"], Float[Array, "D D"]]:
    """``(F m, F P F^T + Q)``."""
    f = transition_matrix
    return f @ mean, symmetrize(f @ cov @ f.T + process_cov)


def kalman_step(
    params: LinearGaussianParams, state: GaussianState, obs: Observation | LinearGaussianStep
) -> tuple[GaussianState, GaussianFilterInfo]:
    """One exact predict + masked update (the kernel behind :func:`kalman`)."""
    dt = time_step(obs)
    f = _override(obs, "transition_matrix", params.transition_matrix)
    q = getattr(obs, "process_cov", None)
    q = jnp.asarray(params.process_cov) * dt if q is None else q
    h = _override(obs, "obs_matrix", params.obs_matrix)
    observed = observed_rows(obs)
    r = observation_cov(_override(obs, "obs_cov", params.obs_cov), obs, observed)

    pred_mean, pred_cov = kalman_predict(state.mean, state.cov, f, q)
    y_pred = h @ pred_mean
    cross = pred_cov @ h.T
    s = symmetrize(h @ cross + r)
    post = condition_on_observation(
        pred_mean, pred_cov, filled_values(obs, observed), y_pred, s, cross, observed
    )
    cov = symmetrize(post.cov)
    new_state = GaussianState(post.mean, cov, state.log_likelihood + post.log_likelihood)
    info = GaussianFilterInfo(
        log_likelihood=post.log_likelihood,
        innovation=post.innovation,
        predicted_obs_mean=y_pred,
        predicted_obs_cov=s,
        observed=observed,
        predicted_mean=pred_mean,
        predicted_cov=pred_cov,
        filtered_mean=post.mean,
        filtered_cov=cov,
    )
    return new_state, info


def _override(obs: Any, name: str, default: Array) -> Array:
    value = getattr(obs, name, None)
    return jnp.asarray(default if value is None else value)


def kalman(params: LinearGaussianParams) -> StepAlgorithm[GaussianState, GaussianFilterInfo]:
    """The exact Kalman filter for ``params`` as an ``init``/``update`` pair.

    Args:
        params: the linear-Gaussian model.

    Returns:
        ``init(key=None) -> GaussianState`` (the prior ``N(m_0, P_0)``) and
        ``update(state, obs, key=None) -> (GaussianState, GaussianFilterInfo)``; the keys are
        ignored.
    """

    def init(key: PRNGKeyArray | None = None) -> GaussianState:
        del key
        mean = jnp.asarray(params.initial_mean)
        return GaussianState(mean, jnp.asarray(params.initial_cov), jnp.zeros((), mean.dtype))

    def update(
        state: GaussianState,
        obs: Observation | LinearGaussianStep,
        key: PRNGKeyArray | None = None,
    ) -> tuple[GaussianState, GaussianFilterInfo]:
        del key
        return kalman_step(params, state, obs)

    return StepAlgorithm(init, update)


def kalman_filter(
    params: LinearGaussianParams,
    observations: Observation | LinearGaussianStep,
    key: PRNGKeyArray | None = None,
) -> tuple[GaussianState, GaussianFilterInfo]:
    """Run the exact Kalman filter over stacked observations with ``lax.scan``.

    Args:
        params: the linear-Gaussian model.
        observations: per-step inputs with a leading time axis ``T``.
        key: ignored (accepted for a uniform filter signature).

    Returns:
        The final :class:`GaussianState` (``log_likelihood`` is ``log p(y_1:T)``) and the
        per-step :class:`GaussianFilterInfo` stacked along axis 0.
    """
    del key
    return scan_algorithm(kalman(params), observations, None)
