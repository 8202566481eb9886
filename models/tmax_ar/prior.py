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

**Which days ``w`` is fitted on.** Not the NUTS training days: the posterior was fitted on
them, so there the model prior is in-sample and looks better than it is (on KNYC the weight
fitted there was ``w = 1``, and the pooled prior then lost to climatology on the test split,
2.59 vs 2.27). The day-ahead prior needs no report of the day, only the calendar date and the
baseline inputs issued before it, so it can be issued for any earlier day whose official high
is known: the experiment fits ``w`` on the same calendar months of **earlier years**, days
that precede every NUTS day and the test split (out of sample for the posterior, and with
climatologies of still earlier years, as for the events). The posterior's day-offset spread
is fitted on the training months, so how much the model prior is worth changes with the
season: :func:`fit_monthly_prior_blend` fits one ``w`` per calendar month, falling back to the
weight of all months pooled for a month with fewer than ``min_per_month`` days. Each month's
``w`` maximises that month's ``L``, so summed over those days the pool is again never worse
than either the model or climatology.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int

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


class MonthlyPriorBlend(NamedTuple):
    """Pool weights per calendar month, and the weight of all months pooled.

    Attributes:
        pooled: the blend fitted on every day.
        by_month: month (1-12) -> blend fitted on that month's days, for months with at least
            ``min_per_month`` days.
        min_per_month: the threshold it was fitted with.
    """

    pooled: PriorBlend
    by_month: dict[int, PriorBlend]
    min_per_month: int

    def for_month(self, month: int) -> PriorBlend:
        """The month's blend, or the pooled one when the month had too few days."""
        if not 1 <= int(month) <= 12:
            raise ValueError(f"month must be in 1..12, got {month!r}")
        return self.by_month.get(int(month), self.pooled)

    def as_record(self) -> dict:
        """JSON-friendly form (for the run manifest)."""
        return {
            "pooled": self.pooled._asdict(),
            "by_month": {str(m): b._asdict() for m, b in sorted(self.by_month.items())},
            "min_per_month": self.min_per_month,
        }


def fit_monthly_prior_blend(
    months: Int[np.ndarray, " N"],
    p_model: Float[np.ndarray, " N"],
    p_clim: Float[np.ndarray, " N"],
    min_per_month: int = 50,
) -> MonthlyPriorBlend:
    """:func:`fit_prior_blend` on all days and on each calendar month with enough days.

    Args:
        months: calendar month (1-12) of each day.
        p_model / p_clim: the probabilities the model prior and climatology gave each day's
            realised bracket.
        min_per_month: fewest days for a month to get its own weight.
    """
    m = np.asarray(months)
    if m.ndim != 1 or m.shape != np.shape(p_model):
        raise ValueError(f"months {m.shape} must match p_model {np.shape(p_model)}")
    if len(m) and (m.min() < 1 or m.max() > 12):
        raise ValueError(f"months must be in 1..12, got {sorted(set(m.tolist()))}")
    if min_per_month < 1:
        raise ValueError(f"min_per_month must be >= 1, got {min_per_month}")
    a = np.asarray(p_model, dtype=np.float64)
    b = np.asarray(p_clim, dtype=np.float64)
    pooled = fit_prior_blend(a, b)
    by_month = {
        int(mo): fit_prior_blend(a[m == mo], b[m == mo])
        for mo in np.unique(m)
        if (m == mo).sum() >= min_per_month
    }
    return MonthlyPriorBlend(pooled, by_month, int(min_per_month))
