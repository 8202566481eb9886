"""The online init/update/intensity reproduces the batch recursion and the brute-force sums."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kbayes.pointprocess import (
    EventSequence,
    HawkesParams,
    compensator_since_last,
    event_intensities,
    hawkes_params,
    hour_of_day_baseline,
    init,
    intensity,
    intensity_at,
    simulate,
    time_rescaled_residuals,
    update,
)
from tests.pointprocess.reference import brute_intensity

_EPS = float(np.finfo(np.float64).eps)
GRID = hour_of_day_baseline((0, 6, 12, 18, 24), start_hour=9.0, seconds_per_unit=60.0)


@pytest.fixture
def params() -> HawkesParams:
    # built inside the test (after float64 is switched on), not at import time
    return hawkes_params(
        [[0.3, 0.5, 0.4, 0.2], [0.2, 0.1, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]],
        [[0.3, 0.1, 0.0], [0.2, 0.25, 0.05], [0.0, 0.1, 0.4]],
        [[1.0, 2.0, 3.0], [0.5, 1.5, 2.5], [4.0, 1.0, 2.0]],
    )


@pytest.fixture
def events(params: HawkesParams) -> EventSequence:
    events = simulate(params, 600.0, np.random.default_rng(4), GRID)  # 10 hours in minutes
    assert 200 < len(events.times) < 2000
    return events


def test_online_updates_equal_batch_intensities_and_residuals(
    params: HawkesParams, events: EventSequence
) -> None:
    batch = event_intensities(params, events, GRID)
    residuals = time_rescaled_residuals(params, events, GRID)
    state = init(params, GRID)
    online, online_res = [], []
    for t, m in zip(events.times, events.marks, strict=True):
        state, info = update(state, t, int(m))
        assert bool(info.in_order)
        online.append(np.asarray(info.intensity))
        online_res.append(float(info.residual))
        # XLA's and numpy's log are each within about one ulp of the exact value, and which
        # way they round differs between CPUs (AVX2 vs AVX-512 code paths): 4 ulp relative
        np.testing.assert_allclose(
            float(info.log_intensity), np.log(online[-1][m]), rtol=4 * _EPS, atol=0.0
        )
    np.testing.assert_allclose(np.array(online), batch, rtol=1e-12, atol=1e-12)
    online_res = np.array(online_res)
    for i, res in enumerate(residuals):
        np.testing.assert_allclose(online_res[events.marks == i], res, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(state.num_events), events.counts)

    # intensity(state, t) between and after events equals batch intensity_at and brute force
    mu, alpha, beta = (np.asarray(x) for x in params)
    t_last = float(events.times[-1])
    queries = t_last + np.array([0.0, 1e-6, 0.3, 7.0, 200.0])
    batch_q = intensity_at(params, events, queries, GRID)
    for q, row in zip(queries, batch_q, strict=True):
        live = np.asarray(intensity(state, q))
        np.testing.assert_allclose(live, row, rtol=1e-12)
        brute = brute_intensity(mu, alpha, beta, events.times, events.marks, float(q), GRID)
        np.testing.assert_allclose(live, brute, rtol=1e-10)


def test_update_scans_and_matches_the_loop(params: HawkesParams, events: EventSequence) -> None:
    k = 150
    times, marks = jnp.asarray(events.times[:k]), jnp.asarray(events.marks[:k])

    def step(state: object, x: tuple[jax.Array, jax.Array]) -> tuple[object, jax.Array]:
        state, info = update(state, x[0], x[1])
        return state, info.intensity

    final, lam = jax.lax.scan(step, init(params, GRID), (times, marks))
    np.testing.assert_allclose(lam, event_intensities(params, events, GRID)[:k], rtol=1e-12)
    t_next = float(events.times[k])
    np.testing.assert_allclose(
        intensity(final, t_next), event_intensities(params, events, GRID)[k], rtol=1e-12
    )
    # the open compensator at the next event of a dimension is that event's residual
    m = int(events.marks[k])
    res = time_rescaled_residuals(params, events, GRID)[m]
    idx = int(np.sum(events.marks[:k] == m))
    assert abs(float(compensator_since_last(final, t_next)[m]) - res[idx]) < 1e-9


def test_ties_and_out_of_order_events() -> None:
    params = hawkes_params([0.2, 0.1], [[0.5, 0.2], [0.3, 0.1]], 2.0)
    state = init(params)
    state, _ = update(state, 1.0, 0)
    state, info_tie = update(state, 1.0, 1)  # same timestamp: not excited by the first
    np.testing.assert_allclose(info_tie.intensity, [0.2, 0.1], rtol=1e-14)
    state, info = update(state, 0.5, 0)  # out of order: flagged, applied at t_last
    assert not bool(info.in_order)
    assert float(state.t_last) == 1.0
