"""Online Hawkes intensity for live use, behind the step contract of :mod:`kbayes.step`.

``algorithm = intensity_algorithm(params, grid)`` binds the parameters and the baseline grid;
``state = algorithm.init(None)`` is the state at the window start and
``state, info = algorithm.update(state, HawkesEvent(t, dim), None)`` absorbs one event (the
process is deterministic: the keys are ignored). The parameters are not in the state: the state
is exactly what one event hands to the next. Each update is one :func:`~kbayes.pointprocess.
recursion.event_step`, the same step the batch likelihood, intensity and residual scans run,
so a live feed reproduces the batch intensities, and :func:`kbayes.step.scan_algorithm` replays
a tape with the same ``update``. Besides the left-limit intensity the update reports the
time-rescaled residual of the new event, ``Lambda_m(t) - Lambda_m(t_prev)`` with ``t_prev``
the previous event of the same dimension: under a correct model these are i.i.d. Exp(1)
(Brown et al. 2002), so a live monitor can test them. :func:`intensity` and
:func:`compensator_since_last` read the state at any later time.

Events must arrive in non-decreasing time order; an out-of-order event is applied as if it
arrived at the last event time and is flagged with ``info.in_order = False``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Bool, Float, Int

from kbayes.pointprocess.baseline import BaselineGrid, bin_index, constant_baseline, exposure
from kbayes.pointprocess.params import HawkesParams, as_jax
from kbayes.pointprocess.recursion import (
    ExcitationState,
    advance,
    compensator_increment,
    event_step,
    excited_intensity,
    zero_state,
)
from kbayes.step import StepAlgorithm


class HawkesEvent(NamedTuple):
    """One observation of the online intensity: an event of dimension ``dim`` at ``time``."""

    time: Float[Array, ""]
    dim: Int[Array, ""]


class IntensityState(NamedTuple):
    """Online state (the parameters and grid are bound by :func:`intensity_algorithm`).

    Attributes:
        t_last: time of the last event (the window start before any event).
        excitation: recursion state at ``t_last``.
        open_compensator: ``(D,)`` compensator accumulated since each dimension's last event,
            up to ``t_last``.
        num_events: ``(D,)`` events seen per dimension.
    """

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


def _as_grid(grid: BaselineGrid | None) -> BaselineGrid:
    grid = constant_baseline() if grid is None else grid
    return BaselineGrid(edges=jnp.asarray(grid.edges), offset=jnp.asarray(grid.offset))


def initial_state(params: HawkesParams, t0: float = 0.0) -> IntensityState:
    """State at the window start ``t0`` with no events yet."""
    params = as_jax(params)
    d = params.num_dims
    dtype = params.alpha.dtype
    return IntensityState(
        t_last=jnp.asarray(t0, dtype),
        excitation=zero_state(d, dtype),
        open_compensator=jnp.zeros((d,), dtype),
        num_events=jnp.zeros((d,), dtype),
    )


@jax.jit
def step(
    params: HawkesParams, grid: BaselineGrid, state: IntensityState, event: HawkesEvent
) -> tuple[IntensityState, UpdateInfo]:
    """Absorb one event (the ``update`` of :func:`intensity_algorithm`, parameters explicit)."""
    t = jnp.asarray(event.time, state.t_last.dtype)
    in_order = t >= state.t_last
    dt = jnp.maximum(t - state.t_last, 0.0)
    t = state.t_last + dt
    dexp = exposure(grid, state.t_last, t)
    one = jnp.asarray(1.0, state.t_last.dtype)
    excitation, acc, out = event_step(
        params,
        state.excitation,
        state.open_compensator,
        dt,
        event.dim,
        one,
        bin_index(grid, t),
        dexp,
    )
    hit = jax.nn.one_hot(event.dim, params.num_dims, dtype=acc.dtype)
    info = UpdateInfo(
        intensity=out.intensity,
        log_intensity=jnp.log(jnp.sum(hit * out.intensity)),
        residual=out.residual,
        in_order=in_order,
    )
    new = IntensityState(
        t_last=t,
        excitation=excitation,
        open_compensator=acc,
        num_events=state.num_events + hit,
    )
    return new, info


def intensity_algorithm(
    params: HawkesParams, grid: BaselineGrid | None = None, t0: float = 0.0
) -> StepAlgorithm[IntensityState, UpdateInfo]:
    """The online intensity as ``init(key) -> state``, ``update(state, event, key)``.

    Args:
        params: the Hawkes parameters (bound, not stored in the state).
        grid: the baseline grid (constant baseline when None).
        t0: the window start.
    """
    params, grid = as_jax(params), _as_grid(grid)

    def init(key: Any = None) -> IntensityState:
        del key  # deterministic
        return initial_state(params, t0)

    def update(
        state: IntensityState, event: HawkesEvent, key: Any = None
    ) -> tuple[IntensityState, UpdateInfo]:
        del key
        return step(params, grid, state, event)

    return StepAlgorithm(init=init, update=update)


def _excitation_at(params: HawkesParams, state: IntensityState, t: Array) -> ExcitationState:
    return advance(params.beta, state.excitation, jnp.maximum(t - state.t_last, 0.0))


@jax.jit
def intensity(
    params: HawkesParams,
    grid: BaselineGrid | None,
    state: IntensityState,
    t: Float[Array, ""] | float,
) -> Float[Array, " D"]:
    """``lambda(t)`` for ``t >= t_last`` (events strictly before ``t``); no state change."""
    t = jnp.asarray(t, state.t_last.dtype)
    params, grid = as_jax(params), _as_grid(grid)
    return excited_intensity(params, _excitation_at(params, state, t), bin_index(grid, t))


@jax.jit
def compensator_since_last(
    params: HawkesParams,
    grid: BaselineGrid | None,
    state: IntensityState,
    t: Float[Array, ""] | float,
) -> Float[Array, " D"]:
    """Compensator of each dimension from its last event (or the start) to ``t >= t_last``."""
    t = jnp.asarray(t, state.t_last.dtype)
    params, grid = as_jax(params), _as_grid(grid)
    dt = jnp.maximum(t - state.t_last, 0.0)
    dexp = exposure(grid, state.t_last, state.t_last + dt)
    return state.open_compensator + compensator_increment(params, state.excitation, dt, dexp)
