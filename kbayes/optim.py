"""The one L-BFGS loop of kbayes: ``optax.lbfgs`` inside a ``jax.lax.while_loop``.

Every smooth fit that is not a Newton method (the Hawkes L-BFGS path, the pooled Hawkes
L-BFGS path, the calibration maps) minimises its objective by :func:`lbfgs_minimize`, to be
called inside a jitted function. Each step evaluates the value and gradient (reusing the
ones the zoom line search stored in the optimiser state, ``optax.value_and_grad_from_state``),
asks ``optax.lbfgs`` for the update (two-loop recursion, Nocedal & Wright 2006, algorithm 7.4;
zoom line search under the strong Wolfe conditions, algorithm 3.5) and applies it. The loop
runs at least one step and stops when

* the Euclidean norm of the gradient at the accepted point is below ``tol``,
* ``max_iter`` steps are done,
* the objective is not finite, or
* (with ``stall_rtol``) after the second step the objective changed by at most
  ``stall_rtol * max(1, |f|)`` in one step: the line search cannot make progress at the
  float resolution of ``f``, so more steps would only spin.

The value and gradient returned are those the line search stored at the returned point, so
no extra evaluation is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
import optax.tree_utils as otu
from jax import Array
from jaxtyping import Float, Int


class LbfgsResult(NamedTuple):
    """End of an L-BFGS run.

    Attributes:
        params: the last accepted parameters (the pytree structure of the start).
        value: the objective there.
        grad_norm: Euclidean norm of the gradient there.
        iterations: steps taken.
    """

    params: Any
    value: Float[Array, ""]
    grad_norm: Float[Array, ""]
    iterations: Int[Array, ""]


def lbfgs_minimize(
    fun: Callable[[Any], Array],
    params0: Any,
    max_iter: Int[Array, ""] | int,
    tol: Float[Array, ""] | float,
    stall_rtol: float | None = None,
) -> LbfgsResult:
    """Minimise ``fun`` from ``params0`` by L-BFGS (see the module docstring for the stops).

    Args:
        fun: scalar objective of a pytree of floats (traced: call this inside ``jax.jit``).
        params0: the start.
        max_iter: step cap.
        tol: gradient-norm tolerance.
        stall_rtol: relative change of the objective in one step below which the run stops
            (None: no such stop).
    """
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fun)

    def advance(params: Any, state: Any) -> tuple[Any, Any, Array]:
        value, grad = value_and_grad(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(params, updates), state, value

    def running(state: Any) -> Array:
        count = otu.tree_get(state, "count")
        gnorm = otu.tree_norm(otu.tree_get(state, "grad"))
        finite = jnp.isfinite(otu.tree_get(state, "value"))
        return (count < max_iter) & (gnorm >= tol) & finite

    def first(state: Any) -> Array:
        return otu.tree_get(state, "count") == 0

    if stall_rtol is None:

        def step(carry: tuple[Any, Any]) -> tuple[Any, Any]:
            params, state, _ = advance(*carry)
            return params, state

        def cond(carry: tuple[Any, Any]) -> Array:
            _, state = carry
            return first(state) | running(state)

        params, state = jax.lax.while_loop(cond, step, (params0, opt.init(params0)))
    else:

        def step_s(carry: tuple[Any, Any, Array]) -> tuple[Any, Any, Array]:
            return advance(carry[0], carry[1])

        def cond_s(carry: tuple[Any, Any, Array]) -> Array:
            _, state, prev = carry
            count = otu.tree_get(state, "count")
            value = otu.tree_get(state, "value")
            change = jnp.abs(prev - value)
            stalled = (count > 1) & (change <= stall_rtol * jnp.maximum(1.0, jnp.abs(value)))
            return first(state) | (running(state) & ~stalled)

        prev0 = jnp.asarray(jnp.inf, jax.eval_shape(fun, params0).dtype)
        params, state, _ = jax.lax.while_loop(cond_s, step_s, (params0, opt.init(params0), prev0))
    value, grad = otu.tree_get(state, "value"), otu.tree_get(state, "grad")
    return LbfgsResult(params, value, otu.tree_norm(grad), otu.tree_get(state, "count"))
