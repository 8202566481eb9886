"""Entry points of the Newton Hawkes fit: given decays, or a shared decay by profiling.

For fixed decays the log-likelihood is concave in ``(mu, alpha)``
(:mod:`kbayes.pointprocess.concave`): :func:`fit_given_decay` solves that one program
(:mod:`kbayes.pointprocess.interior_point`), :func:`fit_shared_decay` finds a shared decay on
the profile likelihood (:mod:`kbayes.pointprocess.profile`). Both take a
:class:`~kbayes.pointprocess.concave.NewtonProblem` (one or more windows: the single-window fit
is the one-window case) and :class:`~kbayes.pointprocess.interior_point.Limits`, and return a
:class:`NewtonFit` with the closed-form observed information. :func:`newton_problem` builds
the problem and the start from the free-parameter layout shared with the L-BFGS path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.concave import (
    NewtonProblem,
    Problem,
    at_decay,
    information,
    projected_gradient,
)
from kbayes.pointprocess.interior_point import Limits, solve_at
from kbayes.pointprocess.layout import RowData
from kbayes.pointprocess.profile import LOG_STEP_TOL, profile_decay, profile_derivatives


class NewtonFit(NamedTuple):
    """Result of :func:`fit_given_decay` or :func:`fit_shared_decay`.

    Attributes:
        phi: free ``(mu, alpha)`` parameters (boundary values exactly 0).
        log_beta: the fitted shared ``log beta`` (``log beta[0, 0]`` when the decay is given).
        log_likelihood: at the optimum.
        grad_norm: norm of the projected gradient of ``-l / N`` in ``phi`` (and ``beta``
            when fitted): components at ``phi_p = 0`` count only where they point inside.
        iterations: Newton steps in total (all inner solves).
        profile_steps: decays visited by the profile search (1 when given).
        converged: every stopping rule was met before its cap.
        hessian: observed information (Hessian of ``-l``) in ``(phi, beta)`` (``beta`` only
            when fitted, last).
    """

    phi: Float[Array, " P"]
    log_beta: Float[Array, ""]
    log_likelihood: Float[Array, ""]
    grad_norm: Float[Array, ""]
    iterations: Int[Array, ""]
    profile_steps: Int[Array, ""]
    converged: Array
    hessian: Float[Array, "Q Q"]


@partial(jax.jit, static_argnames=("with_hessian", "resume"))
def _fit_given_decay(
    phi0: Float[Array, " P"],
    beta: Float[Array, "R D"],
    problem: NewtonProblem,
    limits: Limits,
    with_hessian: bool = True,
    resume: bool = False,
) -> NewtonFit:
    """Maximum likelihood of ``(mu, alpha)`` at given decays (one concave program).

    The interior point runs in float32 (see :func:`solve_at`); ``resume=True`` compiles the
    float64 resume in, which :func:`fit_given_decay` does only after a solve without it fails.
    """
    at_beta = at_decay(problem, beta)
    gap0 = jnp.asarray(1.0, phi0.dtype)
    ev, iters, ok = solve_at(phi0, at_beta, limits, gap0, True, resume)
    scale = problem.scale
    p = phi0.shape[0]
    hessian = (
        information(ev.phi, ev.inv, at_beta)
        if with_hessian
        else jnp.full((p, p), jnp.nan, phi0.dtype)
    )
    return NewtonFit(
        phi=ev.phi,
        log_beta=jnp.log(beta[0, 0]),
        log_likelihood=ev.value,
        grad_norm=jnp.linalg.norm(projected_gradient(-ev.grad / scale, ev.phi)),
        iterations=iters,
        profile_steps=jnp.asarray(1),
        converged=ok,
        hessian=hessian,
    )


@partial(jax.jit, static_argnames=("with_hessian",))
def fit_shared_decay(
    phi0: Float[Array, " P"],
    s0: Float[Array, ""],
    problem: NewtonProblem,
    limits: Limits,
    with_hessian: bool = True,
) -> NewtonFit:
    """Maximum likelihood of ``(mu, alpha)`` and a shared decay (profile search).

    The inner solves keep the interior point in the input precision with the resume in the
    program: warm-started solves need the resume about one time in ten.
    """
    weight = problem.rows.weight.astype(phi0.dtype)
    st, dsg = profile_decay(s0, phi0, problem, limits)
    scale, tol = problem.scale, limits.tol
    outer_ok = (jnp.abs(st.step) <= LOG_STEP_TOL) | (jnp.abs(st.slope) <= tol)
    ev = st.inner
    at_s = Problem(dsg, weight, problem.index, problem.fixed, scale)
    l_s, l_ss, l_phi_s, _ = profile_derivatives(ev, at_s)
    beta = jnp.exp(st.s)
    p = phi0.shape[0]
    if with_hessian:
        # Hessian of -l in (phi, beta) from the derivatives in s = log beta
        h_pp = information(ev.phi, ev.inv, at_s)
        h_pb = -l_phi_s / beta
        h_bb = -(l_ss - l_s) / beta**2
        hessian = jnp.block([[h_pp, h_pb[:, None]], [h_pb[None, :], h_bb[None, None]]])
    else:
        hessian = jnp.full((p + 1, p + 1), jnp.nan, phi0.dtype)
    grad_phi = projected_gradient(-ev.grad / scale, ev.phi)
    grad_all = jnp.concatenate([grad_phi, (-l_s / (scale * beta))[None]])
    return NewtonFit(
        phi=ev.phi,
        log_beta=st.s,
        log_likelihood=ev.value,
        grad_norm=jnp.linalg.norm(grad_all),
        iterations=st.iterations,
        profile_steps=st.outer,
        converged=st.inner_ok & outer_ok & (st.outer < limits.max_outer),
        hessian=hessian,
    )


def _with_resume(solver: Callable[..., NewtonFit]) -> Callable[..., NewtonFit]:
    """The solver without the rarely needed interior-point resume, rerun with it when the
    first solve does not converge: the common program compiles faster."""

    def run(*args: Any, with_hessian: bool = True) -> NewtonFit:
        out = solver(*args, with_hessian=with_hessian, resume=False)
        if not bool(out.converged):
            out = solver(*args, with_hessian=with_hessian, resume=True)
        return out

    run.__name__ = solver.__name__.lstrip("_")
    run.__doc__ = solver.__doc__
    return run


fit_given_decay = _with_resume(_fit_given_decay)


def newton_problem(
    rows: RowData,
    mu_index: np.ndarray,
    alpha_index: np.ndarray,
    fixed_mu: np.ndarray,
    fixed_alpha: np.ndarray,
    start_mu: np.ndarray,
    start_alpha: np.ndarray,
    dtype: Any,
) -> tuple[NewtonProblem, np.ndarray]:
    """The problem in ``theta = [mu, alpha]`` and the start ``[phi_mu, phi_alpha]``.

    ``alpha``'s free labels follow ``mu``'s (``theta``'s free vector is ``[phi_mu,
    phi_alpha]``); ``scale`` is the number of events of all windows.
    """
    pm = len(start_mu)
    alpha_index = np.asarray(alpha_index)
    theta_index = np.concatenate(
        [np.asarray(mu_index), np.where(alpha_index >= 0, alpha_index + pm, -1)], axis=1
    ).astype(np.int32)
    theta_fixed = np.concatenate([np.asarray(fixed_mu), np.asarray(fixed_alpha)], axis=1)
    start = np.concatenate([start_mu, start_alpha]).astype(dtype)
    scale = np.asarray(float(np.sum(rows.counts)), dtype)
    problem = NewtonProblem(rows, theta_index, theta_fixed.astype(dtype), scale)
    return problem, start
