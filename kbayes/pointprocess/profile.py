"""The shared decay of the Hawkes fit by a safeguarded Newton search on the profile likelihood.

A shared decay maximises the profile log-likelihood ``l*(s) = max_phi l(phi, e^s)`` over
``s = log beta``: by the envelope theorem ``l*'(s) = dl/ds`` at the inner optimum, and
``l*''(s) = l_ss + l_s phi' H_ff^{-1} l_phi s`` over the parameters off the boundary (Schur
complement), from the derivatives of the design in ``s`` (:mod:`kbayes.pointprocess.design`).
The root of ``l*'`` is found by Newton's method safeguarded by bisection on the bracket of
sign changes (``rtsafe``, Press et al. 2007, section 9.4), each inner solve
(:func:`~kbayes.pointprocess.interior_point.solve_at`) warm-started from the last.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.concave import (
    Evaluation,
    NewtonProblem,
    Problem,
    at_decay,
    full_params,
    information,
    row_sums,
    to_free,
)
from kbayes.pointprocess.design import Design
from kbayes.pointprocess.interior_point import Limits, solve_at, spd_solve

_MAX_LOG_STEP = 1.0  # largest change of log(beta) per profile step
LOG_STEP_TOL = 1e-10  # the profile search stops when its step in log(beta) is this small
_WARM_FLOOR = 1e-3  # warm starts lift boundary parameters to this fraction of the cold start
_WARM_GAP = 1e-4  # initial surrogate gap of a warm-started inner solve


def profile_derivatives(
    ev: Evaluation, problem: Problem
) -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, " P"], Float[Array, ""]]:
    """Derivatives in ``s = log beta`` at the inner optimum ``phi*(s)`` (unscaled).

    Args:
        ev: the inner optimum, with the parameters at the boundary exactly 0 (they stay
            there under small changes of ``s`` and drop out of the Schur complement).
        problem: the program at ``s``, its design with the derivatives (``order=2``).

    Returns:
        ``(l_s, l_ss, l_phi_s, l*'')``: the partial derivatives, the mixed one (``(P,)``) and
        the second derivative of the profile, ``l_ss + l_phi_s' H_ff^{-1} l_phi_s`` over the
        parameters off the boundary.
    """
    phi, inv = ev.phi, ev.inv
    dsg, weight, index, fixed = problem.design, problem.weight, problem.index, problem.fixed
    theta = full_params(phi, index, fixed)
    theta_c = theta[dsg.row]
    lam_s = jnp.einsum("gck,gk->gc", dsg.x_s, theta_c)
    lam_ss = jnp.einsum("gck,gk->gc", dsg.x_ss, theta_c)
    inv2 = jnp.where(weight > 0, inv * inv / jnp.where(weight > 0, weight, 1.0), 0.0)
    l_s = jnp.sum(inv * lam_s) - jnp.sum(dsg.cost_s * theta)
    l_ss = jnp.sum(inv * lam_ss - inv2 * lam_s**2) - jnp.sum(dsg.cost_ss * theta)
    per_chunk = jnp.einsum("gc,gck->gk", inv, dsg.x_s) - jnp.einsum(
        "gc,gck->gk", inv2 * lam_s, dsg.x
    )
    mixed = row_sums(per_chunk, dsg.row, index.shape[0]) - dsg.cost_s
    l_phi_s = to_free(mixed, index, phi.shape[0])
    active = phi <= 0
    hess = information(phi, inv, problem)
    eye = jnp.eye(phi.shape[0], dtype=phi.dtype)
    hess = jnp.where(active[:, None] | active[None, :], eye, hess)
    v = jnp.where(active, 0.0, l_phi_s)
    curvature = l_ss + jnp.dot(v, spd_solve(hess, v))
    return l_s, l_ss, l_phi_s, curvature


class ProfileState(NamedTuple):
    """Iterate of the profile search over ``s = log beta``.

    Attributes:
        s: current ``log beta``.
        lo: largest ``s`` seen with ``l*'(s) > 0`` (the maximiser is above it).
        hi: smallest ``s`` seen with ``l*'(s) <= 0``.
        step: next change of ``s``.
        slope: ``l*'(s) / N``.
        inner: inner optimum at ``s`` (boundary parameters exactly 0), evaluated.
        iterations: Newton steps of all inner solves so far.
        inner_ok: the last inner solve met its tolerance.
        outer: decays visited.
    """

    s: Float[Array, ""]
    lo: Float[Array, ""]
    hi: Float[Array, ""]
    step: Float[Array, ""]
    slope: Float[Array, ""]
    inner: Evaluation
    iterations: Int[Array, ""]
    inner_ok: Array
    outer: Int[Array, ""]


def profile_decay(
    s0: Float[Array, ""], phi0: Float[Array, " P"], problem: NewtonProblem, limits: Limits
) -> tuple[ProfileState, Design]:
    """Maximise the profile log-likelihood over a shared ``s = log beta`` (see module doc).

    Returns:
        The final iterate and the design at its ``s``.
    """
    tol, scale = limits.tol, problem.scale
    ones = jnp.ones((1, problem.index.shape[0]), phi0.dtype)
    weight = problem.rows.weight.astype(phi0.dtype)

    def visit(
        s: Array, start: Array, gap0: Array, lo: Array, hi: Array, iters: Array, outer: Array
    ) -> tuple[ProfileState, Design]:
        at_s = at_decay(problem, jnp.exp(s) * ones, order=2)
        ev, k, ok = solve_at(start, at_s, limits, gap0)
        l_s, _, _, curv = profile_derivatives(ev, at_s)
        lo = jnp.where(l_s > 0, jnp.maximum(lo, s), lo)
        hi = jnp.where(l_s <= 0, jnp.minimum(hi, s), hi)
        newton = jnp.where(curv < 0, -l_s / jnp.where(curv < 0, curv, -1.0), jnp.sign(l_s))
        step = jnp.clip(newton, -_MAX_LOG_STEP, _MAX_LOG_STEP)
        outside = (s + step <= lo) | (s + step >= hi)
        bracketed = jnp.isfinite(lo) & jnp.isfinite(hi)
        step = jnp.where(bracketed & outside, 0.5 * (lo + hi) - s, step)
        st = ProfileState(s, lo, hi, step, l_s / scale, ev, iters + k, ok, outer + 1)
        return st, at_s.design

    def cond(carry: tuple[ProfileState, Design]) -> Array:
        st, _ = carry
        moving = (jnp.abs(st.step) > LOG_STEP_TOL) & (jnp.abs(st.slope) > tol)
        return (st.outer == 0) | ((st.outer < limits.max_outer) & moving & jnp.isfinite(st.s))

    def body(carry: tuple[ProfileState, Design]) -> tuple[ProfileState, Design]:
        st, _ = carry
        cold = st.outer == 0
        # warm start, with the boundary parameters moved back inside so they can re-enter
        start = jnp.where(cold, phi0, jnp.maximum(st.inner.phi, _WARM_FLOOR * phi0))
        gap0 = jnp.where(cold, 1.0, _WARM_GAP).astype(phi0.dtype)
        return visit(st.s + st.step, start, gap0, st.lo, st.hi, st.iterations, st.outer)

    # the first visit happens inside the loop (the solver is compiled once)
    inf = jnp.asarray(jnp.inf, phi0.dtype)
    zero = jnp.zeros((), phi0.dtype)
    dummy = jax.eval_shape(lambda: at_decay(problem, jnp.exp(s0) * ones, order=2).design)
    dsg0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), dummy)
    ev0 = Evaluation(phi0, zero, jnp.zeros_like(phi0), jnp.zeros_like(weight))
    count = jnp.asarray(0)
    st0 = ProfileState(s0, -inf, inf, zero, zero, ev0, count, jnp.asarray(False), count)
    return jax.lax.while_loop(cond, body, (st0, dsg0))
