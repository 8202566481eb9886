"""A deterministic filter step packed into one array in, one array out, compiled ahead of time.

The step contract ``update(state, obs, key) -> (state, info)`` is the right interface for
``scan``/``vmap``, but called once per market event it pays JAX's dispatch cost per pytree
leaf: every input and output array is a separate buffer to check, look up and hand over
(about 2–3 µs each on a 2-core CPU, against about 10 µs for the call itself). The live
runner instead keeps one flat *carry* vector

    carry = [ravel(state), outputs(state, info)]

and calls a function compiled once (``jax.jit(...).lower(...).compile()``, no tracing or
cache lookup per call) on ``(carry, ravel(obs))``: two buffers in, one out, whatever the
state and observation pytrees look like. The outputs (e.g. the bracket PMF and the step's
log-likelihood) ride at the end of the carry, so one host read returns everything; the
next call ignores them. Deterministic filters only (the key is ``None``).

On CPU, also create the JAX client with ``jax.config.update("jax_cpu_enable_async_dispatch",
False)`` before the first computation: a small step then runs inline in the calling thread
instead of being handed to a worker thread and waited for (halves the latency of the
bracket UKF step on a 2-core CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float

from kbayes.filters.algorithm import FilterAlgorithm

OutputFn = Callable[[Any, Any], Float[Array, " O"]]
"""``outputs(state, info) -> flat vector`` appended to the carry after each step."""


class PackedFilter(NamedTuple):
    """A compiled, flat-array version of a filter's ``update``.

    Attributes:
        init: the initial carry ``[ravel(init(None)), outputs]`` (outputs are zeros).
        update: compiled ``update(carry, obs_flat) -> carry``.
        pack_obs: host-side ``obs -> obs_flat`` (NumPy, the compiled dtype).
        unpack_state: ``carry -> state`` (the filter's state pytree).
        outputs: ``carry -> outputs`` (the trailing output vector).
        state_size: length of ``ravel(state)`` in the carry.
    """

    init: Float[Array, " C"]
    update: Callable[[Float[Array, " C"], Float[Array, " R"]], Float[Array, " C"]]
    pack_obs: Callable[[Any], Float[np.ndarray, " R"]]
    unpack_state: Callable[[Float[Array, " C"]], Any]
    outputs: Callable[[Float[Array, " C"]], Float[Array, " O"]]
    state_size: int


def pack_filter(
    algorithm: FilterAlgorithm[Any, Any], example_obs: Any, outputs: OutputFn
) -> PackedFilter:
    """Compile ``algorithm.update`` on flat ``(carry, obs)`` vectors.

    Args:
        algorithm: a deterministic filter (``update`` is called with ``key=None``).
        example_obs: one observation (any pytree of arrays), fixing shapes and dtypes; every
            observation passed later must have the same structure and shapes.
        outputs: ``outputs(state, info) -> vector`` stored after the state in the carry.

    Returns:
        The :class:`PackedFilter`.
    """
    state0 = algorithm.init(None)
    flat_state, unravel_state = ravel_pytree(state0)
    obs_flat, unravel_obs = ravel_pytree(example_obs)
    n_state = int(flat_state.shape[0])
    _, info0 = jax.eval_shape(lambda s, o: algorithm.update(s, o, None), state0, example_obs)
    out_shape = jax.eval_shape(outputs, state0, info0)
    init = jnp.concatenate([flat_state, jnp.zeros(out_shape.shape, flat_state.dtype)])

    def update(carry: Float[Array, " C"], obs: Float[Array, " R"]) -> Float[Array, " C"]:
        state, info = algorithm.update(unravel_state(carry[:n_state]), unravel_obs(obs), None)
        new_flat, _ = ravel_pytree(state)
        return jnp.concatenate([new_flat, outputs(state, info).astype(new_flat.dtype)])

    compiled = jax.jit(update).lower(init, obs_flat).compile()
    num_leaves = len(jax.tree_util.tree_leaves(example_obs))
    obs_dtype = np.dtype(obs_flat.dtype)

    def pack_obs(obs: Any) -> Float[np.ndarray, " R"]:
        # Same leaf order as ravel_pytree (tree_flatten order), on the host: no dispatch.
        parts = jax.tree_util.tree_leaves(obs)
        if len(parts) != num_leaves:
            raise ValueError(f"observation has {len(parts)} leaves, expected {num_leaves}")
        return np.concatenate([np.ravel(np.asarray(p, dtype=obs_dtype)) for p in parts])

    return PackedFilter(
        init=init,
        update=compiled,
        pack_obs=pack_obs,
        unpack_state=lambda carry: unravel_state(carry[:n_state]),
        outputs=lambda carry: carry[n_state:],
        state_size=n_state,
    )
