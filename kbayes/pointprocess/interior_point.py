"""Primal-dual interior point with a projected-Newton crossover for the concave Hawkes problem.

The fit of ``phi >= 0`` maximising the concave ``l(phi)`` of :mod:`kbayes.pointprocess.concave`
is solved by the primal-dual interior-point method (Boyd & Vandenberghe 2004, section 11.7)
with Mehrotra's (1992) predictor-corrector centring: with dual ``z >= 0`` each step solves

    (H + diag(z / phi)) dphi = -(grad f - z) - r / phi,    dz = -(r + z dphi) / phi,

(``H = M' blockdiag_i(sum_n x_n x_n' / lambda_n^2) M / N``, ``r`` the centring residual),
takes 99% of the step to the boundary and backtracks on the residual norm. At a loose
tolerance the parameters with ``phi_p < z_p`` are set to 0 and projected Newton steps on
the rest (Bertsekas 1982) land on the exact KKT point; should the active set be wrong, the
interior point resumes to the full tolerance first. Estimates at the boundary are exact zeros.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.concave import (
    Evaluation,
    Problem,
    evaluate,
    information,
    kkt_residual,
    objective,
    row_sums,
    to_free,
)

_STEP_TO_BOUNDARY = 0.99
_ARMIJO = 0.01
_MAX_BACKTRACK = 40
_CROSSOVER_TOL = 1e-3  # interior point stops here and hands over to projected Newton
_POLISH_STEPS = 4  # projected Newton steps at most


class Limits(NamedTuple):
    """Stopping rules of the Newton fit.

    Attributes:
        tol: KKT tolerance of ``-l / N`` (and, for a fitted decay, on the profile slope).
        max_iter: Newton steps per inner solve at most.
        max_outer: decays the profile search visits at most (unused for given decays).
    """

    tol: Float[Array, ""]
    max_iter: Int[Array, ""]
    max_outer: Int[Array, ""]


class SolverState(NamedTuple):
    """Primal-dual iterate: parameters, duals of ``phi >= 0``, ``grad f``, iterations used."""

    phi: Float[Array, " P"]
    z: Float[Array, " P"]
    grad_f: Float[Array, " P"]
    iterations: Int[Array, ""]


def spd_solve(h: Float[Array, "P P"], b: Float[Array, " P"]) -> Float[Array, " P"]:
    """``h^{-1} b`` for a positive definite ``h``: Cholesky (one LAPACK call), LU only where
    the factorisation fails (XLA's CPU LU runs a loop over the columns, 10x slower)."""
    x = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(h), b)
    return jax.lax.cond(jnp.all(jnp.isfinite(x)), lambda: x, lambda: jnp.linalg.solve(h, b))


def _max_step(x: Array, dx: Array) -> Array:
    """Largest ``a <= 1`` with ``x + a dx >= 0``."""
    ratio = jnp.where(dx < 0, -x / jnp.where(dx < 0, dx, -1.0), jnp.inf)
    return jnp.minimum(1.0, jnp.min(ratio, initial=jnp.inf))


