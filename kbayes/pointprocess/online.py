"""Online Hawkes intensity for live use: ``init``, ``update`` per event, ``intensity`` at any time.

Each update is one step of the same exponential recursion the batch likelihood scans
(:mod:`kbayes.pointprocess.recursion`), so a live feed reproduces the batch intensities
exactly, and ``jax.lax.scan(update, ...)`` replays a tape. Besides the left-limit intensity
the update reports the time-rescaled residual of the new event, ``Lambda_m(t) -
Lambda_m(t_prev)`` with ``t_prev`` the previous event of the same dimension: under a correct
model these are i.i.d. Exp(1) (Brown et al. 2002), so a live monitor can test them.

Events must arrive in non-decreasing time order; an out-of-order event is applied as if it
arrived at the last event time and is flagged with ``info.in_order = False``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Bool, Float

from kbayes.pointprocess.baseline import BaselineGrid, bin_index, constant_baseline, exposure
from kbayes.pointprocess.params import HawkesParams, as_jax
from kbayes.pointprocess.recursion import (
    ExcitationState,
    add_event,
    advance,
    compensator_increment,
    excited_intensity,
    zero_state,
)


class IntensityState(NamedTuple):
    """Online state.

    Attributes:
        params: the Hawkes parameters.
        grid: the baseline grid.
        t_last: time of the last event (the window start before any event).
        excitation: recursion state at ``t_last``.
        open_compensator: ``(D,)`` compensator accumulated since each dimension's last event,
            up to ``t_last``.
        num_events: ``(D,)`` events seen per dimension.
    """

    params: HawkesParams
    grid: BaselineGrid
    t_last: Float[Array, ""]
    excitation: ExcitationState
    open_compensator: Float[Array, " D"]
    num_events: Float[Array, " D"]


class UpdateInfo(NamedTuple):
    """Diagnostics of one update.

    Attributes:
        intensity: ``(D,)`` left-limit intensity at the event time (before the event).
        log_intensity: log intensity of the event's own dimension (its log-likelihood term).
        residual: time-rescaled residual of the event (Exp(1) under the model).
        in_order: False when the event time was before the last one.
    """

    intensity: Float[Array, " D"]
    log_intensity: Float[Array, ""]
    residual: Float[Array, ""]
    in_order: Bool[Array, ""]


def init(params: HawkesParams, grid: BaselineGrid | None = None, t0: float = 0.0) -> IntensityState:
    """State at the window start ``t0`` with no events yet."""
    grid = constant_baseline() if grid is None else grid
    grid = BaselineGrid(edges=jnp.asarray(grid.edges), offset=jnp.asarray(grid.offset))
    params = as_jax(params)
    d = params.num_dims
    dtype = params.alpha.dtype
    return IntensityState(
        params=params,
        grid=grid,
        t_last=jnp.asarray(t0, dtype),
        excitation=zero_state(d, dtype),
        open_compensator=jnp.zeros((d,), dtype),
        num_events=jnp.zeros((d,), dtype),
    )


@jax.jit
def update(
    state: IntensityState, event_time: Float[Array, ""] | float, dim: Any
) -> tuple[IntensityState, UpdateInfo]:
    """Absorb one event of dimension ``dim`` at ``event_time``."""
    params, grid = state.params, state.grid
    t = jnp.asarray(event_time, state.t_last.dtype)
    in_order = t >= state.t_last
    dt = jnp.maximum(t - state.t_last, 0.0)
    t = state.t_last + dt
    dexp = exposure(grid, state.t_last, t)
    acc = state.open_compensator + compensator_increment(params, state.excitation, dt, dexp)
    excitation = advance(params.beta, state.excitation, dt)
    lam = excited_intensity(params, excitation, bin_index(grid, t))
    hit = jax.nn.one_hot(dim, params.num_dims, dtype=acc.dtype)
    info = UpdateInfo(
        intensity=lam,
        log_intensity=jnp.log(jnp.sum(hit * lam)),
        residual=jnp.sum(hit * acc),
        in_order=in_order,
    )
    new = IntensityState(
        params=params,
        grid=grid,
        t_last=t,
        excitation=add_event(excitation, dim, jnp.asarray(1.0, acc.dtype)),
        open_compensator=acc * (1.0 - hit),
        num_events=state.num_events + hit,
    )
    return new, info


def _excitation_at(state: IntensityState, t: Array) -> ExcitationState:
    return advance(state.params.beta, state.excitation, jnp.maximum(t - state.t_last, 0.0))


@jax.jit
def intensity(state: IntensityState, t: Float[Array, ""] | float) -> Float[Array, " D"]:
    """``lambda(t)`` for ``t >= t_last`` (events strictly before ``t``); no state change."""
    t = jnp.asarray(t, state.t_last.dtype)
    return excited_intensity(state.params, _excitation_at(state, t), bin_index(state.grid, t))


@jax.jit
def compensator_since_last(
    state: IntensityState, t: Float[Array, ""] | float
) -> Float[Array, " D"]:
    """Compensator of each dimension from its last event (or the start) to ``t >= t_last``."""
    t = jnp.asarray(t, state.t_last.dtype)
    dt = jnp.maximum(t - state.t_last, 0.0)
    dexp = exposure(state.grid, state.t_last, state.t_last + dt)
    return state.open_compensator + compensator_increment(state.params, state.excitation, dt, dexp)
