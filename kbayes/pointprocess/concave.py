"""The concave Hawkes problem at given decays: objective, gradient and observed information.

For fixed decays ``beta`` the log-likelihood (Ogata 1978) is a sum over excited dimensions
``i`` of concave functions of ``theta_i = [mu_i1..mu_iB, alpha_i1..alpha_iD]``:

    l(theta) = sum_i [ sum_{n: m_n = i} log(x_n . theta_i) - c_i . theta_i ],

with the features ``x_n`` and compensator coefficients ``c_i`` of
:mod:`kbayes.pointprocess.design`. Free parameters ``phi`` (structural zeros and tied labels,
as in :class:`~kbayes.pointprocess.mle.FreeIndex`) enter linearly, ``theta = M phi``, so the
fit of ``phi >= 0`` is a smooth convex program in ``f = -l / N``, solved by
:mod:`kbayes.pointprocess.interior_point`. Its gradient is ``M' (sum_n x_n / lambda_n - c)``
and its observed information ``M' blockdiag_i(sum_n x_n x_n' / lambda_n^2) M``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.design import Design, design
from kbayes.pointprocess.layout import RowData


class Problem(NamedTuple):
    """The concave program at one decay.

    Attributes:
        design: features and compensator coefficients.
        weight: ``(G, C)`` event weights of the chunk slots (0 on padding).
        index: ``(D, K)`` free-parameter index of ``theta`` (``-1``: fixed).
        fixed: ``(D, K)`` values of the fixed entries.
        scale: ``N``; the solvers work on ``f = -l / N``.
    """

    design: Design
    weight: Float[Array, "G C"]
    index: Int[Array, "D K"]
    fixed: Float[Array, "D K"]
    scale: Float[Array, ""]


class NewtonProblem(NamedTuple):
    """The Hawkes fit before its decay is chosen: the windows' events and the parameter map.

    Attributes:
        rows: the arranged events of one or more windows (:func:`~kbayes.pointprocess.
            layout.row_data`).
        index: ``(D, K)`` free-parameter index of ``theta = [mu, alpha]`` (``-1``: fixed).
        fixed: ``(D, K)`` values of the fixed entries.
        scale: ``N``, the number of events.
        day_scale: ``(E, D, B)`` known factors on each window's baseline (None: all 1).
    """

    rows: RowData
    index: Int[Array, "D K"]
    fixed: Float[Array, "D K"]
    scale: Float[Array, ""]
    day_scale: Float[Array, "E D B"] | None = None


def at_decay(problem: NewtonProblem, beta: Float[Array, "R D"], order: int = 0) -> Problem:
    """The concave program at decays ``beta`` (see :func:`~kbayes.pointprocess.design.design`
    for ``beta`` and ``order``)."""
    rows = problem.rows
    return Problem(
        design=design(beta, rows, order=order, day_scale=problem.day_scale),
        weight=rows.weight.astype(beta.dtype),
        index=problem.index,
        fixed=problem.fixed,
        scale=problem.scale,
    )


class Evaluation(NamedTuple):
    """Log-likelihood, its gradient in ``phi`` and ``w / lambda`` at ``phi`` (unscaled)."""

    phi: Float[Array, " P"]
    value: Float[Array, ""]
    grad: Float[Array, " P"]
    inv: Float[Array, "G C"]


def full_params(
    phi: Float[Array, " P"], index: Int[Array, "D K"], fixed: Float[Array, "D K"]
) -> Float[Array, "D K"]:
    """``theta_ik = phi[index_ik]`` where ``index_ik >= 0``, else the fixed value."""
    safe = jnp.where(index >= 0, index, 0)
    return jnp.where(index >= 0, phi[safe], fixed)


def to_free(per_entry: Float[Array, "D K"], index: Int[Array, "D K"], num_free: int) -> Array:
    """``M' v``: sum the entries of ``theta``-shaped ``v`` into their free parameters."""
    safe = jnp.where(index >= 0, index, num_free)  # fixed entries go to a dropped slot
    return jnp.zeros((num_free + 1,), per_entry.dtype).at[safe].add(per_entry)[:num_free]