def interior_point(
    phi0: Float[Array, " P"],
    z0: Float[Array, " P"],
    iterations: Int[Array, ""],
    problem: Problem,
    tol: Float[Array, ""],
    max_iter: Int[Array, ""],
) -> SolverState:
    """Maximise ``l(phi)`` over ``phi >= 0`` (primal-dual interior point, see module doc).

    The centring target ``sigma mu`` (``mu = phi . z / P``) follows Mehrotra's (1992)
    predictor-corrector: an affine step (``sigma = 0``) gives ``sigma = (mu_aff / mu)^3``
    and a second-order correction, both from one Cholesky factorisation. The step is 99% of
    the way to the boundary, halved until the intensities stay positive and the residual
    norm decreases (Boyd & Vandenberghe 2004, algorithm 11.2).

    Args:
        phi0: strictly positive start.
        z0: strictly positive start of the duals.
        iterations: steps already taken (a resumed solve).
        problem: the concave program at one decay (the method works on ``f = -l / N``).
        tol: on the dual residual (max norm) and the surrogate gap of ``f``.
        max_iter: Newton-step cap (counting ``iterations``).
    """
    scale = problem.scale
    mf = jnp.asarray(float(max(phi0.shape[0], 1)), phi0.dtype)

    def grad_f(phi: Array) -> tuple[Array, Array, Array]:
        value, grad, inv = objective(phi, problem)
        return -value / scale, -grad / scale, inv

    def residual(phi: Array, z: Array, grad: Array, target: Array) -> Array:
        return jnp.sqrt(jnp.sum((grad - z) ** 2) + jnp.sum((z * phi - target) ** 2))

    def cond(carry: tuple[SolverState, Array, Array]) -> Array:
        state, grad, _ = carry
        eta = jnp.dot(state.phi, state.z)
        dual = jnp.max(jnp.abs(grad - state.z), initial=0.0)
        running = (dual > tol) | (eta > tol)
        return (state.iterations < max_iter) & running & jnp.all(jnp.isfinite(state.phi))

    def body(carry: tuple[SolverState, Array, Array]) -> tuple[SolverState, Array, Array]:
        state, grad, inv = carry
        phi, z = state.phi, state.z
        mu = jnp.dot(phi, z) / mf
        hess = information(phi, inv, problem) / scale
        chol = jax.scipy.linalg.cho_factor(hess + jnp.diag(z / phi))

        def direction(r_cent: Array) -> tuple[Array, Array]:
            # (H + Z / Phi) dphi = -r_dual - r_cent / phi,  dz = -(r_cent + z dphi) / phi
            dphi = jax.scipy.linalg.cho_solve(chol, -(grad - z) - r_cent / phi)
            return dphi, -(r_cent + z * dphi) / phi

        dphi_a, dz_a = direction(phi * z)
        a_aff = jnp.minimum(_max_step(phi, dphi_a), _max_step(z, dz_a))
        mu_aff = jnp.dot(phi + a_aff * dphi_a, z + a_aff * dz_a) / mf
        target = (mu_aff / mu) ** 3 * mu
        dphi, dz = direction(phi * z + dphi_a * dz_a - target)
        step0 = _STEP_TO_BOUNDARY * jnp.minimum(_max_step(phi, dphi), _max_step(z, dz))
        r0 = residual(phi, z, grad, target)

        def try_step(step: Array) -> tuple[Array, Array, Array, Array, Array]:
            p, zz = phi + step * dphi, z + step * dz
            val, g, iv = grad_f(p)
            ok = jnp.isfinite(val) & (residual(p, zz, g, target) <= (1.0 - _ARMIJO * step) * r0)
            return ok, p, zz, g, iv

        def bt_cond(c: tuple) -> Array:
            return (~c[0]) & (c[-1] < _MAX_BACKTRACK)

        def bt_body(c: tuple) -> tuple:
            step = 0.5 * c[1]
            ok, p, zz, g, iv = try_step(step)
            return ok, step, p, zz, g, iv, c[-1] + 1

        ok, p, zz, g, iv = try_step(step0)
        _, _, p, zz, g, iv, _ = jax.lax.while_loop(
            bt_cond, bt_body, (ok, step0, p, zz, g, iv, jnp.asarray(0))
        )
        return SolverState(p, zz, g, state.iterations + 1), g, iv

    _, g0, inv0 = grad_f(phi0)
    init = (SolverState(phi0, z0, g0, iterations), g0, inv0)
    state, _, _ = jax.lax.while_loop(cond, body, init)
    return state


def snap_to_boundary(state: SolverState, problem: Problem) -> Evaluation:
    """Set the parameters the interior point left at the boundary (``phi_p < z_p``) to 0.

    Skipped when that would make an event's intensity non-positive.
    """
    snapped = evaluate(jnp.where(state.phi < state.z, 0.0, state.phi), problem)
    return jax.lax.cond(
        jnp.isfinite(snapped.value), lambda: snapped, lambda: evaluate(state.phi, problem)
    )


def polish(start: Evaluation, problem: Problem, tol: Float[Array, ""]) -> Evaluation:
    """Projected Newton steps from the barrier solution (Bertsekas 1982).

    The barrier leaves parameters ``O(1 / (t phi))`` short of stationarity (most visibly the
    small, weakly identified ones). With the active set ``{phi_p = 0, dl/dphi_p <= 0}`` held
    at 0, a Newton step on the others, clipped at 0, converges quadratically to the exact KKT
    point once the set is right. A step is kept only when it does not lower ``l``; at most
    ``_POLISH_STEPS``, until :func:`kkt_residual` is at most ``tol``.
    """

    def step(carry: tuple[Evaluation, Array, Array]) -> tuple[Evaluation, Array, Array]:
        ev, k, _ = carry
        active = (ev.phi <= 0) & (ev.grad <= 0)
        hess = information(ev.phi, ev.inv, problem)
        pair = active[:, None] | active[None, :]
        hess = jnp.where(pair, jnp.eye(ev.phi.shape[0], dtype=ev.phi.dtype), hess)
        move = spd_solve(hess, jnp.where(active, 0.0, ev.grad))
        new = evaluate(jnp.maximum(ev.phi + move, 0.0), problem)
        keep = jnp.isfinite(new.value) & (new.value >= ev.value)
        ev = jax.tree.map(lambda a, b: jnp.where(keep, a, b), new, ev)
        return ev, k + 1, keep

    def cond(carry: tuple[Evaluation, Array, Array]) -> Array:
        ev, k, moved = carry
        return (k < _POLISH_STEPS) & moved & (kkt_residual(ev, problem.scale) > tol)

    init = (start, jnp.asarray(0), jnp.asarray(True))
    return jax.lax.while_loop(cond, step, init)[0]


