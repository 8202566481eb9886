"""The shape of the bracket ladder: relative acceleration, centre of mass and its velocity.

Two cross-sectional views of the ``K`` brackets at a grid tick (brackets ordered from the
coldest to the warmest, so neighbours are adjacent temperatures):

* **relative acceleration** of bracket ``j`` against its neighbours ``N(j) = {j-1, j+1}``
  (one neighbour at the two edges), in both forms

      rel_max_j  = a_j - max_{i in N(j)} a_i
      rel_mean_j = a_j - mean_{i in N(j)} a_i

  where ``a`` is any acceleration step's output (:mod:`kbayes.features.kinematics` or
  :mod:`kbayes.features.savgol`). ``rel_max_j > 0`` says bracket ``j`` accelerates faster
  than *both* neighbours: the probability mass is moving into it rather than passing
  through. A NaN acceleration (a bracket not yet warmed up or missing) makes its own and its
  neighbours' relative accelerations NaN: they are undefined, not compared against fewer
  neighbours.
* **centre of mass** of the ladder, ``mu_t = sum_j b_j p_j`` with ``p_j = x_j / sum_i x_i``
  the mids normalised to a PMF (this also removes the ladder's overround) and ``b_j`` a
  representative temperature per bracket (e.g. the bin centre, and a chosen point in each
  tail), passed in the params. ``mu_t`` is the market's implied mean daily high; it is NaN
  when any mid is missing (a partial ladder would shift the mean towards the brackets that
  are quoted) or all mids are 0. Its velocity and acceleration are the EWM kinematics of the
  scalar series ``mu_t`` (:func:`kbayes.features.kinematics.ewm_kinematics` with ``K = 1``: a
  NaN ``mu`` holds that state and is flagged).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jaxtyping import Bool, Float, Int

from kbayes.features.kinematics import (
    LN2,
    NS_PER_S,
    EwmParams,
    GridObsBatch,
    check_halflife,
    check_mid,
    check_num_brackets,
    ewm_kinematics_batch,
)
from kbayes.step import StepAlgorithm


class LadderParams(NamedTuple):
    """Parameters of the ladder-shape step.

    Attributes:
        temperatures: ``(K,)`` representative temperature ``b_j`` of each bracket (°F),
            strictly increasing from the coldest bracket.
        centre: half-lives of the centre's EWM velocity and acceleration.
    """

    temperatures: Sequence[float]
    centre: EwmParams


class LadderObs(NamedTuple):
    """The ladder at one tick.

    Attributes:
        t_ns: tick time, int ns since the UTC epoch.
        mid: ``(K,)`` mids (>= 0, any price unit; NaN = missing).
        acceleration: ``(K,)`` per-bracket accelerations from a kinematics step (NaN = none).
    """

    t_ns: int
    mid: Float[np.ndarray, " K"]
    acceleration: Float[np.ndarray, " K"]


class LadderObsBatch(NamedTuple):
    """:class:`LadderObs` stacked over ``T`` ticks."""

    t_ns: Int[np.ndarray, " T"]
    mid: Float[np.ndarray, " T K"]
    acceleration: Float[np.ndarray, " T K"]


class CentreState(NamedTuple):
    """The centre's EWM kinematics state (scalars: the K = 1 case of ``KinematicsState``).

    Attributes:
        x: last valid ``mu`` (NaN before the first).
        t_ns: its time (0 before the first).
        v: EWM velocity of ``mu`` (NaN before the second valid ``mu``).
        a: EWM acceleration (NaN before the third).
        n: valid ``mu`` so far.
    """

    x: float = math.nan
    t_ns: int = 0
    v: float = math.nan
    a: float = math.nan
    n: int = 0


class LadderInfo(NamedTuple):
    """What one tick reports (the batch twin stacks a leading ``T`` axis).

    Attributes:
        rel_accel_max: ``a_j - max`` of the neighbours' accelerations.
        rel_accel_mean: ``a_j - mean`` of the neighbours' accelerations.
        centre: ``mu_t`` (°F), NaN when a mid is missing.
        centre_velocity: EWM velocity of ``mu`` (°F per second; held when ``mu`` is NaN).
        centre_acceleration: EWM acceleration of ``mu`` (°F per second squared; held likewise).
        centre_valid: ``mu_t`` is a number (the centre's state moved).
    """

    rel_accel_max: Float[np.ndarray, "*T K"]
    rel_accel_mean: Float[np.ndarray, "*T K"]
    centre: float | Float[np.ndarray, " T"]
    centre_velocity: float | Float[np.ndarray, " T"]
    centre_acceleration: float | Float[np.ndarray, " T"]
    centre_valid: bool | Bool[np.ndarray, " T"]


def relative_acceleration(
    a: Float[np.ndarray, "*T K"],
) -> tuple[Float[np.ndarray, "*T K"], Float[np.ndarray, "*T K"]]:
    """``(a_j - max(neighbours), a_j - mean(neighbours))`` along the last axis (``K >= 2``).

    The edges have their one inner neighbour; NaNs propagate (``np.maximum``, not ``fmax``).
    """
    left, right = a[..., :-2], a[..., 2:]  # a_{j-1}, a_{j+1} of the inner brackets
    first, last = a[..., 1:2], a[..., -2:-1]  # the edges' one neighbour
    nmax = np.concatenate([first, np.maximum(left, right), last], axis=-1)
    nmean = np.concatenate([first, 0.5 * (left + right), last], axis=-1)
    return a - nmax, a - nmean


def check_temperatures(temperatures: Sequence[float], num_brackets: int) -> np.ndarray:
    """``temperatures`` as a float ``(K,)`` array: finite, strictly increasing, ``K`` long."""
    b = np.asarray(temperatures, dtype=np.float64)
    if b.shape != (num_brackets,):
        raise ValueError(
            f"temperatures={tuple(temperatures)!r}: need one per bracket ({num_brackets})"
        )
    if not np.isfinite(b).all() or np.any(np.diff(b) <= 0):
        raise ValueError(
            f"temperatures={tuple(temperatures)!r}: must be finite and strictly increasing "
            "(brackets from the coldest)"
        )
    return b


def _check_nonnegative(mid: np.ndarray) -> None:
    # min() is NaN when a mid is missing; only then pay for the elementwise test.
    if not mid.min() >= 0 and np.any(mid < 0):  # NaN compares False: missing is allowed
        raise ValueError(f"mid={mid.tolist()!r}: a mid must be >= 0")


def centre_of_mass(
    b: Float[np.ndarray, " K"], mid: Float[np.ndarray, "*T K"]
) -> Float[np.ndarray, "*T"]:
    """``sum_j b_j x_j / sum_j x_j`` over the last axis; NaN if a mid is NaN or all are 0."""
    total = mid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = (mid @ b) / total
    return np.where(total > 0, mu, np.nan)


def ladder_shape(params: LadderParams, num_brackets: int) -> StepAlgorithm[CentreState, LadderInfo]:
    """Bind the temperatures and half-lives: the online ladder-shape step.

    Args:
        params: ``b_j`` and the centre's half-lives.
        num_brackets: ``K >= 2`` (a single bracket has no neighbours and no shape).

    Returns:
        ``StepAlgorithm(init, update)``; ``update(state, LadderObs, key=None)``. The state is
        the centre's :class:`CentreState`: the recursions of
        :func:`kbayes.features.kinematics.ewm_kinematics` on one scalar, in Python floats
        (a tenth of the cost of ``(1,)`` arrays); the relative accelerations are stateless.

    Raises:
        ValueError: naming the field and value for bad params; at update time for arrays of
            the wrong shape, a negative mid, or a tick not after the previous one.
    """
    K = check_num_brackets(num_brackets, minimum=2)
    b = check_temperatures(params.temperatures, K)
    lam_v = LN2 / check_halflife("velocity_halflife_s", params.centre.velocity_halflife_s)
    lam_a = LN2 / check_halflife("acceleration_halflife_s", params.centre.acceleration_halflife_s)

    def init(key: object = None) -> CentreState:
        return CentreState()

    def update(
        state: CentreState, obs: LadderObs, key: object = None
    ) -> tuple[CentreState, LadderInfo]:
        mid = check_mid(obs.mid, K)
        a = check_mid(obs.acceleration, K)
        _check_nonnegative(mid)
        rel_max, rel_mean = relative_acceleration(a)
        total = float(mid.sum())
        mu = float(b @ mid) / total if total > 0 else math.nan  # NaN total fails > 0
        t = int(obs.t_ns)
        if math.isnan(mu):
            new = state  # hold, flagged by centre_valid
        else:
            if state.n >= 1 and t <= state.t_ns:
                raise ValueError(f"t_ns={t}: not after the previous t_ns={state.t_ns}")
            dt = (t - state.t_ns) * NS_PER_S
            r = (mu - state.x) / dt if state.n >= 1 else math.nan
            v = state.v - math.expm1(-lam_v * dt) * (r - state.v) if state.n >= 2 else r
            q = (v - state.v) / dt if state.n >= 2 else math.nan
            acc = state.a - math.expm1(-lam_a * dt) * (q - state.a) if state.n >= 3 else q
            new = CentreState(x=mu, t_ns=t, v=v, a=acc, n=state.n + 1)
        return new, LadderInfo(
            rel_accel_max=rel_max,
            rel_accel_mean=rel_mean,
            centre=mu,
            centre_velocity=new.v,
            centre_acceleration=new.a,
            centre_valid=not math.isnan(mu),
        )

    return StepAlgorithm(init=init, update=update)


def ladder_shape_batch(params: LadderParams, obs: LadderObsBatch) -> LadderInfo:
    """The fold of :func:`ladder_shape` over ``T`` ticks, vectorised over time.

    Returns:
        :class:`LadderInfo` with ``(T, K)`` relative accelerations and ``(T,)`` centre fields,
        equal to the stacked online infos (the centre's kinematics up to rounding).
    """
    mid = np.asarray(obs.mid, dtype=np.float64)
    a = np.asarray(obs.acceleration, dtype=np.float64)
    if mid.ndim != 2 or a.shape != mid.shape:
        raise ValueError(f"mid {mid.shape} and acceleration {a.shape} must both be (T, K)")
    K = check_num_brackets(mid.shape[1], minimum=2)
    b = check_temperatures(params.temperatures, K)
    _check_nonnegative(mid)
    rel_max, rel_mean = relative_acceleration(a)
    mu = centre_of_mass(b, mid)
    c = ewm_kinematics_batch(params.centre, GridObsBatch(obs.t_ns, mu[:, None]))
    return LadderInfo(
        rel_accel_max=rel_max,
        rel_accel_mean=rel_mean,
        centre=mu,
        centre_velocity=c.velocity[:, 0],
        centre_acceleration=c.acceleration[:, 0],
        centre_valid=c.valid[:, 0],
    )
