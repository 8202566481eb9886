"""Isotonic calibration: the non-decreasing step map fitted by pool-adjacent-violators (PAV).

Ayer, Brunk, Ewing, Reid & Silverman (1955), "An empirical distribution function for sampling
with incomplete information"; Barlow, Bartholomew, Bremner & Brunk (1972), "Statistical
inference under order restrictions". Zadrozny & Elkan (2002) used it for calibration.

Given forecasts ``x_i`` (probabilities, or raw scores), 0/1 outcomes ``y_i`` and weights ``w_i``,
the fit is the non-decreasing ``g`` minimising ``sum_i w_i (y_i - g(x_i))^2`` (equivalently the
log loss, or any Bregman score: the PAV solution is the same). It is computed exactly, as
scikit-learn's ``IsotonicRegression(increasing=True, out_of_bounds="clip")`` does, step for step,
so the two agree bit for bit:

1. drop rows with zero weight; sort by ``(x, y)``;
2. pool rows whose ``x`` is within float64 resolution (``1e-15``) of the first ``x`` of the
   group into one point at that ``x`` with the weighted mean ``y`` and summed weight (ties);
3. run PAV on the pooled points (Busing 2022, "Monotone regression: a simple and fast O(n) PAVA
   implementation", Algorithm 1, the variant in ``scipy.optimize.isotonic_regression``);
4. keep only the points where the fitted value changes (first and last of each flat run).

The calibrated value of a new ``x`` clips it to the fitted range and interpolates linearly
between the kept points. No probability clipping is applied (no logarithms are taken).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float

from kbayes.calibration.inputs import (
    CalibrationInputError,
    check_finite,
    check_labels,
    check_probs,
    check_weights,
)

_RESOLUTION = float(np.finfo(np.float64).resolution)


class IsotonicParams(NamedTuple):
    """Knots of the piecewise-linear calibrated map, ``x`` strictly increasing."""

    x: Float[np.ndarray, " M"]
    y: Float[np.ndarray, " M"]


class IsotonicInfo(NamedTuple):
    """Diagnostics of an isotonic fit.

    Attributes:
        loss: weighted mean squared error (Brier) of the fitted map on the training rows.
        n_unique: distinct forecast values after pooling ties.
        n_knots: knots kept in :class:`IsotonicParams`.
        iterations: passes of PAV over the data (always 1: the algorithm is exact, O(n)).
        converged: always True (kept for the same interface as :class:`FitInfo`).
    """

    loss: float
    n_unique: int
    n_knots: int
    iterations: int = 1
    converged: bool = True


def pav(
    y: Float[np.ndarray, " N"], w: Float[np.ndarray, " N"] | None = None
) -> Float[np.ndarray, " N"]:
    """Weighted least-squares non-decreasing fit to ``y`` in the given order (PAV, O(n)).

    Minimises ``sum_i w_i (y_i - f_i)^2`` subject to ``f_1 <= ... <= f_n``. Adjacent violators
    are pooled into blocks whose value is their weighted mean (Ayer et al. 1955), in the
    single-pass order of Busing (2022), Algorithm 1.

    Args:
        y: values, already ordered by the covariate.
        w: strictly positive weights (default all 1).

    Returns:
        The fitted values, one per input.
    """
    xs = [float(v) for v in check_finite(y, "y")]
    n = len(xs)
    if w is None:
        ws = [1.0] * n
    else:
        warr = check_weights(w, n, "w")
        if (warr <= 0).any():
            i = int(np.flatnonzero(warr <= 0)[0])
            raise CalibrationInputError(f"w[{i}] = {warr[i]} is not strictly positive")
        ws = [float(v) for v in warr]
    starts = [0] * (n + 1)  # block k covers xs[starts[k]:starts[k + 1]]
    starts[1] = 1
    b = 0
    xb_prev, wb_prev = xs[0], ws[0]
    i = 1
    while i < n:
        b += 1
        xb, wb = xs[i], ws[i]
        if xb_prev >= xb:  # the new point violates the last block: pool them
            b -= 1
            sb = wb_prev * xb_prev + wb * xb
            wb += wb_prev
            xb = sb / wb
            while i < n - 1 and xb >= xs[i + 1]:  # absorb following points the pool exceeds
                i += 1
                sb += ws[i] * xs[i]
                wb += ws[i]
                xb = sb / wb
            while b > 0 and xs[b - 1] >= xb:  # merge back into earlier blocks
                b -= 1
                sb += ws[b] * xs[b]
                wb += ws[b]
                xb = sb / wb
        xs[b] = xb_prev = xb
        ws[b] = wb_prev = wb
        starts[b + 1] = i + 1
        i += 1
    out = np.empty(n)
    for k in range(b + 1):
        out[starts[k] : starts[k + 1]] = xs[k]
    return out


def _pool_ties(
    x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool sorted ``x`` within float64 resolution of each group's first value."""
    xo: list[float] = []
    yo: list[float] = []
    wo: list[float] = []
    cur_x, cur_y, cur_w = float(x[0]), 0.0, 0.0
    for xj, yj, wj in zip(x.tolist(), y.tolist(), w.tolist(), strict=True):
        if xj - cur_x >= _RESOLUTION:
            xo.append(cur_x)
            wo.append(cur_w)
            yo.append(cur_y / cur_w)
            cur_x, cur_w, cur_y = xj, wj, yj * wj
        else:
            cur_w += wj
            cur_y += yj * wj
    xo.append(cur_x)
    wo.append(cur_w)
    yo.append(cur_y / cur_w)
    return np.asarray(xo), np.asarray(yo), np.asarray(wo)