def solve_at(
    phi_start: Float[Array, " P"],
    problem: Problem,
    limits: Limits,
    gap0: Float[Array, ""],
    float32_ip: bool = False,
    resume: bool = True,
) -> tuple[Evaluation, Int[Array, ""], Array]:
    """Interior point, then crossover to the exact KKT point by projected Newton.

    The interior point runs to the loose tolerance ``max(tol, 1e-3)``, the boundary
    parameters are set to 0 and :func:`polish` finishes; when the KKT residual is still above
    ``tol`` (a wrong active set), the interior point resumes to ``tol`` and polishes again.

    ``float32_ip``: the first interior point runs in float32, which halves its cost on CPU
    (it moves ``phi`` by ~1e-7 relative, and the polish in the input precision makes the
    result exact) but compiles a second interior point for the resume. ``resume=False``
    leaves the resume out of the compiled program; the caller reruns with ``resume=True``
    when ``ok`` is False (worth it where a first solve rarely fails: one decay, cold start).

    Returns:
        ``(evaluation, iterations, ok)``: the polished optimum, interior-point steps, and
        whether the KKT residual met ``tol`` within ``max_iter`` steps.
    """
    tol, max_iter = limits.tol, limits.max_iter
    dsg, index, scale = problem.design, problem.index, problem.scale
    mf = jnp.asarray(float(max(phi_start.shape[0], 1)), phi_start.dtype)
    z0 = gap0 / (mf * phi_start)
    # a parameter that no event and no compensator term touches is not identified: a unit
    # cost sends it to 0, where it leaves the likelihood unchanged
    mass = row_sums(jnp.sum(dsg.x, axis=1), dsg.row, index.shape[0]) + dsg.cost
    touched = to_free(mass, index, phi_start.shape[0]) > 0
    inert = (index >= 0) & ~touched[jnp.maximum(index, 0)]
    dsg = dsg._replace(cost=jnp.where(inert, 1.0, dsg.cost))
    problem = problem._replace(design=dsg)

    low = jnp.float32 if float32_ip else phi_start.dtype
    lo_problem = Problem(
        design=dsg._replace(x=dsg.x.astype(low), cost=dsg.cost.astype(low)),
        weight=problem.weight.astype(low),
        index=index,
        fixed=problem.fixed.astype(low),
        scale=scale.astype(low),
    )
    loose = jnp.maximum(tol, _CROSSOVER_TOL).astype(low)
    z0_lo = z0.astype(low)
    rough = interior_point(
        phi_start.astype(low), z0_lo, jnp.asarray(0), lo_problem, loose, max_iter
    )
    usable = jnp.all(jnp.isfinite(rough.phi) & (rough.phi > 0) & jnp.isfinite(rough.z))
    state = SolverState(
        phi=jnp.where(usable, rough.phi.astype(phi_start.dtype), phi_start),
        z=jnp.where(usable, rough.z.astype(phi_start.dtype), z0),
        grad_f=rough.grad_f.astype(phi_start.dtype),
        iterations=rough.iterations,
    )
    ev = polish(snap_to_boundary(state, problem), problem, tol)

    def resume_ip(_: None) -> tuple[Evaluation, Array]:
        # a wrong active set: the interior point (input precision) to tol, then polish again
        st = interior_point(state.phi, state.z, state.iterations, problem, tol, max_iter)
        return polish(snap_to_boundary(st, problem), problem, tol), st.iterations

    iterations = state.iterations
    if resume:
        ev, iterations = jax.lax.cond(
            kkt_residual(ev, scale) > tol, resume_ip, lambda _: (ev, state.iterations), None
        )
    ok = (kkt_residual(ev, scale) <= tol) & (iterations < max_iter)
    return ev, iterations, ok
