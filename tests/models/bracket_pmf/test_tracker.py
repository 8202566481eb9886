"""UKF / PF trackers: defined PMFs for every input, live update == scan, K = 1."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.bracket_pmf import (
    BracketPMFParams,
    BracketStep,
    default_params,
    pad_steps,
    pf_tracker,
    track,
    ukf_tracker,
)

K = 4
T = 12


def _steps(price: np.ndarray, dt: float = 0.25, weather: np.ndarray | None = None) -> BracketStep:
    t, k = price.shape
    return BracketStep(
        dt=np.full(t, dt),
        price=price,
        half_spread=np.full((t, k), 0.01),
        staleness_h=np.full((t, k), 0.5),
        volume=np.ones((t, k)),
        weather_alr=np.full((t, k - 1), np.nan) if weather is None else weather,
        weather_hours_left=np.linspace(20, 5, t),
    )


@jax.jit
def _ukf_path(params: BracketPMFParams, steps: BracketStep) -> jnp.ndarray:
    return track(ukf_tracker(params, K, weather=True), steps)[1].pmf


@jax.jit
def _pf_path(params: BracketPMFParams, steps: BracketStep, key: jax.Array) -> jnp.ndarray:
    return track(pf_tracker(params, K, 2000, weather=True), steps, key)[1].pmf


def _check_pmf(p: np.ndarray) -> None:
    p = np.asarray(p)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-12)
    assert np.all(p > 0) and np.all(p < 1)


def test_missing_and_never_traded_brackets_give_a_defined_pmf() -> None:
    price = np.tile([0.6, 0.3, np.nan, np.nan], (T, 1))  # brackets 2, 3 never trade
    price[3:6] = np.nan  # a stretch with no data at all
    p = np.asarray(_ukf_path(default_params(), _steps(price)))
    _check_pmf(p)
    assert p[-1, 0] == pytest.approx(0.6, abs=0.05) and p[-1, 1] == pytest.approx(0.3, abs=0.05)
    # The never-traded brackets share the remaining mass.
    assert p[-1, 2] + p[-1, 3] == pytest.approx(0.1, abs=0.06)
    # No data at all: the prior, uniform.
    p0 = np.asarray(_ukf_path(default_params(), _steps(np.full((T, K), np.nan))))
    np.testing.assert_allclose(p0, 0.25, atol=1e-12)
    # Exchangeable brackets: relabelling the data relabels the PMF, up to the UKF's own
    # (Cholesky sigma point) approximation once data has narrowed the belief.
    perm = [3, 1, 0, 2]
    p_perm = np.asarray(_ukf_path(default_params(), _steps(price[:, perm])))
    np.testing.assert_allclose(p_perm[-1], p[-1, perm], atol=0.02)


def test_live_update_equals_scan_and_pf_agrees_with_ukf() -> None:
    rng = np.random.default_rng(1)
    price = np.clip(np.array([0.1, 0.5, 0.3, 0.1]) + rng.normal(0, 0.02, (T, K)), 0.01, 0.99)
    price[rng.uniform(size=price.shape) < 0.3] = np.nan
    steps = _steps(price)
    params = default_params()
    scanned = np.asarray(_ukf_path(params, steps))
    alg = ukf_tracker(params, K, weather=True)
    update = jax.jit(alg.update)
    state = alg.init(None)
    for t in range(T):
        state, info = update(state, jax.tree_util.tree_map(lambda x, t=t: x[t], steps), None)
        np.testing.assert_allclose(np.asarray(info.pmf), scanned[t], atol=1e-12)
    pf = np.asarray(_pf_path(params, steps, jax.random.key(0)))
    _check_pmf(pf)
    np.testing.assert_allclose(pf[-1], scanned[-1], atol=0.03)


@pytest.mark.parametrize("make", [ukf_tracker, pf_tracker])
def test_single_bracket_event_is_certain(make) -> None:
    alg = make(default_params(), 1)
    steps = _steps(np.full((3, 1), 0.7))
    _, info = track(alg, steps, jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(info.pmf), np.ones((3, 1)))
    np.testing.assert_array_equal(np.asarray(info.log_likelihood), 0.0)


def test_zero_brackets_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one bracket"):
        ukf_tracker(default_params(), 0)


_price = st.one_of(
    st.floats(0.0, 1.0), st.just(float("nan")), st.just(float("inf")), st.just(0.0), st.just(1.0)
)
_nonneg = st.floats(0.0, 1e4)


@st.composite
def _sequences(draw: st.DrawFn) -> tuple[BracketPMFParams, BracketStep]:
    t = draw(st.integers(1, T))
    n = t * K
    price = np.array(draw(st.lists(_price, min_size=n, max_size=n))).reshape(t, K)
    wx = np.array(
        draw(
            st.lists(
                st.one_of(st.floats(-30, 30), st.just(float("nan"))),
                min_size=t * (K - 1),
                max_size=t * (K - 1),
            )
        )
    ).reshape(t, K - 1)

    def arr(shape: tuple[int, ...], strategy: st.SearchStrategy) -> np.ndarray:
        size = int(np.prod(shape))
        return np.array(draw(st.lists(strategy, min_size=size, max_size=size))).reshape(shape)

    steps = BracketStep(
        dt=arr((t,), st.floats(0.0, 48.0)),
        price=price,
        half_spread=arr((t, K), st.floats(0.0, 0.5)),
        staleness_h=arr((t, K), _nonneg),
        volume=arr((t, K), _nonneg),
        weather_alr=wx,
        weather_hours_left=arr((t,), st.floats(-5.0, 40.0)),
    )
    logs = draw(st.lists(st.floats(-7.0, 2.0), min_size=8, max_size=8))
    profile = draw(st.lists(st.floats(-4.0, 4.0), min_size=2, max_size=2))
    return BracketPMFParams(*(jnp.asarray(v) for v in logs + profile)), pad_steps(steps, T)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sequences())
def test_property_pmf_sums_to_one_inside_unit_interval(case) -> None:
    params, steps = case
    _check_pmf(_ukf_path(params, steps))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sequences(), st.integers(0, 2**31 - 1))
def test_property_particle_pmf_sums_to_one_inside_unit_interval(case, seed) -> None:
    params, steps = case
    _check_pmf(_pf_path(params, steps, jax.random.key(seed)))
