"""Unscented Kalman filter with scaled sigma points, additive noise and masked rows.

For the additive-noise model of :mod:`kbayes.filters.state_space` each step is
(Julier & Uhlmann 1997; Wan & van der Merwe 2000, additive-noise form):

    predict:  X = sigma(m, P),  m^-, P^- = UT(fx(X, dt), Q_t),       P^- <- repair(P^-)
    update:   X^- = sigma(m^-, P^-)  (redrawn),  Y = hx(X^-),
              y^, S = UT(Y, R_t),   C = sum_i Wc_i (X^-_i - m^-)(Y_i - y^)^T,
              K = C S^{-1},  m = m^- + K (y - y^),  P = P^- - K S K^T,  P <- repair(P)
    log p(y_t | y_1:t-1) ~= log N(y; y^, S)

restricted to the observed rows of ``y`` (see :mod:`kbayes.filters.gaussian`). Redrawing the
sigma points after the prediction (so ``Q_t`` is seen by the update) and the sigma-point
layout follow filterpy's ``UnscentedKalmanFilter`` with ``MerweScaledSigmaPoints``, which the
tests reproduce to round-off. On a linear-Gaussian model the filter is exact.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from kbayes.filters.gaussian import (
    Conditioned,
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
from kbayes.filters.psd import repair_psd
from kbayes.filters.sigma_points import (
    MerweScaledSigmaPoints,
    merwe_sigma_points,
    merwe_weights,
    unscented_cross_covariance,
    unscented_transform,
)
from kbayes.filters.state_space import StateSpaceModel, StateSpaceParams
from kbayes.step import StepAlgorithm, scan_algorithm

DEFAULT_POINTS = MerweScaledSigmaPoints()

CovRepair = Callable[[Float[Array, "D D"]], Float[Array, "D D"]]


def unscented_predict(
    mean: Float[Array, " D"],
    cov: Float[Array, "D D"],
    fx: Callable[[Float[Array, " D"]], Float[Array, " D"]],
    process_cov: Float[Array, "D D"],
    points: MerweScaledSigmaPoints = DEFAULT_POINTS,
) -> tuple[Float[Array, " D"], Float[Array, "D D"]]:
    """Unscented prediction ``UT(fx(sigma(m, P)), Q)`` (no PSD repair)."""
    wm, wc = merwe_weights(mean.shape[-1], *points)
    sigmas = merwe_sigma_points(mean, cov, points.alpha, points.kappa)
    return unscented_transform(jax.vmap(fx)(sigmas), wm, wc, process_cov)


def unscented_update(
    mean: Float[Array, " D"],
    cov: Float[Array, "D D"],
    hx: Callable[[Float[Array, " D"]], Float[Array, " M"]],
    y: Float[Array, " M"],
    obs_cov: Float[Array, "M M"],
    observed: Bool[Array, " M"],
    points: MerweScaledSigmaPoints = DEFAULT_POINTS,
) -> tuple[Conditioned, Float[Array, " M"], Float[Array, "M M"]]:
    """Unscented measurement update on the observed rows (no PSD repair).

    Returns:
        The conditioned belief, and the predicted observation mean and covariance.
    """
    wm, wc = merwe_weights(mean.shape[-1], *points)
    sigmas = merwe_sigma_points(mean, cov, points.alpha, points.kappa)
    sigmas_y = jax.vmap(hx)(sigmas)
    y_pred, s = unscented_transform(sigmas_y, wm, wc, obs_cov)
    cross = unscented_cross_covariance(sigmas, mean, sigmas_y, y_pred, wc)
    post = condition_on_observation(mean, cov, y, y_pred, s, cross, observed)
    return post, y_pred, s


def unscented_kalman(
    model: StateSpaceModel,
    params: StateSpaceParams,
    *,
    points: MerweScaledSigmaPoints = DEFAULT_POINTS,
    repair: CovRepair = repair_psd,
) -> StepAlgorithm[GaussianState, GaussianFilterInfo]:
    """The unscented Kalman filter for ``model`` at ``params`` as an ``init``/``update`` pair.

    Args:
        model: ``fx``, ``hx`` (and optionally ``process_cov_fn``).
        params: ``m_0, P_0, Q, R`` and the model parameters.
        points: sigma-point hyperparameters ``(alpha, beta, kappa)``.
        repair: applied to every predicted and filtered covariance; the default symmetrises
            and floors eigenvalues (:func:`~kbayes.filters.psd.repair_psd`); pass
            :func:`~kbayes.filters.psd.symmetrize` for the bare filter.

    Returns:
        ``init(key=None) -> GaussianState`` and
        ``update(state, obs, key=None) -> (GaussianState, GaussianFilterInfo)``.
    """

    def init(key: PRNGKeyArray | None = None) -> GaussianState:
        del key
        mean = jnp.asarray(params.initial_mean)
        cov = jnp.asarray(params.initial_cov)
        return GaussianState(mean, cov, jnp.zeros((), mean.dtype))

    def update(
        state: GaussianState, obs: Observation, key: PRNGKeyArray | None = None
    ) -> tuple[GaussianState, GaussianFilterInfo]:
        del key
        dt = time_step(obs)
        theta, inputs = params.model, obs.inputs
        pred_mean, pred_cov = unscented_predict(
            state.mean,
            state.cov,
            lambda x: model.transition(x, dt, theta, inputs),
            model.process_cov(params, dt),
            points,
        )
        pred_cov = repair(pred_cov)
        observed = observed_rows(obs)
        post, y_pred, s = unscented_update(
            pred_mean,
            pred_cov,
            lambda x: model.observe(x, theta, inputs),
            filled_values(obs, observed),
            observation_cov(params.obs_cov, obs, observed),
            observed,
            points,
        )
        cov = repair(post.cov)
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

    return StepAlgorithm(init, update)


def unscented_kalman_filter(
    params: StateSpaceParams,
    observations: Observation,
    key: PRNGKeyArray | None = None,
    *,
    model: StateSpaceModel,
    points: MerweScaledSigmaPoints = DEFAULT_POINTS,
    repair: CovRepair = repair_psd,
) -> tuple[GaussianState, GaussianFilterInfo]:
    """Run the unscented Kalman filter over stacked observations with ``lax.scan``.

    Differentiable in ``params`` (fit ``Q`` and noise scales by maximising
    ``state.log_likelihood``). Under ``jit`` bind ``model``/``points``/``repair`` with
    ``functools.partial``.

    Args:
        params: ``m_0, P_0, Q, R`` and the model parameters.
        observations: per-step :class:`Observation` with a leading time axis ``T``.
        key: ignored (accepted for a uniform filter signature).
        model: ``fx``, ``hx`` (and optionally ``process_cov_fn``).
        points: sigma-point hyperparameters.
        repair: covariance repair (see :func:`unscented_kalman`).

    Returns:
        The final :class:`GaussianState` and the stacked :class:`GaussianFilterInfo`.
    """
    del key
    algorithm = unscented_kalman(model, params, points=points, repair=repair)
    return scan_algorithm(algorithm, observations, None)
