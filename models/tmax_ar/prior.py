"""The day-ahead prior (no report of the day yet) pooled with climatology.

Before the climate day starts (``T-1 20:00``) the nowcast is the model's prior predictive.
Without an hourly forecast its baseline is a climatological curve and the day offset's fitted
spread is wide, so on the real KNYC data that prior scored worse than the plain climatological
PMF of the station's calendar month in earlier years (log loss 2.63 vs 2.27). The prior is
therefore the linear pool (Stone 1961; Genest & Zidek 1986)

    p(k) = w p_model(k) + (1 - w) p_clim(k),   w in [0, 1],

with ``w`` maximising the mean log score of the realised bracket ``y_i`` over **training**
events only,

    L(w) = (1/n) sum_i log(w a_i + (1 - w) b_i),   a_i = p_model,i(y_i),  b_i = p_clim,i(y_i).

``L`` is concave in ``w`` (a log of an affine function), so its maximiser over ``[0, 1]`` is
an end point when ``L'`` does not change sign there, else the unique root of
``L'(w) = (1/n) sum_i (a_i - b_i) / (w a_i + (1 - w) b_i)``, found by bisection. Because
``w = 0`` (climatology) and ``w = 1`` (the model) are candidates, the pooled prior's training
log loss is never above either one's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float

PROB_FLOOR = 1e-12
"""Probabilities are floored here before a log, as the scoring code does."""


class PriorBlend(NamedTuple):
    """The fitted pool weight and its training scores.

    Attributes:
        weight: ``w``, the weight of the model PMF.
        n_train: training events it was fitted on.
        train_log_loss_model / _climatology / _blend: mean log loss of the three on them.
    """

    weight: float
    n_train: int
    train_log_loss_model: float
    train_log_loss_climatology: float
    train_log_loss_blend: float


def _mean_log(w: float, a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.log(np.maximum(w * a + (1.0 - w) * b, PROB_FLOOR))))


def fit_prior_blend(
    p_model: Float[np.ndarray, " N"], p_clim: Float[np.ndarray, " N"], n_bisect: int = 60
) -> PriorBlend:
    """Fit ``w`` from the probabilities the model and climatology gave the realised brackets."""
    a = np.maximum(np.asarray(p_model, dtype=np.float64), PROB_FLOOR)
    b = np.maximum(np.asarray(p_clim, dtype=np.float64), PROB_FLOOR)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"p_model {a.shape} and p_clim {b.shape} must be equal 1-D arrays")
    if len(a) == 0:
        raise ValueError("no training events with both a model prior and climatology")
    if not (np.all(a <= 1.0 + 1e-9) and np.all(b <= 1.0 + 1e-9)):
        raise ValueError("p_model and p_clim must be probabilities in [0, 1]")

    def slope(w: float) -> float:
        return float(np.mean((a - b) / (w * a + (1.0 - w) * b)))

    if slope(0.0) <= 0.0:
        w = 0.0
    elif slope(1.0) >= 0.0:
        w = 1.0
    else:
        lo, hi = 0.0, 1.0
        for _ in range(n_bisect):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if slope(mid) > 0.0 else (lo, mid)
        w = 0.5 * (lo + hi)
    return PriorBlend(
        float(w), len(a), -_mean_log(1.0, a, b), -_mean_log(0.0, a, b), -_mean_log(w, a, b)
    )


def blend_pmf(
    blend: PriorBlend, p_model: Float[np.ndarray, " K"], p_clim: Float[np.ndarray, " K"]
) -> Float[np.ndarray, " K"]:
    """``w p_model + (1 - w) p_clim`` over one ladder (renormalised against rounding)."""
    p = blend.weight * np.asarray(p_model, dtype=np.float64) + (1.0 - blend.weight) * np.asarray(
        p_clim, dtype=np.float64
    )
    return p / p.sum()
