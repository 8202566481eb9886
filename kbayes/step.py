"""The step contract of everything stateful, replay as a ``lax.scan`` of it, and the live step.

Every stateful numeric piece of kbayes (a filter, an online intensity, a feature) is a pair of
pure functions with its model and parameters bound by a builder (DESIGN.md section 2):

    algorithm = builder(params, ...)                       # -> StepAlgorithm(init, update)
    state = algorithm.init(key)                            # the state before the first event
    state, info = algorithm.update(state, obs, key)        # one event

States and infos are NamedTuples of arrays (pytrees); parameters live in the closure, not in
the state, so the state is exactly what must be carried from one event to the next. The live
runner calls ``update`` one event at a time; replay and fitting call :func:`scan_algorithm`,
which ``lax.scan``\\ s the *same* ``update``; batches ``vmap`` either. Keys are explicit:
:func:`scan_algorithm` splits ``key`` into ``init_key, steps_key`` and ``steps_key`` into one
key per step (:func:`split_keys`), so a step-by-step loop with the same keys reproduces it
bit for bit. Deterministic algorithms accept ``key=None``.

For live use, :func:`pack_algorithm` compiles a deterministic ``update`` ahead of time on one
flat *carry* vector,

    carry = [ravel(state), outputs(state, info)]

called as ``carry = packed.update(carry, packed.pack_obs(obs))``. The step contract is the
right interface for ``scan``/``vmap``, but called once per market event a ``jax.jit`` of the
pytree ``update`` pays JAX's dispatch cost per leaf: every input and output array is a
separate buffer to check, look up and hand over (about 2–3 µs each on a 2-core CPU, against
about 10 µs for the call itself). The packed step takes two buffers and returns one, whatever
the state and observation pytrees look like, and is compiled once
(``jax.jit(...).lower(...).compile()``: no tracing or cache lookup per call). The outputs
(e.g. a bracket PMF and the step's log-likelihood) ride at the end of the carry, so one host
read returns everything; the next call ignores them.

On CPU, also create the JAX client with ``jax.config.update("jax_cpu_enable_async_dispatch",
False)`` before the first computation: a small step then runs inline in the calling thread
instead of being handed to a worker thread and waited for (halves the latency of the
bracket UKF step on a 2-core CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PRNGKeyArray

State = TypeVar("State")
Info = TypeVar("Info")
State_co = TypeVar("State_co", covariant=True)


class InitFn(Protocol[State_co]):
    """``init(key) -> state``: the state before the first event (parameters bound)."""

    def __call__(self, key: PRNGKeyArray | None, /) -> State_co: ...


class UpdateFn(Protocol[State, Info]):
    """``update(state, obs, key) -> (state, info)``: one event (parameters bound)."""

    def __call__(
        self, state: State, obs: Any, key: PRNGKeyArray | None, /
    ) -> tuple[State, Info]: ...


class StepAlgorithm(NamedTuple, Generic[State, Info]):
    """A stateful algorithm as two pure functions with its model and parameters bound.

    Attributes:
        init: ``init(key) -> state``, the state before the first event.
        update: ``update(state, obs, key) -> (state, info)``, one event (for a filter, one
            predict + update).
    """

    init: InitFn[State]
    update: UpdateFn[State, Info]


def split_keys(
    key: PRNGKeyArray | None, num_steps: int
) -> tuple[PRNGKeyArray | None, PRNGKeyArray | None]:
    """The init key and the ``(T,)`` step keys that :func:`scan_algorithm` uses."""
    if key is None:
        return None, None
    init_key, steps_key = jax.random.split(key)
    return init_key, jax.random.split(steps_key, num_steps)


def scan_algorithm(
    algorithm: StepAlgorithm[State, Info], observations: Any, key: PRNGKeyArray | None = None
) -> tuple[State, Info]:
    """Run ``algorithm`` over ``observations`` (a pytree with a leading time axis).

    Equal, bit for bit, to ``state = init(k0); for t: state, info_t = update(state, obs_t,
    k_t)`` with ``k0, k = split_keys(key, T)`` (tested).

    Args:
        algorithm: the bound ``init``/``update`` pair.
        observations: per-step inputs stacked along axis 0 (``None`` fields are allowed).
        key: PRNG key (``None`` for deterministic algorithms).

    Returns:
        The final state and the per-step infos stacked along axis 0.
    """
    leaves = jax.tree_util.tree_leaves(observations)
    if not leaves:
        raise ValueError("observations has no array leaves")
    num_steps = leaves[0].shape[0]
    init_key, step_keys = split_keys(key, num_steps)
    state = algorithm.init(init_key)

    def body(carry: State, step: tuple[Any, PRNGKeyArray | None]) -> tuple[State, Info]:
        obs, step_key = step
        return algorithm.update(carry, obs, step_key)

    return lax.scan(body, state, (observations, step_keys))


OutputFn = Callable[[Any, Any], Float[Array, " O"]]
"""``outputs(state, info) -> flat vector`` appended to the carry after each step."""


class PackedAlgorithm(NamedTuple):
    """A compiled, flat-array version of a deterministic algorithm's ``update``.

    Attributes:
        init: the initial carry ``[ravel(init(None)), outputs]`` (outputs are zeros).
        update: compiled ``update(carry, obs_flat) -> carry``.
        pack_obs: host-side ``obs -> obs_flat`` (NumPy, the compiled dtype).
        unpack_state: ``carry -> state`` (the algorithm's state pytree).
        outputs: ``carry -> outputs`` (the trailing output vector).
        state_size: length of ``ravel(state)`` in the carry.
    """

    init: Float[Array, " C"]
    update: Callable[[Float[Array, " C"], Float[Array, " R"]], Float[Array, " C"]]
    pack_obs: Callable[[Any], Float[np.ndarray, " R"]]
    unpack_state: Callable[[Float[Array, " C"]], Any]
    outputs: Callable[[Float[Array, " C"]], Float[Array, " O"]]
    state_size: int


def pack_algorithm(
    algorithm: StepAlgorithm[Any, Any], example_obs: Any, outputs: OutputFn
) -> PackedAlgorithm:
    """Compile ``algorithm.update`` on flat ``(carry, obs)`` vectors.

    Args:
        algorithm: a deterministic algorithm (``update`` is called with ``key=None``).
        example_obs: one observation (any pytree of arrays), fixing shapes and dtypes; every
            observation passed later must have the same structure and shapes.
        outputs: ``outputs(state, info) -> vector`` stored after the state in the carry.

    Returns:
        The :class:`PackedAlgorithm`.
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

    return PackedAlgorithm(
        init=init,
        update=compiled,
        pack_obs=pack_obs,
        unpack_state=lambda carry: unravel_state(carry[:n_state]),
        outputs=lambda carry: carry[n_state:],
        state_size=n_state,
    )
