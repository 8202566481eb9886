"""Two-sided online CUSUM change detector per bracket, for any ``(K,)`` scalar series.

Page (1954), "Continuous inspection schemes", in the two-sided form of e.g. Basseville &
Nikiforov (1993), "Detection of abrupt changes", section 2.2: with ``e_t`` the deviation of
the input from its reference level, drift (allowance) ``k >= 0`` and threshold ``h > 0``,

    S+_t = max(0, S+_{t-1} + e_t - k)       accumulates upward deviations
    S-_t = max(0, S-_{t-1} - e_t - k)       accumulates downward deviations
    alarm_t = +1 if S+_t > h, -1 if S-_t > h, else 0

and after an alarm both statistics restart from 0 (the detector re-arms for the next change;
with ``k >= 0`` the two sides cannot alarm together: the deviation that lifts one lowers the
other). ``info`` reports the statistics *before* that reset, so the excursion is visible.

Input: any per-bracket scalar series ``x_t`` (the mid, the queue imbalance, ...), through
``SeriesObs(t_ns, x)``. With ``difference=True`` the detector works on its changes
``y_t = x_t - x_{t'}`` (``t'`` the bracket's previous observed tick), as for "changes of the
mid"; otherwise on ``y_t = x_t``. The reference level ``m``:

* ``reference="zero"``: ``e_t = y_t`` (``m = 0``: the natural level of *changes*, whose mean
  is 0 under no drift);
* ``reference="ewm"``: ``e_t = y_t - m_{t'}``, the deviation from the EWM mean *before*
  ``y_t`` (the one-step prediction, so a jump is not half absorbed by its own update), then
  ``m_t = m_{t'} + alpha (y_t - m_{t'})`` with ``alpha = 1 - exp(-dt ln 2 / halflife_s)``
  over the seconds since the previous ``y``; the first ``y`` only initialises ``m``. For a
  level series such as the imbalance.

A missing input (NaN) holds the bracket's state, reports no alarm and ``valid = False``;
``e`` is computed only where it is defined (from the first ``y`` with ``zero``, the second
with ``ewm``), and the statistics stay 0 before.

The batch twin runs the same recursion over time, vectorised over the brackets, with the
online step's floating-point operations in the same order: bit-equal statistics and alarms
(a running-sum solution of Lindley's recursion rounds differently, and on half-cent prices
statistics land exactly on round thresholds, where a last-bit difference flips an alarm).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from jaxtyping import Bool, Float, Int

from kbayes.features.kinematics import (
    LN2,
    NS_PER_S,
    check_halflife,
    check_mid,
    check_num_brackets,
    held_before,
    linear_recurrence,
)
from kbayes.step import StepAlgorithm

REFERENCES = ("zero", "ewm")


class CusumParams(NamedTuple):
    """The detector.

    Attributes:
        threshold: ``h > 0``, in the input's units (alarm when a statistic exceeds it).
        drift: allowance ``k >= 0`` per observation, in the input's units (typically half the
            shift to detect).
        reference: ``"zero"`` or ``"ewm"`` (see the module docstring).
        halflife_s: the EWM reference's half-life in seconds (needed for ``"ewm"``).
        difference: run on the changes of the input instead of its level.
    """

    threshold: float
    drift: float
    reference: str = "zero"
    halflife_s: float | None = None
    difference: bool = False


class SeriesObs(NamedTuple):
    """One tick of a per-bracket scalar series.

    Attributes:
        t_ns: tick time, int ns since the UTC epoch (increasing).
        x: ``(K,)`` values (NaN = missing).
    """

    t_ns: int
    x: Float[np.ndarray, " K"]


class SeriesObsBatch(NamedTuple):
    """:class:`SeriesObs` stacked over ``T`` ticks."""

    t_ns: Int[np.ndarray, " T"]
    x: Float[np.ndarray, " T K"]


class CusumState(NamedTuple):
    """Per bracket.

    Attributes:
        x: last observed input (NaN before the first).
        y_t_ns: time of the last ``y`` (for the EWM's ``dt``).
        m: EWM reference (NaN before the first ``y``; unused with ``"zero"``).
        s_pos: ``S+`` after the last reset.
        s_neg: ``S-``.
        n: observed inputs so far.
        tick_ns: time of the last tick (-1 before the first).
        synced: every bracket was observed at that tick with ``e`` defined there (the
            update's fast path, with one ``dt``, when the next tick is fully observed too).
    """

    x: Float[np.ndarray, " K"]
    y_t_ns: Int[np.ndarray, " K"]
    m: Float[np.ndarray, " K"]
    s_pos: Float[np.ndarray, " K"]
    s_neg: Float[np.ndarray, " K"]
    n: Int[np.ndarray, " K"]
    tick_ns: int = -1
    synced: bool = False


class CusumInfo(NamedTuple):
    """What one tick reports (``(T, K)`` from the batch twin).

    Attributes:
        s_pos: ``S+_t`` before any reset at ``t``.
        s_neg: ``S-_t`` before any reset.
        alarm: ``+1`` upward change, ``-1`` downward, ``0`` none (int8).
        valid: the input was observed at this tick.
    """

    s_pos: Float[np.ndarray, " K"]
    s_neg: Float[np.ndarray, " K"]
    alarm: Int[np.ndarray, " K"]
    valid: Bool[np.ndarray, " K"]


def check_params(params: CusumParams) -> tuple[float, float, float | None, bool]:
    """Validated ``(h, k, lambda or None, difference)``; ValueError naming a bad field."""
    h, k = float(params.threshold), float(params.drift)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"threshold={params.threshold!r}: must be finite and > 0")
    if not (math.isfinite(k) and k >= 0):
        raise ValueError(f"drift={params.drift!r}: must be finite and >= 0")
    if params.reference not in REFERENCES:
        raise ValueError(f"reference={params.reference!r}: must be one of {REFERENCES}")
    if not isinstance(params.difference, (bool, np.bool_)):
        raise ValueError(f"difference={params.difference!r}: must be a bool")
    lam = None
    if params.reference == "ewm":
        if params.halflife_s is None:
            raise ValueError("halflife_s=None: reference='ewm' needs a half-life")
        lam = LN2 / check_halflife("halflife_s", params.halflife_s)
    return h, k, lam, bool(params.difference)


def _finish(
    state: CusumState,
    x: np.ndarray,
    ok: np.ndarray,
    t: int,
    y_t_ns: np.ndarray,
    m: np.ndarray,
    s_pos: np.ndarray,
    s_neg: np.ndarray,
    h: float,
) -> tuple[CusumState, CusumInfo]:
    """Alarms, the reset of both sides where one fired, and the new state (synced=True)."""
    up, down = s_pos > h, s_neg > h
    reset = up | down
    new = CusumState(
        x=np.where(ok, x, state.x),
        y_t_ns=y_t_ns,
        m=m,
        s_pos=np.where(reset, 0.0, s_pos),
        s_neg=np.where(reset, 0.0, s_neg),
        n=state.n + ok,
        tick_ns=t,
        synced=True,
    )
    alarm = up.astype(np.int8) - down.astype(np.int8)
    return new, CusumInfo(s_pos=s_pos, s_neg=s_neg, alarm=alarm, valid=ok)


def cusum(params: CusumParams, num_brackets: int) -> StepAlgorithm[CusumState, CusumInfo]:
    """Bind threshold, drift and reference: the online two-sided CUSUM over ``K`` series.

    Returns:
        ``StepAlgorithm(init, update)``; ``update(state, SeriesObs, key=None)``.

    Raises:
        ValueError: naming the field and value for bad params; at update time for ``x`` of
            the wrong shape.
    """
    h, k, lam, difference = check_params(params)
    K = check_num_brackets(num_brackets)

    no_alarm = np.zeros(K, dtype=np.int8)
    no_alarm.flags.writeable = False  # shared by the infos of quiet steady-state ticks
    all_valid = np.ones(K, dtype=bool)
    all_valid.flags.writeable = False

    def init(key: object = None) -> CusumState:
        zero = np.zeros(K)
        return CusumState(
            x=np.full(K, np.nan),
            y_t_ns=np.zeros(K, dtype=np.int64),
            m=np.full(K, np.nan),
            s_pos=zero,
            s_neg=zero.copy(),
            n=np.zeros(K, dtype=np.int64),
        )

    def update(
        state: CusumState, obs: SeriesObs, key: object = None
    ) -> tuple[CusumState, CusumInfo]:
        t = int(obs.t_ns)
        if t <= state.tick_ns:
            raise ValueError(f"t_ns={t}: not after the previous tick t_ns={state.tick_ns}")
        x = check_mid(obs.x, K)
        if state.synced and math.isfinite(x.sum()):
            # Steady state: every bracket has a deviation now; no masks, one EWM gain.
            e = x - state.x if difference else x
            m = state.m
            y_t_ns = state.y_t_ns
            if lam is not None:
                y = e
                e = y - state.m
                m = state.m - math.expm1(-lam * (t - state.tick_ns) * NS_PER_S) * e
                y_t_ns = np.empty(K, dtype=np.int64)
                y_t_ns.fill(t)
            s_pos = np.maximum(0.0, state.s_pos + e - k)
            s_neg = np.maximum(0.0, state.s_neg - e - k)
            if s_pos.max() > h or s_neg.max() > h:
                return _finish(state, x, np.ones(K, dtype=bool), t, y_t_ns, m, s_pos, s_neg, h)
            new = CusumState(x.copy(), y_t_ns, m, s_pos, s_neg, state.n + 1, t, True)
            return new, CusumInfo(s_pos=s_pos, s_neg=s_neg, alarm=no_alarm, valid=all_valid)
        ok = np.isfinite(x)
        if np.isinf(x).any():
            raise ValueError(f"x={x.tolist()!r}: infinite (a missing value is NaN)")
        if difference:
            y, y_ok, n_y = x - state.x, ok & (state.n >= 1), state.n - 1  # y's before this
        else:
            y, y_ok, n_y = x, ok, state.n
        if lam is None:
            e, e_ok, m = y, y_ok, state.m
        else:
            e, e_ok = y - state.m, y_ok & (n_y >= 1)
            alpha = -np.expm1(-lam * (t - state.y_t_ns) * NS_PER_S)
            m = np.where(y_ok, np.where(e_ok, state.m + alpha * e, y), state.m)
        s_pos = np.where(e_ok, np.maximum(0.0, state.s_pos + e - k), state.s_pos)
        s_neg = np.where(e_ok, np.maximum(0.0, state.s_neg - e - k), state.s_neg)
        y_t_ns = np.where(y_ok, t, state.y_t_ns)
        new, info = _finish(state, x, ok, t, y_t_ns, m, s_pos, s_neg, h)
        return new._replace(synced=bool(e_ok.all())), info

    return StepAlgorithm(init=init, update=update)


def cusum_batch(params: CusumParams, obs: SeriesObsBatch) -> CusumInfo:
    """The fold of :func:`cusum` over ``T`` ticks, vectorised over time (per alarm segment).

    Returns:
        :class:`CusumInfo` with ``(T, K)`` fields, bit-equal to the online fold for
        ``reference="zero"``; with ``"ewm"`` the reference level is a prefix scan (equal to
        rounding), so an alarm could differ only where a statistic is within rounding of
        the threshold.
    """
    h, k, lam, difference = check_params(params)
    x = np.asarray(obs.x, dtype=np.float64)
    t = np.asarray(obs.t_ns, dtype=np.int64)
    if x.ndim != 2 or t.shape != (x.shape[0],):
        raise ValueError(f"t_ns {t.shape} and x {x.shape} must be (T,) and (T, K)")
    if np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(f"t_ns={int(t[i + 1])}: not after the previous tick t_ns={int(t[i])}")
    if np.isinf(x).any():
        raise ValueError("x has infinite values (a missing value is NaN)")
    ok = np.isfinite(x)
    if difference:
        y_ok = ok & (np.cumsum(ok, axis=0) >= 2)
        y = np.where(y_ok, x - held_before(x, ok, 0.0), 0.0)
    else:
        y_ok, y = ok, np.where(ok, x, 0.0)
    if lam is None:
        e, e_ok = y, y_ok
    else:
        j = np.cumsum(y_ok, axis=0)  # y's so far, this one included
        tt = np.broadcast_to(t[:, None], x.shape)
        dt = (tt - held_before(tt, y_ok, 0)) * NS_PER_S
        # EWM of y on the y ticks: gain 1 at the first y (m = y), alpha after, 0 (hold) off.
        gain = np.where(y_ok, np.where(j >= 2, -np.expm1(-lam * dt), 1.0), 0.0)
        m = linear_recurrence(1.0 - gain, gain * y)
        e_ok = y_ok & (j >= 2)
        e = np.where(e_ok, y - np.vstack([np.zeros((1, x.shape[1])), m[:-1]]), 0.0)
    # The recursion itself, over time and vectorised over the brackets, with the online
    # step's operations in its order ((S + e) - k): a running-sum (Lindley) solution rounds
    # differently, and on prices quantised to a half cent the statistic often lands exactly
    # on a threshold that is a multiple of it, where a last-bit difference flips the alarm.
    T, K = x.shape
    sp, sn, alarm = np.zeros(x.shape), np.zeros(x.shape), np.zeros(x.shape, dtype=np.int8)
    s_pos, s_neg = np.zeros(K), np.zeros(K)
    for i in range(T):
        ok_i = e_ok[i]
        p = np.where(ok_i, np.maximum(0.0, s_pos + e[i] - k), s_pos)
        n = np.where(ok_i, np.maximum(0.0, s_neg - e[i] - k), s_neg)
        up, down = p > h, n > h
        sp[i], sn[i] = p, n
        alarm[i] = up.astype(np.int8) - down.astype(np.int8)
        reset = up | down
        s_pos, s_neg = np.where(reset, 0.0, p), np.where(reset, 0.0, n)
    return CusumInfo(s_pos=sp, s_neg=sn, alarm=alarm, valid=ok)
