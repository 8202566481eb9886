"""Exact log-likelihood, compensator and intensities against brute-force O(N^2) sums."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbayes.pointprocess import (
    EventSequence,
    HawkesParams,
    check_events,
    compensator,
    event_intensities,
    hawkes_params,
    hour_of_day_baseline,
    intensity_at,
    log_likelihood,
    log_likelihood_and_grad,
    log_likelihood_fast,
    log_likelihood_kernel,
    prepare,
)
from tests.pointprocess.reference import (
    brute_baseline_integral,
    brute_intensity,
    brute_log_likelihood,
)

D, N, T = 3, 150, 120.0
_fast = jax.jit(log_likelihood_fast)
_kernel = jax.jit(log_likelihood_kernel)
BETA_SHAPES = {"shared": (), "row": (D,), "pair": (D, D)}


def _random_case(
    seed: int, beta_kind: str, num_bins: int
) -> tuple[HawkesParams, EventSequence, np.ndarray]:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0.0, T, N))
    times[7] = times[6]  # a tie: equal times do not excite each other
    times[-1] = T  # an event exactly at the end of the window
    marks = rng.integers(0, D, N)
    mu = rng.uniform(0.05, 1.5, (D, num_bins))
    alpha = rng.uniform(0.0, 0.4, (D, D))
    beta = rng.uniform(0.2, 4.0, BETA_SHAPES[beta_kind])
    params = hawkes_params(mu, alpha, beta)
    return params, check_events(times, marks, T, D), np.asarray(params.beta)


def _np(params: HawkesParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.asarray(x, np.float64) for x in params)  # type: ignore[return-value]


@pytest.mark.parametrize("beta_kind", ["shared", "row", "pair"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_log_likelihood_matches_brute_force(beta_kind: str, seed: int) -> None:
    params, events, _ = _random_case(seed, beta_kind, 1)
    mu, alpha, beta = _np(params)
    expected = brute_log_likelihood(mu, alpha, beta, events.times, events.marks, T)
    assert abs(log_likelihood(params, events) - expected) <= 1e-9
    fast = float(_fast(params, prepare(events, pad=True)))
    assert abs(fast - expected) <= 1e-9


@pytest.mark.parametrize("beta_kind", ["shared", "pair"])
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), start_hour=st.floats(0.0, 23.99))
def test_hour_of_day_log_likelihood_matches_brute_force(
    beta_kind: str, seed: int, start_hour: float
) -> None:
    # times in minutes; the 120-minute window crosses several hourly bins
    grid = hour_of_day_baseline(range(25), start_hour=start_hour, seconds_per_unit=60.0)
    params, events, _ = _random_case(seed, beta_kind, 24)
    mu, alpha, beta = _np(params)
    expected = brute_log_likelihood(mu, alpha, beta, events.times, events.marks, T, grid)
    assert abs(log_likelihood(params, events, grid) - expected) <= 1e-9
    fast = float(_fast(params, prepare(events, grid, pad=True)))
    assert abs(fast - expected) <= 1e-9


def test_baseline_integral_over_many_days() -> None:
    grid = hour_of_day_baseline((0, 6, 9.5, 16, 24), start_hour=22.5, seconds_per_unit=3600.0)
    params = hawkes_params([[1.0, 2.0, 3.0, 4.0]], [[0.0]], 1.0)
    events = check_events([], [], 100.0, 1)  # 100 hours, no events: Lambda = int mu
    got = compensator(params, events, grid)
    expected = brute_baseline_integral(np.asarray(params.mu), grid, 100.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert log_likelihood(params, events, grid) == pytest.approx(-expected.sum(), abs=1e-9)


def test_compensator_and_intensities_match_brute_force() -> None:
    params, events, _ = _random_case(3, "pair", 1)
    mu, alpha, beta = _np(params)
    lam = event_intensities(params, events)
    for k in (0, 1, 6, 7, 50, N - 1):
        t, m = events.times, events.marks
        np.testing.assert_allclose(lam[k], brute_intensity(mu, alpha, beta, t, m, t[k]), rtol=1e-12)
    # tie: event 7 sees the same intensity as event 6 (neither excites the other)
    np.testing.assert_allclose(lam[7], lam[6], rtol=1e-14)
    comp = compensator(params, events)
    expected = mu[:, 0] * T + np.array(
        [
            sum(
                alpha[i, j] * (1 - np.exp(-beta[i, j] * (T - tl)))
                for tl, j in zip(events.times, events.marks, strict=True)
            )
            for i in range(D)
        ]
    )
    np.testing.assert_allclose(comp, expected, rtol=1e-12)
    queries = np.array([0.0, 5.5, events.times[6], events.times[30], T, T + 3.0, 1e-9])
    got = intensity_at(params, events, queries)
    for q, row in zip(queries, got, strict=True):
        want = brute_intensity(mu, alpha, beta, events.times, events.marks, float(q))
        np.testing.assert_allclose(row, want, rtol=1e-12)


def test_padding_and_kernels_agree() -> None:
    params, events, _ = _random_case(11, "row", 1)
    padded, bare = prepare(events, pad=True), prepare(events)
    assert padded.dt.shape[0] > bare.dt.shape[0]
    values = [
        float(_kernel(params, padded)),
        float(_kernel(params, bare)),
        float(_fast(params, padded)),
    ]
    np.testing.assert_allclose(values, values[0], rtol=0, atol=1e-10)


def test_analytic_gradient_matches_autodiff_of_the_scan() -> None:
    grid = hour_of_day_baseline((0, 8, 16, 24), start_hour=5.0, seconds_per_unit=60.0)
    params, events, _ = _random_case(5, "pair", 3)
    data = prepare(events, grid, pad=True)
    auto = jax.jit(jax.grad(log_likelihood_kernel))(params, data)
    value, analytic = jax.jit(log_likelihood_and_grad)(params, data)
    via_jvp = jax.jit(jax.grad(log_likelihood_fast))(params, data)
    assert float(value) == pytest.approx(float(_kernel(params, data)), abs=1e-10)
    for a, b, c in zip(auto, analytic, via_jvp, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(c, a, rtol=1e-9, atol=1e-9)
    # a wrong gradient would fail: compare against a central finite difference in beta[0, 1]
    eps = 1e-6
    bump = np.zeros((D, D))
    bump[0, 1] = eps
    up = _kernel(params._replace(beta=params.beta + bump), data)
    down = _kernel(params._replace(beta=params.beta - bump), data)
    assert float(analytic.beta[0, 1]) == pytest.approx(float(up - down) / (2 * eps), rel=1e-5)


def test_empty_dimension_contributes_only_its_compensator() -> None:
    rng = np.random.default_rng(2)
    times = np.sort(rng.uniform(0, 50.0, 40))
    marks = rng.integers(0, 2, 40)  # dimension 2 never fires
    params = hawkes_params([0.3, 0.4, 0.2], rng.uniform(0, 0.3, (3, 3)), 1.5)
    events = check_events(times, marks, 50.0, 3)
    mu, alpha, beta = _np(params)
    expected = brute_log_likelihood(mu, alpha, beta, times, marks, 50.0)
    assert abs(log_likelihood(params, events) - expected) <= 1e-9
