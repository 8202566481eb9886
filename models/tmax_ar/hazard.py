"""Recalibration of the nowcast's hazard of a new running high, fitted on training days.

The model hazard ``h = P(a report in [t, t + w) exceeds the running max)`` comes from
posterior paths (:func:`models.tmax_ar.nowcast.hazard_from_paths`). On real 5-minute data it
is over-forecast in the middle range: near the diurnal peak the reported series plateaus (the
5-minute value repeats the running maximum instead of exceeding it), which an AR(1) plus white
report noise does not produce, so forecasts of 0.3-0.5 came true 6-7% of the time.

The fix here is a monotone binary calibration map ``q = g(h)`` fitted by log loss on
``(h_i, y_i)`` pairs from **training days only** (:mod:`kbayes.calibration`):

* ``"beta"`` (default): ``g(h) = sigmoid(a log h - b log(1 - h) + c)``, ``a, b >= 0``
  (Kull, Silva Filho & Flach 2017); it can bend the middle of the curve down while leaving
  both ends near the diagonal, the pattern seen on the real data;
* ``"isotonic"``: pool-adjacent-violators (Zadrozny & Elkan 2002);
* ``"platt"``: ``g(h) = sigmoid(a logit h + b)`` (Platt 1999);
* ``"none"``: the identity.

A hazard estimated from ``n`` paths cannot resolve probabilities below ``1 / n``, so before
the map ``h`` is clipped to ``[1 / (2n), 1 - 1 / (2n)]`` (an exact 0 or 1 would otherwise put
``log 0`` into the beta features and dominate the fit).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from jaxtyping import Float

from kbayes.calibration import (
    BetaParams,
    IsotonicParams,
    PlattParams,
    apply_beta,
    apply_isotonic,
    apply_platt,
    fit_beta,
    fit_isotonic,
    fit_platt,
)

HazardMethod = Literal["beta", "isotonic", "platt", "none"]
METHODS: tuple[str, ...] = ("beta", "isotonic", "platt", "none")


class HazardCalibration(NamedTuple):
    """A fitted hazard calibration map.

    Attributes:
        method: one of :data:`METHODS`.
        params: the map's parameters (``None`` for ``"none"``).
        n_paths: paths behind each hazard forecast (sets the clip ``1 / (2 n_paths)``).
        n_train: training pairs the map was fitted on.
        base_rate: their observed frequency.
    """

    method: str
    params: BetaParams | IsotonicParams | PlattParams | None
    n_paths: int
    n_train: int
    base_rate: float


def _clip(h: np.ndarray, n_paths: int) -> np.ndarray:
    eps = 0.5 / n_paths
    return np.clip(h, eps, 1.0 - eps)


def fit_hazard_calibration(
    h: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    n_paths: int,
    method: HazardMethod = "beta",
) -> HazardCalibration:
    """Fit ``g`` on training pairs ``(h_i, y_i)`` (model hazard, 0/1 realised new high)."""
    if method not in METHODS:
        raise ValueError(f"hazard.calibration = {method!r}; expected one of {list(METHODS)}")
    if n_paths < 1:
        raise ValueError(f"n_paths = {n_paths} must be at least 1")
    h = np.asarray(h, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if h.shape != y.shape or h.ndim != 1:
        raise ValueError(f"hazard forecasts {h.shape} and outcomes {y.shape} must be equal 1-D")
    if len(h) == 0:
        raise ValueError("no training hazard pairs: cannot fit the hazard calibration")
    hc = _clip(h, n_paths)
    params: BetaParams | IsotonicParams | PlattParams | None
    if method == "beta":
        params, _ = fit_beta(hc, y)
    elif method == "isotonic":
        params, _ = fit_isotonic(hc, y)
    elif method == "platt":
        params, _ = fit_platt(hc, y)
    else:
        params = None
    return HazardCalibration(method, params, int(n_paths), len(h), float(y.mean()))


def calibrate_hazard(cal: HazardCalibration, h: Float[np.ndarray, " N"]) -> Float[np.ndarray, " N"]:
    """``g(h)`` for model hazards ``h`` (identity for ``"none"``)."""
    h = np.asarray(h, dtype=np.float64)
    if cal.method == "none":
        return h.copy()
    hc = _clip(h, cal.n_paths)
    if cal.method == "beta":
        return apply_beta(cal.params, hc)
    if cal.method == "isotonic":
        return apply_isotonic(cal.params, hc)
    return apply_platt(cal.params, hc)
