"""Weighted binary logistic regression on two features: the fit behind Platt, temperature, beta.

All three parametric binary maps are logistic regressions of the 0/1 outcome on features of the
forecast (Platt: ``logit p`` with an intercept; temperature: ``logit p`` without; beta:
``ln p`` and ``-ln(1 - p)`` with an intercept). They share this one loss,

    L(coef, c) = sum_i w_i [softplus(eta_i) - t_i eta_i] / sum_i w_i,
    eta_i = x_i . coef + [intercept] c,

so that one compiled L-BFGS loop (per padded row count) serves all of them. A one-feature model
passes a zero second column: its coefficient then has zero gradient and stays at its start.
"""

from __future__ import annotations

import jax
import numpy as np
from jaxtyping import Float

from kbayes.calibration.optimize import FitInfo, minimize_lbfgs, weighted_mean


def _loss(
    params: tuple[jax.Array, jax.Array],
    w: jax.Array,
    x: jax.Array,
    t: jax.Array,
    use_intercept: jax.Array,
) -> jax.Array:
    coef, c = params
    eta = x @ coef + use_intercept * c
    return weighted_mean(w, jax.nn.softplus(eta) - t * eta)


def fit_logistic(
    x: Float[np.ndarray, "N 2"],
    t: Float[np.ndarray, " N"],
    w: Float[np.ndarray, " N"],
    *,
    coef0: tuple[float, float],
    intercept: bool,
    max_iter: int,
    tol: float,
) -> tuple[tuple[Float[np.ndarray, " 2"], float], FitInfo]:
    """Minimise the weighted mean log loss of ``sigmoid(x . coef + c)`` against targets ``t``.

    Args:
        x: ``(N, 2)`` features (a zero column for a one-feature model).
        t: targets in [0, 1] (0/1 labels, or smoothed targets).
        w: non-negative row weights.
        coef0: starting coefficients.
        intercept: fit ``c``; otherwise ``c`` stays 0.
        max_iter: maximum L-BFGS steps.
        tol: gradient-norm tolerance.

    Returns:
        ``((coef, c), FitInfo)``.
    """
    (coef, c), info = minimize_lbfgs(
        _loss,
        (np.asarray(coef0, dtype=np.float64), 0.0),
        w,
        (x, t),
        consts=(1.0 if intercept else 0.0,),
        max_iter=max_iter,
        tol=tol,
    )
    return (coef, float(c)), info
