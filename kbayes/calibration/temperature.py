"""Temperature scaling, binary and over the bracket vector.

Guo, Pleiss, Sun & Weinberger (2017), "On calibration of modern neural networks":

    binary:      q = sigmoid(logit(p) / T)
    multiclass:  q = softmax(ln p / T),   i.e.  q_k = p_k^(1/T) / sum_j p_j^(1/T),

with one temperature ``T > 0`` minimising the weighted mean log loss. ``T > 1`` softens an
overconfident forecast, ``T < 1`` sharpens it, and the argmax never changes.

The fit is over the inverse temperature ``beta = 1/T``, where the loss is convex (a one-feature
logistic / multinomial regression without intercept; binary: ``LogisticRegression(C=inf,
fit_intercept=False)`` on ``logit(p)``). If the optimum has ``beta <= 0`` (an anti-informative
forecast), the constrained optimum over ``T > 0`` is ``beta = 0``, returned as ``T = inf``
(the uniform forecast); ``info`` then describes the unconstrained fit.

The multiclass map has a single scalar, so unlike Dirichlet calibration one map serves ladders of
any length: pass a sequence of PMFs of different lengths and they are padded and masked.
Probabilities are clipped to ``[PROB_EPS, 1 - PROB_EPS]`` before logarithms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float, Int
from scipy.special import expit, softmax

from kbayes.calibration.inputs import (
    CalibrationInputError,
    check_labels,
    check_outcomes,
    check_probs,
    check_weights,
    clip_probs,
    logit,
    pad_pmfs,
)
from kbayes.calibration.logistic import fit_logistic
from kbayes.calibration.optimize import FitInfo, minimize_lbfgs, weighted_mean


class TemperatureParams(NamedTuple):
    """``q = sigmoid(logit(p) / T)`` or ``softmax(ln p / T)``; ``T = inf`` gives the uniform."""

    temperature: float


def _temperature(beta: float) -> float:
    return 1.0 / beta if beta > 0 else float("inf")


def _multiclass_loss(
    beta: jax.Array, w: jax.Array, logp: jax.Array, mask: jax.Array, y: jax.Array
) -> jax.Array:
    eta = jnp.where(mask, beta * logp, -jnp.inf)
    logq = jax.nn.log_softmax(eta, axis=1)
    return weighted_mean(w, -jnp.take_along_axis(logq, y[:, None], axis=1)[:, 0])


def fit_temperature(
    p: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    *,
    sample_weight: Float[np.ndarray, " N"] | None = None,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[TemperatureParams, FitInfo]:
    """Fit ``T`` of the binary map ``q = sigmoid(logit(p) / T)`` (Guo et al. 2017).

    Args:
        p: forecast probabilities of the event, in [0, 1].
        y: 0/1 outcomes.
        sample_weight: optional non-negative row weights.
        max_iter: maximum L-BFGS steps.
        tol: gradient-norm tolerance.

    Returns:
        ``(TemperatureParams, FitInfo)``.
    """
    z = logit(check_probs(p, "p"))
    yy = check_labels(y, len(z))
    w = check_weights(sample_weight, len(z))
    x = np.stack([z, np.zeros_like(z)], axis=1)
    (coef, _), info = fit_logistic(
        x, yy, w, coef0=(1.0, 0.0), intercept=False, max_iter=max_iter, tol=tol
    )
    return TemperatureParams(_temperature(float(coef[0]))), info


def apply_temperature(
    params: TemperatureParams, p: Float[np.ndarray, " N"]
) -> Float[np.ndarray, " N"]:
    """Calibrated probabilities ``sigmoid(logit(p) / T)``."""
    return expit(logit(check_probs(p, "p")) / params.temperature)


def fit_temperature_multiclass(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
    outcome: Int[np.ndarray, " N"],
    *,
    sample_weight: Float[np.ndarray, " N"] | None = None,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[TemperatureParams, FitInfo]:
    """Fit ``T`` of ``q = softmax(ln p / T)`` over bracket PMFs (Guo et al. 2017).

    Args:
        probs: ``(N, K)`` PMFs, or a sequence of PMFs of possibly different lengths.
        outcome: realised bracket index per row.
        sample_weight: optional non-negative row weights.
        max_iter: maximum L-BFGS steps.
        tol: gradient-norm tolerance.

    Returns:
        ``(TemperatureParams, FitInfo)``.
    """
    P, mask = pad_pmfs(probs)
    y = check_outcomes(outcome, len(P), P.shape[1])
    lengths = mask.sum(axis=1)
    if (y >= lengths).any():
        i = int(np.flatnonzero(y >= lengths)[0])
        raise CalibrationInputError(
            f"outcome[{i}] = {y[i]} is not a bracket index in 0..{lengths[i] - 1}"
        )
    w = check_weights(sample_weight, len(P))
    logp = np.where(mask, np.log(clip_probs(P)), 0.0)
    beta, info = minimize_lbfgs(
        _multiclass_loss, 1.0, w, (logp, mask, y), max_iter=max_iter, tol=tol
    )
    return TemperatureParams(_temperature(float(beta))), info


def apply_temperature_multiclass(
    params: TemperatureParams,
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
) -> Float[np.ndarray, "N K"] | list[Float[np.ndarray, " K_i"]]:
    """Calibrated PMFs ``softmax(ln p / T)``, in the same layout as ``probs``."""
    P, mask = pad_pmfs(probs)
    eta = np.where(mask, np.log(clip_probs(P)) / params.temperature, -np.inf)
    Q = softmax(eta, axis=1)
    if isinstance(probs, np.ndarray) and probs.ndim == 2:
        return Q
    return [Q[i, m] for i, m in enumerate(mask)]