def _check_x(x: object, from_scores: bool) -> np.ndarray:
    return check_finite(x, "scores") if from_scores else check_probs(x, "p")


def fit_isotonic(
    x: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    *,
    from_scores: bool = False,
    sample_weight: Float[np.ndarray, " N"] | None = None,
) -> tuple[IsotonicParams, IsotonicInfo]:
    """Fit the isotonic calibration map by PAV (exact; ties pooled as scikit-learn does).

    Args:
        x: forecast probabilities in [0, 1] (or raw real scores when ``from_scores``).
        y: 0/1 outcomes.
        from_scores: accept any finite ``x`` instead of probabilities.
        sample_weight: optional non-negative row weights (zero-weight rows are dropped).

    Returns:
        ``(IsotonicParams, IsotonicInfo)``.
    """
    xx = _check_x(x, from_scores)
    yy = check_labels(y, len(xx))
    ww = check_weights(sample_weight, len(xx))
    keep = ww > 0
    xs, ys, ws = xx[keep], yy[keep], ww[keep]
    order = np.lexsort((ys, xs))
    ux, uy, uw = _pool_ties(xs[order], ys[order], ws[order])
    fy = pav(uy, uw)
    knots = np.ones(len(fy), dtype=bool)
    knots[1:-1] = (fy[1:-1] != fy[:-2]) | (fy[1:-1] != fy[2:])
    params = IsotonicParams(ux[knots], fy[knots])
    fitted = _interp(params, xs)
    loss = float(np.sum(ws * (ys - fitted) ** 2) / np.sum(ws))
    return params, IsotonicInfo(loss=loss, n_unique=len(ux), n_knots=int(knots.sum()))


def _interp(params: IsotonicParams, x: np.ndarray) -> np.ndarray:
    if len(params.y) == 1:
        return np.repeat(params.y, len(x))
    return np.interp(np.clip(x, params.x[0], params.x[-1]), params.x, params.y)


def apply_isotonic(
    params: IsotonicParams, x: Float[np.ndarray, " N"], *, from_scores: bool = False
) -> Float[np.ndarray, " N"]:
    """Calibrated values: ``x`` clipped to the fitted range, linearly interpolated between knots."""
    return _interp(params, _check_x(x, from_scores))