def to_free_matrix(
    blocks: Float[Array, "D K K"], index: Int[Array, "D K"], num_free: int
) -> Float[Array, "P P"]:
    """``M' blockdiag(blocks) M`` by a scatter-add (cheaper than contracting one-hot maps)."""
    safe = jnp.where(index >= 0, index, num_free)
    out = jnp.zeros((num_free + 1, num_free + 1), blocks.dtype)
    return out.at[safe[:, :, None], safe[:, None, :]].add(blocks)[:num_free, :num_free]


def log_likelihood_terms(
    theta: Float[Array, "D K"],
    x: Float[Array, "G C K"],
    weight: Float[Array, "G C"],
    row: Int[Array, " G"],
) -> tuple[Float[Array, ""], Float[Array, "G C"], Float[Array, "G C"]]:
    """``sum_n log lambda_n``, the intensities, and ``w / lambda`` (0 on padding)."""
    lam = jnp.einsum("gck,gk->gc", x, theta[row])
    real = weight > 0
    safe = jnp.where(real, lam, 1.0)
    log_term = jnp.where(real, weight * jnp.log(safe), 0.0)
    # a non-positive intensity at an event is outside the domain
    log_sum = jnp.where(jnp.any(real & (lam <= 0)), -jnp.inf, jnp.sum(log_term))
    return log_sum, lam, jnp.where(real, weight / safe, 0.0)


def row_sums(per_chunk: Array, row: Int[Array, " G"], num_rows: int) -> Array:
    """Sum per-chunk terms into their rows."""
    return jax.ops.segment_sum(per_chunk, row, num_segments=num_rows)


def objective(
    phi: Float[Array, " P"], problem: Problem
) -> tuple[Float[Array, ""], Float[Array, " P"], Float[Array, "G C"]]:
    """Log-likelihood, its gradient in ``phi`` and ``w / lambda`` (unscaled)."""
    dsg, index = problem.design, problem.index
    theta = full_params(phi, index, problem.fixed)
    log_sum, _, inv = log_likelihood_terms(theta, dsg.x, problem.weight, dsg.row)
    value = log_sum - jnp.sum(dsg.cost * theta)
    g_full = row_sums(jnp.einsum("gc,gck->gk", inv, dsg.x), dsg.row, index.shape[0]) - dsg.cost
    return value, to_free(g_full, index, phi.shape[0]), inv


def evaluate(phi: Float[Array, " P"], problem: Problem) -> Evaluation:
    """:func:`objective` at ``phi``, kept together with ``phi``."""
    return Evaluation(phi, *objective(phi, problem))


def information(
    phi: Float[Array, " P"], inv: Float[Array, "G C"], problem: Problem
) -> Float[Array, "P P"]:
    """Observed information ``-d^2 l / d phi^2 = M' blockdiag(sum w x x' / lambda^2) M``."""
    dsg, weight, index = problem.design, problem.weight, problem.index
    w2 = jnp.where(weight > 0, inv * inv / jnp.where(weight > 0, weight, 1.0), 0.0)
    chunks = jnp.einsum("gck,gc,gcm->gkm", dsg.x, w2, dsg.x)
    return to_free_matrix(row_sums(chunks, dsg.row, index.shape[0]), index, phi.shape[0])


def kkt_residual(ev: Evaluation, scale: Float[Array, ""]) -> Float[Array, ""]:
    """Largest violation of the KKT conditions of ``min -l / N`` s.t. ``phi >= 0``.

    ``|grad f|`` where ``phi > 0``, and the part of ``grad f < 0`` where ``phi = 0``.
    """
    return jnp.max(jnp.abs(projected_gradient(-ev.grad / scale, ev.phi)), initial=0.0)


def projected_gradient(grad_f: Array, phi: Array) -> Array:
    """``grad f`` where ``phi > 0``; at ``phi = 0`` only its components pointing inside."""
    return jnp.where(phi > 0, grad_f, jnp.minimum(grad_f, 0.0))
