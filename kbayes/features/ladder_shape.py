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
    EwmParams,
    GridObs,
    GridObsBatch,
    KinematicsState,
    check_mid,
    check_num_brackets,
    ewm_kinematics,
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
    left, right = a[..., :-1], a[..., 1:]  # a_{j-1} for j >= 1, a_{j+1} for j <= K-2
    nmax = np.empty_like(a)
    nmean = np.empty_like(a)
    nmax[..., 0] = nmean[..., 0] = right[..., 0]
    nmax[..., -1] = nmean[..., -1] = left[..., -1]
    nmax[..., 1:-1] = np.maximum(left[..., :-1], right[..., 1:])
    nmean[..., 1:-1] = 0.5 * (left[..., :-1] + right[..., 1:])
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
    if np.any(mid < 0):  # NaN compares False: missing is allowed, negative is not
        raise ValueError(f"mid={mid.tolist()!r}: a mid must be >= 0")


def centre_of_mass(
    b: Float[np.ndarray, " K"], mid: Float[np.ndarray, "*T K"]
) -> Float[np.ndarray, "*T"]:
    """``sum_j b_j x_j / sum_j x_j`` over the last axis; NaN if a mid is NaN or all are 0."""
    total = mid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = (mid @ b) / total
    return np.where(total > 0, mu, np.nan)


def ladder_shape(
    params: LadderParams, num_brackets: int
) -> StepAlgorithm[KinematicsState, LadderInfo]:
    """Bind the temperatures and half-lives: the online ladder-shape step.

    Args:
        params: ``b_j`` and the centre's half-lives.
        num_brackets: ``K >= 2`` (a single bracket has no neighbours and no shape).

    Returns:
        ``StepAlgorithm(init, update)``; ``update(state, LadderObs, key=None)``. The state is
        the centre's :class:`~kbayes.features.kinematics.KinematicsState` (``K = 1``); the
        relative accelerations are stateless.

    Raises:
        ValueError: naming the field and value for bad params; at update time for arrays of
            the wrong shape or a negative mid.
    """
    K = check_num_brackets(num_brackets, minimum=2)
    b = check_temperatures(params.temperatures, K)
    centre_alg = ewm_kinematics(params.centre, 1)

    def init(key: object = None) -> KinematicsState:
        return centre_alg.init(None)

    def update(
        state: KinematicsState, obs: LadderObs, key: object = None
    ) -> tuple[KinematicsState, LadderInfo]:
        mid = check_mid(obs.mid, K)
        a = check_mid(obs.acceleration, K)
        _check_nonnegative(mid)
        rel_max, rel_mean = relative_acceleration(a)
        total = float(mid.sum())
        mu = float(b @ mid) / total if total > 0 else math.nan  # NaN total fails > 0
        state, c = centre_alg.update(state, GridObs(obs.t_ns, np.array([mu])), None)
        return state, LadderInfo(
            rel_accel_max=rel_max,
            rel_accel_mean=rel_mean,
            centre=mu,
            centre_velocity=float(c.velocity[0]),
            centre_acceleration=float(c.acceleration[0]),
            centre_valid=bool(c.valid[0]),
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
