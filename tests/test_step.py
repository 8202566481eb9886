"""The step contract: replay (``scan_algorithm``) is bit for bit a Python loop of ``update``,
and the packed live step is bit for bit ``update``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import Array, Float, PRNGKeyArray

from kbayes.filters import LinearGaussianParams, LinearGaussianStep, kalman
from kbayes.step import StepAlgorithm, pack_algorithm, scan_algorithm, split_keys


@pytest.fixture(autouse=True, scope="module")
def _enable_x64() -> Iterator[None]:
    # float64, so that a step that silently loses precision (e.g. through float32) shows.
    with jax.enable_x64(True):
        yield


class Obs(NamedTuple):
    y: Float[Array, " D"]
    dt: Float[Array, ""]


class SmootherState(NamedTuple):
    level: Float[Array, " D"]
    total: Float[Array, ""]


class SmootherInfo(NamedTuple):
    residual: Float[Array, " D"]
    level: Float[Array, " D"]


def noisy_smoother(rate: float, noise_sd: float, dim: int = 3) -> StepAlgorithm:
    """Exponential smoothing with a random start and a random kick per step (uses every key)."""

    def init(key: PRNGKeyArray | None) -> SmootherState:
        start = jnp.zeros(dim) if key is None else jax.random.normal(key, (dim,))
        return SmootherState(start, jnp.zeros(()))

    def update(
        state: SmootherState, obs: Obs, key: PRNGKeyArray | None
    ) -> tuple[SmootherState, SmootherInfo]:
        weight = 1.0 - jnp.exp(-rate * obs.dt)
        residual = obs.y - state.level
        kick = 0.0 if key is None else noise_sd * jax.random.normal(key, (dim,))
        level = state.level + weight * residual + kick
        total = state.total + jnp.sum(residual**2) * jnp.log1p(obs.dt)
        return SmootherState(level, total), SmootherInfo(residual, level)

    return StepAlgorithm(init, update)


def observations(num_steps: int = 25, dim: int = 3, seed: int = 0) -> Obs:
    rng = np.random.default_rng(seed)
    return Obs(
        y=jnp.asarray(rng.normal(size=(num_steps, dim))),
        dt=jnp.asarray(rng.exponential(size=num_steps)),
    )


def loop(
    algorithm: StepAlgorithm, obs: Obs, key: PRNGKeyArray | None
) -> tuple[object, list[object]]:
    """What the live runner does: ``init`` then ``update`` one event at a time."""
    num_steps = jax.tree_util.tree_leaves(obs)[0].shape[0]
    init_key, step_keys = split_keys(key, num_steps)
    state = algorithm.init(init_key)
    update = jax.jit(algorithm.update)
    infos = []
    for t in range(num_steps):
        obs_t = jax.tree_util.tree_map(lambda x, t=t: x[t], obs)
        state, info = update(state, obs_t, None if step_keys is None else step_keys[t])
        infos.append(info)
    return state, infos


def assert_identical(a: object, b: object) -> None:
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def stack(infos: list[object]) -> object:
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *infos)


@pytest.mark.parametrize("key", [None, jax.random.key(7)], ids=["deterministic", "keyed"])
def test_scan_is_a_loop_of_update_bit_for_bit(key: PRNGKeyArray | None) -> None:
    algorithm = noisy_smoother(rate=0.8, noise_sd=0.3)
    obs = observations()
    final, infos = scan_algorithm(algorithm, obs, key)
    final_loop, infos_loop = loop(algorithm, obs, key)
    assert isinstance(final, SmootherState) and isinstance(infos, SmootherInfo)
    assert infos.level.shape == (25, 3) and infos.level.dtype == jnp.float64
    assert_identical(final, final_loop)
    assert_identical(infos, stack(infos_loop))


def test_keys_reach_init_and_every_step() -> None:
    algorithm = noisy_smoother(rate=0.8, noise_sd=0.3)
    obs = observations()
    _, a = scan_algorithm(algorithm, obs, jax.random.key(1))
    _, b = scan_algorithm(algorithm, obs, jax.random.key(2))
    _, none = scan_algorithm(algorithm, obs, None)
    assert np.all(np.asarray(a.level) != np.asarray(b.level))
    assert np.all(np.asarray(a.level) != np.asarray(none.level))
    init_key, step_keys = split_keys(jax.random.key(1), 25)
    assert step_keys.shape == (25,)
    assert not bool(jnp.all(jax.random.key_data(step_keys[0]) == jax.random.key_data(init_key)))
    assert split_keys(None, 25) == (None, None)


def test_scan_of_the_exact_kalman_filter_is_its_loop() -> None:
    rng = np.random.default_rng(3)
    params = LinearGaussianParams(
        initial_mean=jnp.zeros(2),
        initial_cov=jnp.eye(2),
        transition_matrix=jnp.asarray([[0.9, 0.1], [0.0, 0.95]]),
        process_cov=jnp.eye(2) * 0.1,
        obs_matrix=jnp.asarray([[1.0, 0.0], [1.0, 1.0]]),
        obs_cov=jnp.eye(2) * 0.2,
    )
    y = rng.normal(size=(30, 2))
    y[5] = np.nan
    y[9, 1] = np.nan
    obs = LinearGaussianStep(jnp.asarray(y), dt=jnp.asarray(rng.exponential(size=30)))
    algorithm = kalman(params)
    final, infos = scan_algorithm(algorithm, obs)
    final_loop, infos_loop = loop(algorithm, obs, None)
    assert_identical(final, final_loop)
    assert_identical(infos, stack(infos_loop))


def test_packed_live_step_is_update_bit_for_bit() -> None:
    algorithm = noisy_smoother(rate=0.8, noise_sd=0.3)
    obs = observations()

    def outputs(state: SmootherState, info: SmootherInfo) -> Float[Array, " O"]:
        return jnp.concatenate([info.residual, jnp.reshape(state.total, (1,))])

    example = jax.tree_util.tree_map(lambda x: np.asarray(x[0]), obs)
    live = pack_algorithm(algorithm, example, outputs)
    assert live.state_size == 4 and live.init.shape == (8,)
    np.testing.assert_array_equal(np.asarray(live.unpack_state(live.init).level), np.zeros(3))
    state = algorithm.init(None)
    update = jax.jit(algorithm.update)
    carry = live.init
    for t in range(obs.y.shape[0]):
        obs_t = jax.tree_util.tree_map(lambda x, t=t: np.asarray(x[t]), obs)
        carry = live.update(carry, live.pack_obs(obs_t))
        state, info = update(state, obs_t, None)
        assert_identical(live.unpack_state(carry), state)
        assert_identical(live.outputs(carry), outputs(state, info))


def test_bad_inputs_are_named() -> None:
    algorithm = noisy_smoother(rate=0.8, noise_sd=0.3)
    with pytest.raises(ValueError, match="no array leaves"):
        scan_algorithm(algorithm, Obs(None, None))
    example = jax.tree_util.tree_map(lambda x: np.asarray(x[0]), observations())
    live = pack_algorithm(algorithm, example, lambda s, i: i.residual)
    with pytest.raises(ValueError, match="observation has 1 leaves, expected 2"):
        live.pack_obs((np.zeros(3),))
