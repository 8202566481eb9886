"""Atomic kernels: the O(N D^2) exponential recursion for the Hawkes intensity (Ozaki 1979).

For each pair ``(i, j)`` the excitation state at the last event time ``s`` is

    S_ij(s) = sum_{t_l^j < s} exp(-beta_ij (s - t_l^j)),

and ``P_j`` counts the events of ``j`` at exactly ``s`` (ties: they excite only later times).
Moving to the next event at ``t = s + dt`` with ``dt > 0``,

    S_ij(t) = exp(-beta_ij dt) (S_ij(s) + P_j),

and with ``dt = 0`` the state is unchanged. The left-limit intensity at ``t`` is
``lambda_i(t) = mu_i(b(t)) + sum_j alpha_ij beta_ij S_ij(t)``. The compensator over ``(s, t]``
is ``int mu_i + sum_j alpha_ij (S_ij(s) + P_j)(1 - exp(-beta_ij dt))``, so over ``[0, T]``

    Lambda_i(T) = sum_b mu_ib E_b(T) + sum_j alpha_ij (N_j - S_ij(T)),
    S(T) = e^{-beta (T - t_N)} (S + P),

and the log-likelihood is ``sum_k log lambda_{m_k}(t_k) - sum_i Lambda_i(T)`` (Ogata 1978).
Rows with ``weight = 0`` (padding, query points) move time forward but add no event. These
functions take prepared :class:`~kbayes.pointprocess.events.HawkesData` and do no validation.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.events import HawkesData
from kbayes.pointprocess.params import HawkesParams, as_jax


class ExcitationState(NamedTuple):
    """Recursion state at the last processed time.

    Attributes:
        decayed: ``(D, D)`` ``S_ij``: kernels of events strictly before that time, at that time.
        pending: ``(D,)`` events exactly at that time, not yet exciting anything.
    """

    decayed: Float[Array, "D D"]
    pending: Float[Array, " D"]


def zero_state(num_dims: int, dtype: jnp.dtype | None = None) -> ExcitationState:
    """The state before any event."""
    return ExcitationState(
        decayed=jnp.zeros((num_dims, num_dims), dtype), pending=jnp.zeros((num_dims,), dtype)
    )


def advance(
    beta: Float[Array, "D D"], state: ExcitationState, dt: Float[Array, ""]
) -> ExcitationState:
    """Move the state forward by ``dt >= 0`` with no new event."""
    moved = (dt > 0).astype(state.pending.dtype)
    decayed = jnp.exp(-beta * dt) * (state.decayed + moved * state.pending[None, :])
    return ExcitationState(decayed=decayed, pending=(1.0 - moved) * state.pending)


def excited_intensity(
    params: HawkesParams, state: ExcitationState, b: Int[Array, ""]
) -> Float[Array, " D"]:
    """Left-limit intensity ``mu_i(b) + sum_j alpha_ij beta_ij S_ij`` for every ``i``."""
    mu, alpha, beta = as_jax(params)
    return mu[:, b] + jnp.sum(alpha * beta * state.decayed, axis=1)


def add_event(
    state: ExcitationState, mark: Int[Array, ""], weight: Float[Array, ""]
) -> ExcitationState:
    """Record ``weight`` events of dimension ``mark`` at the current time."""
    onehot = jax.nn.one_hot(mark, state.pending.shape[0], dtype=state.pending.dtype)
    return ExcitationState(decayed=state.decayed, pending=state.pending + weight * onehot)


def compensator_increment(
    params: HawkesParams,
    state: ExcitationState,
    dt: Float[Array, ""],
    dexp: Float[Array, " B"],
) -> Float[Array, " D"]:
    """``Lambda_i(s + dt) - Lambda_i(s)`` from the state at ``s``; ``dexp`` is the bin exposure."""
    total = state.decayed + state.pending[None, :]
    return params.mu @ dexp + jnp.sum(params.alpha * total * -jnp.expm1(-params.beta * dt), axis=1)


class StepOutput(NamedTuple):
    """What one step of the recursion reports about its row.

    Attributes:
        intensity: ``(D,)`` left-limit intensity at the row's time.
        residual: ``Lambda_m(t) - Lambda_m(t_prev)`` for the row's mark ``m`` (``t_prev``
            its previous event), times the row's weight; None when not tracked.
    """

    intensity: Float[Array, " D"]
    residual: Float[Array, ""] | None


def event_step(
    params: HawkesParams,
    state: ExcitationState,
    open_compensator: Float[Array, " D"] | None,
    dt: Float[Array, ""],
    mark: Int[Array, ""],
    weight: Float[Array, ""],
    b: Int[Array, ""],
    dexp: Float[Array, " B"] | None = None,
) -> tuple[ExcitationState, Float[Array, " D"] | None, StepOutput]:
    """One row of the recursion: the single step every scan here and the online update run.

    Moves the state by ``dt``, reads the left-limit intensity in baseline bin ``b``, and
    records ``weight`` events of ``mark``. With ``open_compensator`` (the compensator of
    each dimension since its last event, ``dexp`` the bin exposure of the ``dt``) it also
    accumulates the compensator over ``dt`` and returns the residual of the row's mark,
    resetting that dimension's accumulator; with None that work is skipped.

    Returns:
        ``(state, open_compensator, output)`` after the row.
    """
    residual = None
    if open_compensator is not None:
        open_compensator = open_compensator + compensator_increment(params, state, dt, dexp)
    state = advance(params.beta, state, dt)
    lam = excited_intensity(params, state, b)
    if open_compensator is not None:
        hit = weight * jax.nn.one_hot(mark, open_compensator.shape[0], dtype=lam.dtype)
        residual = jnp.sum(hit * open_compensator)
        open_compensator = open_compensator * (1.0 - hit)
    return add_event(state, mark, weight), open_compensator, StepOutput(lam, residual)


def scan_intensity(
    params: HawkesParams, data: HawkesData, unroll: int = 1
) -> tuple[ExcitationState, Float[Array, "N D"]]:
    """Final state and the left-limit intensity of every dimension at every row."""

    def body(
        state: ExcitationState, x: tuple[Array, Array, Array, Array]
    ) -> tuple[ExcitationState, Array]:
        state, _, out = event_step(params, state, None, *x)
        return state, out.intensity

    init = zero_state(params.num_dims, params.alpha.dtype)
    xs = (data.dt, data.marks, data.weight, data.bins)
    return jax.lax.scan(body, init, xs, unroll=unroll)


def log_likelihood_kernel(
    params: HawkesParams, data: HawkesData, unroll: int = 1
) -> Float[Array, ""]:
    """Exact log-likelihood on ``[0, T]`` by one pass of the recursion."""

    def body(
        state: ExcitationState, x: tuple[Array, Array, Array, Array]
    ) -> tuple[ExcitationState, Array]:
        _, mark, weight, _ = x
        state, _, out = event_step(params, state, None, *x)
        lam = out.intensity[mark]
        log_lam = jnp.where(weight > 0, jnp.log(jnp.where(weight > 0, lam, 1.0)), 0.0)
        return state, weight * log_lam

    init = zero_state(params.num_dims, params.alpha.dtype)
    xs = (data.dt, data.marks, data.weight, data.bins)
    state, log_lams = jax.lax.scan(body, init, xs, unroll=unroll)
    return jnp.sum(log_lams) - jnp.sum(total_compensator(params, data, state))


def total_compensator(
    params: HawkesParams, data: HawkesData, final: ExcitationState
) -> Float[Array, " D"]:
    """``Lambda_i(T)`` in closed form from the state at the last row."""
    s_end = jnp.exp(-params.beta * data.dt_end) * (final.decayed + final.pending[None, :])
    excited = jnp.sum(params.alpha * (data.counts[None, :] - s_end), axis=1)
    return params.mu @ data.exposure + excited


def scan_residuals(
    params: HawkesParams, data: HawkesData, unroll: int = 1
) -> tuple[Float[Array, " N"], Float[Array, " D"]]:
    """Time-rescaled residuals (Brown et al. 2002).

    Returns:
        residual: per row, ``Lambda_m(t_k) - Lambda_m(t_prev)`` where ``m`` is the row's mark
            and ``t_prev`` the previous event of ``m`` (0 for its first); 0 on zero-weight rows.
        open_interval: ``(D,)`` compensator since each dimension's last event, up to ``T``.
    """

    def body(
        carry: tuple[ExcitationState, Array], x: tuple[Array, Array, Array, Array, Array]
    ) -> tuple[tuple[ExcitationState, Array], Array]:
        state, acc = carry
        dt, mark, weight, b, dexp = x
        state, acc, out = event_step(params, state, acc, dt, mark, weight, b, dexp)
        return (state, acc), out.residual

    d = params.num_dims
    init = (zero_state(d, params.alpha.dtype), jnp.zeros((d,), params.alpha.dtype))
    xs = (data.dt, data.marks, data.weight, data.bins, data.dexp)
    (state, acc), residuals = jax.lax.scan(body, init, xs, unroll=unroll)
    return residuals, acc + compensator_increment(params, state, data.dt_end, data.dexp_end)
