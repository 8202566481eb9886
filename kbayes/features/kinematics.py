"""Price kinematics per bracket: EWM-smoothed velocity and acceleration of the mid.

The state (``kbayes.state``) produces the mid (or microprice) of each of the ``K`` brackets at
every grid tick; this step turns it into a smoothed first and second time derivative. With
``dt_t`` the seconds since the bracket's previous *observed* mid ``x_{t-1}`` (irregular spacing
is allowed: a gap in a bracket's quotes just makes ``dt`` longer),

    r_t = (x_t - x_{t-1}) / dt_t                     raw velocity (price units per second)
    v_t = v_{t-1} + alpha_v(dt_t) (r_t - v_{t-1})    EWM velocity
    q_t = (v_t - v_{t-1}) / dt_t                     raw acceleration (per second squared)
    a_t = a_{t-1} + alpha_a(dt_t) (q_t - a_{t-1})    EWM acceleration
    alpha(dt) = 1 - exp(-dt ln 2 / h)                half-life ``h`` seconds

which is the exponential smoother of an irregularly sampled series with a continuous-time
decay (Eckner 2012, "Algorithms for unevenly spaced time series", section on EMA with the
"last" interpolation scheme): after ``h`` seconds an old value's weight has halved, whatever
the sampling. Warm-up: the first raw velocity is taken as ``v`` (second observed mid) and the
first raw acceleration as ``a`` (third observed mid), so there is no pull towards an arbitrary
0; before that the feature is NaN.

A missing mid (NaN: no two-sided book at that tick) holds the bracket's state unchanged and
marks ``info.valid[k] = False``; the held ``v``/``a`` are still reported (flagged, not
silently refreshed), and the next observed mid differences against the last observed one over
the whole gap.

Tick times must increase (a repeated or earlier tick raises). Cost: when every bracket was
observed at the previous tick and is now (the steady state), ``dt`` is one scalar and the
update skips the masks (about 25 NumPy operations on ``(K,)`` arrays).

The batch twin computes the same recursions vectorised over time with a log-depth prefix scan
of the linear recurrence ``y_t = c_t y_{t-1} + d_t`` (:func:`linear_recurrence`; Blelloch 1990,
"Prefix sums and their applications"), equal to the fold up to rounding.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from jaxtyping import Bool, Float, Int

from kbayes.step import StepAlgorithm

LN2 = math.log(2.0)
NS_PER_S = 1e-9  # seconds per nanosecond


class GridObs(NamedTuple):
    """The mids of the ladder at one grid tick (the obs of every grid feature here).

    Attributes:
        t_ns: tick time, int ns since the UTC epoch (strictly increasing from tick to tick).
        mid: ``(K,)`` mid (or microprice) per bracket in any fixed price unit (cc or
            probability); NaN = no two-sided book / no price at that tick.
    """

    t_ns: int
    mid: Float[np.ndarray, " K"]


class GridObsBatch(NamedTuple):
    """:class:`GridObs` stacked over ``T`` ticks (the batch twins' input)."""

    t_ns: Int[np.ndarray, " T"]
    mid: Float[np.ndarray, " T K"]


class EwmParams(NamedTuple):
    """Half-lives of the two smoothers.

    Attributes:
        velocity_halflife_s: half-life ``h_v`` (seconds) of the velocity EWM.
        acceleration_halflife_s: half-life ``h_a`` (seconds) of the acceleration EWM.
    """

    velocity_halflife_s: float
    acceleration_halflife_s: float


class KinematicsState(NamedTuple):
    """Per bracket: the last observed mid and its time, the smoothed derivatives, a count.

    Attributes:
        x: last observed mid (NaN before the first).
        t_ns: time of ``x`` (int ns; 0 before the first).
        v: EWM velocity (NaN before the second observed mid).
        a: EWM acceleration (NaN before the third observed mid).
        n: number of observed mids so far.
        tick_ns: time of the last tick (any bracket; -1 before the first).
        synced: every bracket was observed at that tick and has ``n >= 3`` (so one ``dt``
            serves all: the update's fast path when the next tick is fully observed too).
    """

    x: Float[np.ndarray, " K"]
    t_ns: Int[np.ndarray, " K"]
    v: Float[np.ndarray, " K"]
    a: Float[np.ndarray, " K"]
    n: Int[np.ndarray, " K"]
    tick_ns: int = -1
    synced: bool = False


class KinematicsInfo(NamedTuple):
    """What one tick reports (stacked ``(T, K)`` by the batch twin).

    Shared with :mod:`kbayes.features.savgol`, so either step can feed the ladder shape;
    there ``valid`` means "the whole window was observed" and the derivatives are NaN
    otherwise.

    Attributes:
        velocity: EWM velocity, price units per second (held when ``valid`` is False).
        acceleration: EWM acceleration, price units per second squared (held likewise).
        valid: the bracket's mid was observed at this tick (its state moved).
    """

    velocity: Float[np.ndarray, " K"]
    acceleration: Float[np.ndarray, " K"]
    valid: Bool[np.ndarray, " K"]


def check_halflife(name: str, value: float) -> float:
    """``value`` as a float, or a ValueError naming ``name`` unless it is finite and > 0."""
    h = float(value)
    if not (math.isfinite(h) and h > 0.0):
        raise ValueError(f"{name}={value!r}: a half-life must be a finite number of seconds > 0")
    return h


def check_num_brackets(num_brackets: int, minimum: int = 1) -> int:
    """``num_brackets`` as an int, or a ValueError unless it is an integer >= ``minimum``."""
    if isinstance(num_brackets, bool) or int(num_brackets) != num_brackets:
        raise ValueError(f"num_brackets={num_brackets!r}: must be an integer")
    if num_brackets < minimum:
        raise ValueError(f"num_brackets={num_brackets!r}: need at least {minimum}")
    return int(num_brackets)


def check_mid(mid: np.ndarray, num_brackets: int) -> np.ndarray:
    """The obs's mid as a float64 ``(K,)`` array, or a ValueError on a wrong shape."""
    m = np.asarray(mid, dtype=np.float64)
    if m.shape != (num_brackets,):
        raise ValueError(f"mid has shape {m.shape}, expected ({num_brackets},)")
    return m


def linear_recurrence(
    c: Float[np.ndarray, " T ..."], d: Float[np.ndarray, " T ..."]
) -> Float[np.ndarray, " T ..."]:
    """``y_t = c_t y_{t-1} + d_t`` along axis 0 with ``y_{-1} = 0``, by a prefix scan.

    Hillis-Steele doubling: after the pass with shift ``s`` the pair ``(C_t, D_t)`` maps
    ``y_{t-2s}`` to ``y_t``; composing ``(C_t, D_t) o (C_{t-s}, D_{t-s})`` gives
    ``(C_t C_{t-s}, C_t D_{t-s} + D_t)``. ``ceil(log2 T)`` vectorised passes; ``y_t = D_t``.
    ``c`` and ``d`` must be finite (a NaN would reach every later step through ``C_t D``).
    """
    C = np.array(c, dtype=np.float64)
    D = np.array(d, dtype=np.float64)
    s = 1
    n = C.shape[0]
    while s < n:
        D[s:] = C[s:] * D[:-s] + D[s:]  # right side is evaluated before assignment
        C[s:] = C[s:] * C[:-s]
        s *= 2
    return D


def last_index(ok: Bool[np.ndarray, " T K"]) -> Int[np.ndarray, " T K"]:
    """Index of the last ``True`` row at or before each row, per column (-1 before any)."""
    rows = np.arange(ok.shape[0])[:, None]
    return np.maximum.accumulate(np.where(ok, rows, -1), axis=0)


def held_before(values: np.ndarray, ok: Bool[np.ndarray, " T K"], fill: float) -> np.ndarray:
    """Per column, ``values`` at the last ``ok`` row strictly before each row (``fill`` if none).

    The value a held state carries into row ``t``: the forward fill of ``values[ok]``, shifted.
    """
    idx = last_index(ok)
    prev = np.vstack([np.full((1, ok.shape[1]), -1), idx[:-1]])
    cols = np.arange(ok.shape[1])[None, :]
    out = values[np.maximum(prev, 0), cols]
    return np.where(prev >= 0, out, fill)


def ewm_kinematics(
    params: EwmParams, num_brackets: int
) -> StepAlgorithm[KinematicsState, KinematicsInfo]:
    """Bind the half-lives: the online EWM velocity/acceleration step over ``K`` brackets.

    Args:
        params: the two half-lives (seconds, finite, > 0).
        num_brackets: ``K``, the ladder size (>= 1).

    Returns:
        ``StepAlgorithm(init, update)``; ``update(state, GridObs, key=None)``.

    Raises:
        ValueError: naming the parameter and value when a half-life or ``K`` is invalid; at
            update time, when ``mid`` has the wrong shape or the tick is not after the
            previous one.
    """
    lam_v = LN2 / check_halflife("velocity_halflife_s", params.velocity_halflife_s)
    lam_a = LN2 / check_halflife("acceleration_halflife_s", params.acceleration_halflife_s)
    K = check_num_brackets(num_brackets)

    all_valid = np.ones(K, dtype=bool)
    all_valid.flags.writeable = False  # shared by every steady-state info

    def init(key: object = None) -> KinematicsState:
        nan = np.full(K, np.nan)
        zero = np.zeros(K, dtype=np.int64)
        return KinematicsState(x=nan, t_ns=zero, v=nan.copy(), a=nan.copy(), n=zero.copy())

    def update(
        state: KinematicsState, obs: GridObs, key: object = None
    ) -> tuple[KinematicsState, KinematicsInfo]:
        t = int(obs.t_ns)
        if t <= state.tick_ns:
            raise ValueError(f"t_ns={t}: not after the previous tick t_ns={state.tick_ns}")
        mid = check_mid(obs.mid, K)
        if state.synced and math.isfinite(mid.sum()):
            # Steady state (every bracket observed now and at the last tick, all warmed up):
            # one scalar dt and gain, no masks. Same equations as below.
            dt = (t - state.tick_ns) * NS_PER_S
            v = state.v - math.expm1(-lam_v * dt) * ((mid - state.x) / dt - state.v)
            a = state.a - math.expm1(-lam_a * dt) * ((v - state.v) / dt - state.a)
            t_ns = np.empty(K, dtype=np.int64)
            t_ns.fill(t)
            new = KinematicsState(mid.copy(), t_ns, v, a, state.n + 1, t, True)
            return new, KinematicsInfo(velocity=v, acceleration=a, valid=all_valid)
        ok = np.isfinite(mid)
        if np.isinf(mid).any():
            raise ValueError(f"mid={mid.tolist()!r}: infinite (a missing mid is NaN)")
        dt = (t - state.t_ns) * NS_PER_S
        # Unobserved brackets compute garbage (NaN, or from a stale dt) that np.where drops;
        # NaN arithmetic raises no warning, and dt > 0 wherever it is used (ticks increase).
        r = (mid - state.x) / dt
        v = np.where(state.n >= 2, state.v - np.expm1(-lam_v * dt) * (r - state.v), r)
        q = (v - state.v) / dt
        a = np.where(state.n >= 3, state.a - np.expm1(-lam_a * dt) * (q - state.a), q)
        n = state.n + ok
        new = KinematicsState(
            x=np.where(ok, mid, state.x),
            t_ns=np.where(ok, t, state.t_ns),
            v=np.where(ok, v, state.v),
            a=np.where(ok, a, state.a),
            n=n,
            tick_ns=t,
            synced=bool(ok.all() and n.min() >= 3),
        )
        return new, KinematicsInfo(velocity=new.v, acceleration=new.a, valid=ok)

    return StepAlgorithm(init=init, update=update)


def ewm_kinematics_batch(params: EwmParams, obs: GridObsBatch) -> KinematicsInfo:
    """The fold of :func:`ewm_kinematics` over ``T`` ticks, vectorised over time.

    Args:
        params: as for :func:`ewm_kinematics`.
        obs: ``t_ns (T,)`` and ``mid (T, K)``.

    Returns:
        :class:`KinematicsInfo` with ``(T, K)`` fields, equal to the stacked online infos up
        to rounding (the scan sums in another order).
    """
    lam_v = LN2 / check_halflife("velocity_halflife_s", params.velocity_halflife_s)
    lam_a = LN2 / check_halflife("acceleration_halflife_s", params.acceleration_halflife_s)
    mid = np.asarray(obs.mid, dtype=np.float64)
    if mid.ndim != 2:
        raise ValueError(f"mid has shape {mid.shape}, expected (T, K)")
    t = np.asarray(obs.t_ns, dtype=np.int64)
    if t.shape != (mid.shape[0],):
        raise ValueError(f"t_ns has shape {t.shape}, expected ({mid.shape[0]},)")
    if mid.shape[0] == 0:
        empty = np.empty(mid.shape)
        return KinematicsInfo(empty, empty.copy(), np.empty(mid.shape, dtype=bool))
    if np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(f"t_ns={int(t[i + 1])}: not after the previous tick t_ns={int(t[i])}")
    if np.isinf(mid).any():
        raise ValueError("mid has infinite values (a missing mid is NaN)")
    ok = np.isfinite(mid)
    k = np.cumsum(ok, axis=0)  # observed mids so far, this one included
    tt = np.broadcast_to(t[:, None], mid.shape)
    dt = np.where(ok & (k >= 2), (tt - held_before(tt, ok, 0)) * NS_PER_S, 1.0)
    r = np.where(ok & (k >= 2), (mid - held_before(mid, ok, 0.0)) / dt, 0.0)
    # Gain alpha: 0 off observations (v held), 1 at the 2nd observation (v = r), EWM after.
    av = np.where(ok, np.where(k >= 3, -np.expm1(-lam_v * dt), 1.0), 0.0)
    v = linear_recurrence(1.0 - av, av * r)
    v_prev = np.vstack([np.zeros((1, mid.shape[1])), v[:-1]])  # v is held between observations
    q = np.where(ok & (k >= 3), (v - v_prev) / dt, 0.0)
    aa = np.where(ok, np.where(k >= 4, -np.expm1(-lam_a * dt), 1.0), 0.0)
    a = linear_recurrence(1.0 - aa, aa * q)
    return KinematicsInfo(
        velocity=np.where(k >= 2, v, np.nan), acceleration=np.where(k >= 3, a, np.nan), valid=ok
    )
