"""Beta calibration: a three-parameter logistic map of ``ln p`` and ``ln(1 - p)``.

Kull, Silva Filho & Flach (2017), "Beta calibration: a well-founded and easily implemented
improvement on logistic calibration for binary classifiers" (AISTATS), the ``abm`` family:

    q = sigmoid(a * ln p - b * ln(1 - p) + c),    a >= 0, b >= 0,

which contains the identity (``a = b = 1, c = 0``), Platt on the logit (``a = b``) and
non-logistic, asymmetric shapes (``a != b``). ``a, b >= 0`` keeps the map monotone
non-decreasing. The paper's midpoint ``m`` (``q(m) = 1/2``) solves
``a ln m - b ln(1 - m) + c = 0``; we store the intercept ``c`` instead.

Fit: the weighted mean log loss is convex in ``(a, b, c)``, so the constrained optimum is
found exactly by active sets: fit ``(a, b, c)`` unconstrained by L-BFGS; if ``a < 0`` or
``b < 0``, also fit the sub-models with ``a = 0``, ``b = 0`` and ``a = b = 0`` and return the
feasible one with the lowest loss. (``betacal.BetaCalibration(parameters="abm")`` refits
with only the offending parameter fixed at 0; the two agree whenever that refit is feasible.)
Probabilities are clipped to ``[PROB_EPS, 1 - PROB_EPS]`` before logarithms.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float
from scipy.special import expit

from kbayes.calibration.inputs import check_labels, check_probs, check_weights, clip_probs
from kbayes.calibration.logistic import fit_logistic
from kbayes.calibration.optimize import FitInfo


class BetaParams(NamedTuple):
    """``q = sigmoid(a * ln p - b * ln(1 - p) + c)`` with ``a, b >= 0``."""

    a: float
    b: float
    c: float


def _features(p: np.ndarray) -> np.ndarray:
    q = clip_probs(p)
    return np.stack([np.log(q), -np.log1p(-q)], axis=1)


def fit_beta(
    p: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    *,
    sample_weight: Float[np.ndarray, " N"] | None = None,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[BetaParams, FitInfo]:
    """Fit the ``abm`` beta calibration map (Kull, Silva Filho & Flach 2017).

    Args:
        p: forecast probabilities in [0, 1].
        y: 0/1 outcomes.
        sample_weight: optional non-negative row weights.
        max_iter: maximum L-BFGS steps per sub-model.
        tol: gradient-norm tolerance.

    Returns:
        ``(BetaParams, FitInfo)``; the info is that of the returned (sub-)model.
    """
    x = _features(check_probs(p, "p"))
    yy = check_labels(y, len(x))
    w = check_weights(sample_weight, len(x))

    def fit(free: tuple[bool, bool]) -> tuple[BetaParams, FitInfo]:
        keep = np.asarray(free, dtype=np.float64)
        # A zeroed feature column has zero gradient, so its coefficient stays at its init 0.
        (ab, c), info = fit_logistic(
            x * keep, yy, w, coef0=(keep[0], keep[1]), intercept=True, max_iter=max_iter, tol=tol
        )
        return BetaParams(float(ab[0]), float(ab[1]), c), info

    best = fit((True, True))
    if best[0].a >= 0 and best[0].b >= 0:
        return best
    candidates = [fit(free) for free in ((False, True), (True, False), (False, False))]
    feasible = [r for r in candidates if r[0].a >= 0 and r[0].b >= 0]
    return min(feasible, key=lambda r: r[1].loss)


def apply_beta(params: BetaParams, p: Float[np.ndarray, " N"]) -> Float[np.ndarray, " N"]:
    """Calibrated probabilities ``sigmoid(a ln p - b ln(1 - p) + c)``."""
    x = _features(check_probs(p, "p"))
    return expit(params.a * x[:, 0] + params.b * x[:, 1] + params.c)
