"""Float64 L-BFGS minimisation of a weighted-mean calibration loss (optax, jitted loop).

Every parametric map in :mod:`kbayes.calibration` is fitted by :func:`minimize_lbfgs`: the
objective is ``loss(params, w, *data, *consts)``, a weighted mean over rows (plus any penalty),
minimised by ``optax.lbfgs`` (zoom line search) in one ``jax.lax.while_loop`` under ``jax.jit``
(:func:`kbayes.optim.lbfgs_minimize`, the L-BFGS loop every kbayes fit shares). The loop
stops when the Euclidean norm of the gradient falls below ``tol`` or after ``max_iter`` steps.
All of it runs with 64-bit floats enabled *locally* (``jax.enable_x64``), so the rest of
the process keeps jax's default float32.

To avoid recompiling for every training-set size (cross-validation folds differ by a few rows),
the rows are padded to the next power of two (at least 4096) by repeating the first row with
weight 0; a zero-weight row changes neither the weighted mean nor its gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kbayes.optim import lbfgs_minimize
from kbayes.shapes import bucket_length

MIN_BUCKET = 4096  # rows padded to the next power of two, at least this (kbayes.shapes)


class FitInfo(NamedTuple):
    """Diagnostics of one fit.

    Attributes:
        loss: final objective (weighted mean log loss, plus the penalty where there is one).
        iterations: L-BFGS steps taken.
        converged: the gradient norm fell below ``tol`` with a finite objective.
        grad_norm: Euclidean norm of the gradient at the returned parameters.
    """

    loss: float
    iterations: int
    converged: bool
    grad_norm: float


def _pad(x: np.ndarray, size: int) -> np.ndarray:
    extra = size - x.shape[0]
    return np.concatenate([x, np.repeat(x[:1], extra, axis=0)]) if extra else x


@partial(jax.jit, static_argnames=("loss", "max_iter"))
def _run(
    loss: Callable[..., jax.Array],
    params0: Any,
    w: jax.Array,
    data: tuple[jax.Array, ...],
    consts: tuple[jax.Array, ...],
    max_iter: int,
    tol: jax.Array,
) -> tuple[Any, jax.Array, jax.Array, jax.Array]:
    out = lbfgs_minimize(lambda p: loss(p, w, *data, *consts), params0, max_iter, tol)
    return out.params, out.value, out.iterations, out.grad_norm


def minimize_lbfgs(
    loss: Callable[..., jax.Array],
    params0: Any,
    weights: np.ndarray,
    data: tuple[np.ndarray, ...],
    *,
    consts: tuple[float, ...] = (),
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[Any, FitInfo]:
    """Minimise ``loss(params, w, *data, *consts)`` over ``params`` by L-BFGS in float64.

    Args:
        loss: a module-level (hashable) jax function returning a scalar; it must treat ``w`` as
            row weights and be a weighted *mean* so that padding rows (``w = 0``) are inert.
        params0: initial parameters, any pytree of floats.
        weights: ``(N,)`` non-negative row weights.
        data: arrays with ``N`` rows each, passed after ``w``.
        consts: scalars passed last (traced, so new values do not recompile), e.g. penalties.
        max_iter: maximum number of L-BFGS steps.
        tol: stop when the gradient's Euclidean norm is below this.

    Returns:
        ``(params, info)`` with ``params`` as numpy float64 arrays in the structure of
        ``params0`` and :class:`FitInfo` diagnostics.
    """
    size = bucket_length(len(weights), MIN_BUCKET)
    w = _pad(np.asarray(weights, dtype=np.float64), size)
    w[len(weights) :] = 0.0
    padded = tuple(_pad(np.asarray(d), size) for d in data)
    with jax.enable_x64(True):
        p0 = jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.float64), params0)
        params, value, count, gnorm = _run(
            loss,
            p0,
            jnp.asarray(w),
            tuple(jnp.asarray(d) for d in padded),
            tuple(jnp.asarray(c, dtype=jnp.float64) for c in consts),
            max_iter,
            jnp.asarray(tol, dtype=jnp.float64),
        )
        params = jax.tree.map(lambda x: np.asarray(x, dtype=np.float64), params)
        value, gnorm = float(value), float(gnorm)
    info = FitInfo(
        loss=value,
        iterations=int(count),
        converged=bool(np.isfinite(value) and gnorm < tol),
        grad_norm=gnorm,
    )
    return params, info


def weighted_mean(w: jax.Array, x: jax.Array) -> jax.Array:
    """``sum(w * x) / sum(w)``: the reduction every calibration loss uses."""
    return jnp.sum(w * x) / jnp.sum(w)
