"""Platt scaling: a logistic map of the forecast's logit (or of a raw score).

Platt (1999), "Probabilistic outputs for support vector machines and comparisons to regularized
likelihood methods":

    q = sigmoid(a * z + b),    z = logit(p) = ln(p / (1 - p))   (or z = s, a raw score),

with ``(a, b)`` minimising the weighted mean log loss of ``q`` against the 0/1 labels. Without
target smoothing this is exactly an unregularised one-feature logistic regression of ``y`` on
``z`` (``sklearn.linear_model.LogisticRegression(C=inf)``). ``smooth_targets=True`` replaces the
labels by Platt's out-of-sample targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``.
Probabilities are clipped to ``[PROB_EPS, 1 - PROB_EPS]`` before the logit
(:mod:`kbayes.calibration.inputs`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float
from scipy.special import expit

from kbayes.calibration.inputs import check_finite, check_labels, check_probs, check_weights, logit
from kbayes.calibration.logistic import fit_logistic
from kbayes.calibration.optimize import FitInfo


class PlattParams(NamedTuple):
    """``q = sigmoid(a * z + b)``."""

    a: float
    b: float


def _features(x: object, from_scores: bool) -> np.ndarray:
    if from_scores:
        return check_finite(x, "scores")
    return logit(check_probs(x, "p"))


def fit_platt(
    x: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    *,
    from_scores: bool = False,
    smooth_targets: bool = False,
    sample_weight: Float[np.ndarray, " N"] | None = None,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[PlattParams, FitInfo]:
    """Fit ``(a, b)`` of ``q = sigmoid(a * z + b)`` by L-BFGS on the log loss (Platt 1999).

    Args:
        x: forecast probabilities in [0, 1] (``z = logit(x)``), or raw real scores when
            ``from_scores`` (``z = x``).
        y: 0/1 outcomes.
        from_scores: treat ``x`` as a raw score instead of a probability.
        smooth_targets: use Platt's smoothed targets instead of the 0/1 labels.
        sample_weight: optional non-negative row weights.
        max_iter: maximum L-BFGS steps.
        tol: gradient-norm tolerance.

    Returns:
        ``(PlattParams, FitInfo)``.

    Raises:
        CalibrationInputError: NaN, a probability outside [0, 1], or a label other than 0/1.
    """
    z = _features(x, from_scores)
    t = check_labels(y, len(z))
    w = check_weights(sample_weight, len(z))
    if smooth_targets:
        n_pos, n_neg = float(w @ t), float(w @ (1.0 - t))
        t = np.where(t == 1.0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    x = np.stack([z, np.zeros_like(z)], axis=1)
    (coef, b), info = fit_logistic(
        x, t, w, coef0=(1.0, 0.0), intercept=True, max_iter=max_iter, tol=tol
    )
    return PlattParams(float(coef[0]), b), info


def apply_platt(
    params: PlattParams, x: Float[np.ndarray, " N"], *, from_scores: bool = False
) -> Float[np.ndarray, " N"]:
    """Calibrated probabilities ``sigmoid(a * z + b)`` (``z`` as in :func:`fit_platt`)."""
    return expit(params.a * _features(x, from_scores) + params.b)
