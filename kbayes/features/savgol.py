"""Causal Savitzky-Golay velocity and acceleration of each bracket's mid on the regular grid.

Savitzky & Golay (1964), "Smoothing and differentiation of data by simplified least squares
procedures": fit a polynomial of degree ``order`` by least squares to the last ``W = window``
mids ``x_{t-W+1..t}`` (spacing ``step_s`` seconds) and read its ``d``-th derivative at the
*last* point ``t``. The fit is linear in the data, so each derivative is a dot product

    x^{(d)}_t = sum_{i=0}^{W-1} c^{(d)}_i x_{t-W+1+i},
    c^{(d)} = scipy.signal.savgol_coeffs(W, order, deriv=d, delta=step_s, pos=W-1, use="dot")

(``pos = W-1`` makes it causal: one-sided at the newest sample, no look-ahead; it is exact
for polynomials of degree ``<= order``, at the price of more noise than the centred filter).
``d = 1`` gives the velocity (price units per second), ``d = 2`` the acceleration.

The online step keeps the last ``W`` mids in time order. A bracket's output is NaN, with
``valid = False``, until its last ``W`` ticks all have an observed mid: a missing mid (NaN)
makes the bracket's estimate missing for the next ``W`` ticks instead of fitting across a
hole. Ticks must lie on the ``step_s`` grid; a skipped tick counts as a missing mid for every
bracket (the window is spaced in time, not in samples).

The batch twin puts the ticks on the full grid and takes the same dot products over
``numpy.lib.stride_tricks.sliding_window_view`` windows.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import savgol_coeffs

from kbayes.features.kinematics import (
    GridObs,
    GridObsBatch,
    KinematicsInfo,
    check_mid,
    check_num_brackets,
)
from kbayes.step import StepAlgorithm


class SavgolParams(NamedTuple):
    """The filter.

    Attributes:
        window: ``W``, samples in the fit (an integer > ``order``).
        order: polynomial degree (an integer >= 2, so that the acceleration is not identically
            0, and < ``window``).
        step_s: grid spacing in seconds (> 0, a whole number of nanoseconds).
    """

    window: int
    order: int
    step_s: float


class SavgolState(NamedTuple):
    """The last ``W`` ticks.

    Attributes:
        buf: ``(W, K)`` mids, oldest first (NaN: missing or before the first tick).
        run: ``(K,)`` consecutive ticks with an observed mid, ending at the newest.
        t_ns: time of the newest tick (-1 before the first).
        full: every bracket's ``run >= W`` (the update's fast path when the next tick is on
            time and fully observed).
    """

    buf: Float[np.ndarray, " W K"]
    run: Int[np.ndarray, " K"]
    t_ns: int
    full: bool = False


def _int_param(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}={value!r}: must be an integer")
    return int(value)


def check_params(params: SavgolParams) -> tuple[Float[np.ndarray, "2 W"], int]:
    """Validated ``(coefficients (2, W): velocity row, acceleration row; step in ns)``."""
    window = _int_param("window", params.window)
    order = _int_param("order", params.order)
    if order < 2:
        raise ValueError(f"order={order}: need >= 2 (degree 1 has no acceleration)")
    if window <= order:
        raise ValueError(f"window={window}: must exceed order={order} for a least-squares fit")
    step_s = float(params.step_s)
    step_ns = round(step_s * 1e9) if math.isfinite(step_s) else 0
    if not (math.isfinite(step_s) and step_s > 0 and step_ns >= 1):
        raise ValueError(f"step_s={params.step_s!r}: must be a finite number of seconds > 0")
    if abs(step_ns - step_s * 1e9) > 1e-6 * step_ns:
        raise ValueError(f"step_s={params.step_s!r}: not a whole number of nanoseconds")
    coef = np.stack(
        [
            savgol_coeffs(window, order, deriv=d, delta=step_s, pos=window - 1, use="dot")
            for d in (1, 2)
        ]
    )
    return coef, step_ns


def savgol_kinematics(
    params: SavgolParams, num_brackets: int
) -> StepAlgorithm[SavgolState, KinematicsInfo]:
    """Bind the filter: the online causal Savitzky-Golay step over ``K`` brackets.

    Args:
        params: window, order, grid step.
        num_brackets: ``K`` (>= 1).

    Returns:
        ``StepAlgorithm(init, update)``; ``update(state, GridObs, key=None)`` reports
        :class:`~kbayes.features.kinematics.KinematicsInfo` (``valid``: the last ``W`` ticks
        all had a mid, so ``velocity``/``acceleration`` are numbers; NaN otherwise).

    Raises:
        ValueError: naming the field and value for bad params; at update time, for a mid of
            the wrong shape or a tick off the grid (not a positive multiple of ``step_s``
            after the previous one).
    """
    coef, step_ns = check_params(params)
    K = check_num_brackets(num_brackets)
    W = coef.shape[1]
    nan_rows = np.full((W, K), np.nan)
    all_valid = np.ones(K, dtype=bool)
    all_valid.flags.writeable = False  # shared by every steady-state info

    def init(key: object = None) -> SavgolState:
        return SavgolState(buf=nan_rows.copy(), run=np.zeros(K, dtype=np.int64), t_ns=-1)

    def update(
        state: SavgolState, obs: GridObs, key: object = None
    ) -> tuple[SavgolState, KinematicsInfo]:
        mid = check_mid(obs.mid, K)
        if state.full and obs.t_ns - state.t_ns == step_ns and math.isfinite(mid.sum()):
            # Steady state: the window is full everywhere and stays full; no masks.
            buf = np.concatenate([state.buf[1:], mid[None, :]])
            out = coef @ buf
            new = SavgolState(buf=buf, run=state.run + 1, t_ns=int(obs.t_ns), full=True)
            return new, KinematicsInfo(velocity=out[0], acceleration=out[1], valid=all_valid)
        ok = np.isfinite(mid)
        if np.isinf(mid).any():
            raise ValueError(f"mid={mid.tolist()!r}: infinite (a missing mid is NaN)")
        skipped = 0
        if state.t_ns >= 0:
            steps, rem = divmod(obs.t_ns - state.t_ns, step_ns)
            if rem or steps < 1:
                raise ValueError(
                    f"t_ns={obs.t_ns}: not a whole number of step_s={params.step_s} after "
                    f"the previous tick t_ns={state.t_ns}"
                )
            skipped = min(steps - 1, W - 1)  # ticks the clock did not deliver: missing mids
        buf = np.concatenate([state.buf[skipped + 1 :], nan_rows[:skipped], mid[None, :]])
        run = np.where(ok, 1 if skipped else state.run + 1, 0)
        valid = run >= W
        out = coef @ buf
        info = KinematicsInfo(
            velocity=np.where(valid, out[0], np.nan),
            acceleration=np.where(valid, out[1], np.nan),
            valid=valid,
        )
        return SavgolState(buf=buf, run=run, t_ns=int(obs.t_ns), full=bool(valid.all())), info

    return StepAlgorithm(init=init, update=update)


def savgol_kinematics_batch(params: SavgolParams, obs: GridObsBatch) -> KinematicsInfo:
    """The fold of :func:`savgol_kinematics` over ``T`` ticks, vectorised over time.

    Args:
        params: as for :func:`savgol_kinematics`.
        obs: ``t_ns (T,)`` on the ``step_s`` grid (gaps allowed) and ``mid (T, K)``.

    Returns:
        :class:`~kbayes.features.kinematics.KinematicsInfo` with ``(T, K)`` fields, equal to the
        online infos up to rounding (the dot products may sum in another order).
    """
    coef, step_ns = check_params(params)
    W = coef.shape[1]
    mid = np.asarray(obs.mid, dtype=np.float64)
    t = np.asarray(obs.t_ns, dtype=np.int64)
    if mid.ndim != 2 or t.shape != (mid.shape[0],):
        raise ValueError(f"t_ns {t.shape} and mid {mid.shape} must be (T,) and (T, K)")
    if np.isinf(mid).any():
        raise ValueError("mid has infinite values (a missing mid is NaN)")
    T, K = mid.shape
    if T == 0:
        return KinematicsInfo(np.empty((0, K)), np.empty((0, K)), np.empty((0, K), dtype=bool))
    steps, rem = np.divmod(np.diff(t), step_ns)
    bad = (rem != 0) | (steps < 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"t_ns={int(t[i + 1])}: not a whole number of step_s={params.step_s} after the "
            f"previous tick t_ns={int(t[i])}"
        )
    # The full grid, with the leading W-1 NaN rows the online buffer starts with.
    rows = (t - t[0]) // step_ns + (W - 1)
    full = np.full((int(rows[-1]) + 1, K), np.nan)
    full[rows] = mid
    windows = sliding_window_view(full, W, axis=0)[rows - (W - 1)]  # (T, K, W), oldest first
    out = windows @ coef.T  # (T, K, 2)
    valid = np.isfinite(windows).all(axis=-1)
    return KinematicsInfo(
        velocity=np.where(valid, out[..., 0], np.nan),
        acceleration=np.where(valid, out[..., 1], np.nan),
        valid=valid,
    )
