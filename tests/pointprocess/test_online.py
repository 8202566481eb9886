"""The online step (kbayes.step contract) reproduces the batch recursion and brute-force sums.

Every other copy of the Hawkes recursion (the fused value-and-gradient scan of
``gradient.py`` and the per-dimension feature recursion of the Newton design) is tested here
equal to the one online ``update`` on the same events."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kbayes.pointprocess import (
    EventSequence,
    HawkesEvent,
    HawkesParams,
    compensator_since_last,
    event_intensities,
    hawkes_params,
    hour_of_day_baseline,
    intensity,
    intensity_algorithm,
    intensity_at,
    log_likelihood_and_grad,
    prepare,
    simulate,
    time_rescaled_residuals,
)
from kbayes.step import scan_algorithm
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
    live = intensity_algorithm(params, GRID)
    state = live.init(None)
    online, online_res = [], []
    for t, m in zip(events.times, events.marks, strict=True):
        state, info = live.update(state, HawkesEvent(t, int(m)), None)
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
        live_q = np.asarray(intensity(params, GRID, state, q))
        np.testing.assert_allclose(live_q, row, rtol=1e-12)
        brute = brute_intensity(mu, alpha, beta, events.times, events.marks, float(q), GRID)
        np.testing.assert_allclose(live_q, brute, rtol=1e-10)


def test_update_scans_and_matches_the_loop(params: HawkesParams, events: EventSequence) -> None:
    k = 150
    live = intensity_algorithm(params, GRID)
    tape = HawkesEvent(jnp.asarray(events.times[:k]), jnp.asarray(events.marks[:k]))
    final, infos = scan_algorithm(live, tape)
    lam = infos.intensity
    np.testing.assert_allclose(lam, event_intensities(params, events, GRID)[:k], rtol=1e-12)
    # replay is the same update: a Python loop of it gives the same numbers bit for bit
    state = live.init(None)
    for t, m in zip(events.times[:k], events.marks[:k], strict=True):
        state, _ = live.update(state, HawkesEvent(jnp.asarray(t), jnp.asarray(m)), None)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(final), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    t_next = float(events.times[k])
    np.testing.assert_allclose(
        intensity(params, GRID, final, t_next),
        event_intensities(params, events, GRID)[k],
        rtol=1e-12,
    )
    # the open compensator at the next event of a dimension is that event's residual
    m = int(events.marks[k])
    res = time_rescaled_residuals(params, events, GRID)[m]
    idx = int(np.sum(events.marks[:k] == m))
    assert abs(float(compensator_since_last(params, GRID, final, t_next)[m]) - res[idx]) < 1e-9


def test_the_state_holds_no_parameters(params: HawkesParams) -> None:
    state = intensity_algorithm(params, GRID).init(None)
    assert state._fields == ("t_last", "excitation", "open_compensator", "num_events")


def _online_replay(
    params: HawkesParams, events: EventSequence
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, per-event intensities and compensators at ``T`` from the online step."""
    final, infos = scan_algorithm(
        intensity_algorithm(params, GRID),
        HawkesEvent(jnp.asarray(events.times), jnp.asarray(events.marks)),
    )
    residual = np.asarray(infos.residual)
    open_end = np.asarray(compensator_since_last(params, GRID, final, events.T))
    comp = open_end + np.bincount(events.marks, weights=residual, minlength=events.num_dims)
    loglik = float(np.sum(np.asarray(infos.log_intensity)) - comp.sum())
    return loglik, np.asarray(infos.intensity), comp


def test_gradient_recursion_equals_the_online_update(
    params: HawkesParams, events: EventSequence
) -> None:
    """The fused value-and-gradient scan (its own copy of the recursion, with sensitivities)
    gives the log-likelihood the online update accumulates, to float64 rounding of a sum of
    N terms (~N eps relative)."""
    online, _, _ = _online_replay(params, events)
    value, _ = log_likelihood_and_grad(params, prepare(events, GRID))
    assert float(value) == pytest.approx(online, rel=1e-12)


def test_newton_design_recursion_equals_the_online_update(
    params: HawkesParams, events: EventSequence
) -> None:
    """The Newton design (the recursion run per source dimension, then gathered by row)
    gives each event's intensity ``x_n . theta_i`` and each row's compensator ``c_i . theta_i``
    as the online update does (one decay per source: beta is (D, D) here, so design rows
    use ``beta[i, j]``)."""
    from kbayes.pointprocess.design import design
    from kbayes.pointprocess.layout import row_data

    _, lam, comp = _online_replay(params, events)
    rd = row_data([events], [GRID])
    dsg = design(jnp.asarray(params.beta), rd)
    theta = jnp.concatenate([params.mu, params.alpha], axis=1)
    lam_design = np.asarray(jnp.einsum("gck,gk->gc", dsg.x, theta[dsg.row]))
    weight = np.asarray(rd.weight) > 0
    rows = np.broadcast_to(np.asarray(rd.row)[:, None], weight.shape)[weight]
    # the design lists each row's events in time order, rows in order of dimension
    expected = np.concatenate([lam[events.marks == i, i] for i in range(events.num_dims)])
    order = np.argsort(rows, kind="stable")
    np.testing.assert_allclose(lam_design[weight][order], expected, rtol=1e-12)
    np.testing.assert_allclose(np.sum(np.asarray(dsg.cost) * theta, axis=1), comp, rtol=1e-12)


def test_ties_and_out_of_order_events() -> None:
    params = hawkes_params([0.2, 0.1], [[0.5, 0.2], [0.3, 0.1]], 2.0)
    live = intensity_algorithm(params)
    state = live.init(None)
    state, _ = live.update(state, HawkesEvent(1.0, 0), None)
    # same timestamp: not excited by the first
    state, info_tie = live.update(state, HawkesEvent(1.0, 1), None)
    np.testing.assert_allclose(info_tie.intensity, [0.2, 0.1], rtol=1e-14)
    # out of order: flagged, applied at t_last
    state, info = live.update(state, HawkesEvent(0.5, 0), None)
    assert not bool(info.in_order)
    assert float(state.t_last) == 1.0
