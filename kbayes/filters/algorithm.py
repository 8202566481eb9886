"""The step contract of a filter, and running it over a sequence with ``lax.scan``.

A filter is a pair of pure functions (DESIGN.md section 2):

    init(key) -> state
    update(state, observation, key) -> (state, info)

The live runner calls ``update`` one event at a time; replay and parameter fitting call
:func:`scan_filter`, which scans the *same* ``update``; batches ``vmap`` either. Keys are
explicit: :func:`scan_filter` splits ``key`` into ``init_key, steps_key`` and
``steps_key`` into one key per step, so a step-by-step loop with the same keys reproduces it
exactly. Deterministic filters accept ``key=None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

import jax
from jax import lax
from jaxtyping import PRNGKeyArray

State = TypeVar("State")
Info = TypeVar("Info")


class FilterAlgorithm(NamedTuple, Generic[State, Info]):
    """A filter as two pure functions with its model and parameters bound.

    Attributes:
        init: ``init(key) -> state``, the belief before the first step.
        update: ``update(state, observation, key) -> (state, info)``, one predict + update.
    """

    init: Callable[[PRNGKeyArray | None], State]
    update: Callable[[State, Any, PRNGKeyArray | None], tuple[State, Info]]


def split_keys(
    key: PRNGKeyArray | None, num_steps: int
) -> tuple[PRNGKeyArray | None, PRNGKeyArray | None]:
    """The init key and the ``(T,)`` step keys that :func:`scan_filter` uses."""
    if key is None:
        return None, None
    init_key, steps_key = jax.random.split(key)
    return init_key, jax.random.split(steps_key, num_steps)


def scan_filter(
    algorithm: FilterAlgorithm[State, Info], observations: Any, key: PRNGKeyArray | None = None
) -> tuple[State, Info]:
    """Run ``algorithm`` over ``observations`` (a pytree with a leading time axis).

    Args:
        algorithm: the bound ``init``/``update`` pair.
        observations: per-step inputs stacked along axis 0 (``None`` fields are allowed).
        key: PRNG key (``None`` for deterministic filters).

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
