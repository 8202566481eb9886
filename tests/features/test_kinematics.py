"""EWM price kinematics: fold == batch twin, closed-form / pandas oracles, NaN holds, guards."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbayes.features.kinematics import (
    EwmParams,
    GridObs,
    GridObsBatch,
    KinematicsInfo,
    ewm_kinematics,
    ewm_kinematics_batch,
    linear_recurrence,
)

from .price_data import real_mids, sim_mids

PARAMS = EwmParams(velocity_halflife_s=90.0, acceleration_halflife_s=300.0)


def fold(params: EwmParams, obs: GridObsBatch) -> KinematicsInfo:
    """Stacked infos of the online step over ``obs``."""
    alg = ewm_kinematics(params, obs.mid.shape[1])
    state = alg.init(None)
    infos = []
    for t, m in zip(obs.t_ns, obs.mid, strict=True):
        state, info = alg.update(state, GridObs(int(t), m), None)
        infos.append(info)
    return KinematicsInfo(*(np.stack(f) for f in zip(*infos, strict=True)))


def assert_infos_close(a: KinematicsInfo, b: KinematicsInfo) -> None:
    np.testing.assert_array_equal(a.valid, b.valid)
    for x, y in ((a.velocity, b.velocity), (a.acceleration, b.acceleration)):
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
        # The scan sums in another order: relative 1e-12 plus a floor far below any signal.
        scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 1.0
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12 * scale)


def irregular(seed: int = 0, T: int = 400, K: int = 4, p_nan: float = 0.2) -> GridObsBatch:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.integers(1, 60, size=T)) * 1_000_000_000 + 1_700_000_000 * 10**9
    mid = np.cumsum(rng.normal(0.0, 50.0, size=(T, K)), axis=0) + 5000.0
    mid[rng.random((T, K)) < p_nan] = np.nan
    return GridObsBatch(t_ns=t, mid=mid)


def test_fold_equals_batch_irregular_with_gaps() -> None:
    obs = irregular()
    assert_infos_close(fold(PARAMS, obs), ewm_kinematics_batch(PARAMS, obs))


def test_fold_equals_batch_on_simulator_mids() -> None:
    obs, _ = sim_mids()
    assert np.isnan(obs.mid).any() and np.isfinite(obs.mid).any()
    assert_infos_close(fold(PARAMS, obs), ewm_kinematics_batch(PARAMS, obs))


@pytest.mark.realdata
def test_fold_equals_batch_on_real_mids(shared_data: Path) -> None:
    obs, tickers = real_mids(shared_data)
    assert len(tickers) == 6 and np.isnan(obs.mid).any()
    assert_infos_close(fold(PARAMS, obs), ewm_kinematics_batch(PARAMS, obs))


def brute_velocity(t_s: np.ndarray, x: np.ndarray, h: float) -> np.ndarray:
    """The EWM velocity as an explicit weighted sum over the observed raw velocities.

    Unrolling ``v_t = (1 - alpha_t) v_{t-1} + alpha_t r_t`` with ``1 - alpha_i = exp(-lam dt_i)``
    gives the weights ``exp(-lam (t_T - t_2))`` on ``r_2`` (the first velocity, taken whole)
    and ``alpha_i exp(-lam (t_T - t_i))`` on ``r_i``, ``i > 2``: continuous-time decay.
    """
    lam = math.log(2.0) / h
    r = np.diff(x) / np.diff(t_s)
    out = [math.nan]
    for T in range(1, len(x)):
        w = [math.exp(-lam * (t_s[T] - t_s[1]))]
        w += [(1 - math.exp(-lam * (t_s[i] - t_s[i - 1]))) * math.exp(-lam * (t_s[T] - t_s[i]))
              for i in range(2, T + 1)]  # fmt: skip
        out.append(float(np.dot(w, r[:T])))
    return np.array(out)


def test_velocity_matches_closed_form_weights_over_gaps() -> None:
    obs = irregular(seed=3, T=150, K=1, p_nan=0.3)
    info = fold(PARAMS, obs)
    ok = np.isfinite(obs.mid[:, 0])
    t_s = (obs.t_ns[ok] - obs.t_ns[0]) * 1e-9
    want = brute_velocity(t_s, obs.mid[ok, 0], PARAMS.velocity_halflife_s)
    np.testing.assert_allclose(info.velocity[ok, 0], want, rtol=1e-10, atol=1e-12)


def test_regular_grid_matches_pandas_ewm() -> None:
    # On a regular grid without gaps alpha is constant: pandas' recursive EWM is the oracle.
    rng = np.random.default_rng(7)
    T, step = 300, 10.0
    t = np.arange(T, dtype=np.int64) * 10_000_000_000
    x = np.cumsum(rng.normal(size=(T, 3)), axis=0)
    info = fold(PARAMS, GridObsBatch(t, x))
    alpha_v = 1 - 0.5 ** (step / PARAMS.velocity_halflife_s)
    alpha_a = 1 - 0.5 ** (step / PARAMS.acceleration_halflife_s)
    r = pd.DataFrame(np.diff(x, axis=0) / step)
    v = r.ewm(alpha=alpha_v, adjust=False).mean().to_numpy()
    a = (v[1:] - v[:-1]) / step
    a = pd.DataFrame(a).ewm(alpha=alpha_a, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(info.velocity[1:], v, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(info.acceleration[2:], a, rtol=1e-11, atol=1e-13)
    assert np.isnan(info.velocity[0]).all() and np.isnan(info.acceleration[:2]).all()


def test_linear_ramp_has_its_slope_and_zero_acceleration() -> None:
    t = np.cumsum(np.r_[0, np.random.default_rng(1).integers(1, 30, 99)]) * 1_000_000_000
    x = 3.5 * (t * 1e-9)[:, None] + 100.0
    info = fold(PARAMS, GridObsBatch(t, x))
    np.testing.assert_allclose(info.velocity[1:, 0], 3.5, rtol=1e-12)
    np.testing.assert_allclose(info.acceleration[2:, 0], 0.0, atol=1e-12)


def test_missing_mid_holds_the_state_and_is_flagged() -> None:
    alg = ewm_kinematics(PARAMS, 2)
    s = alg.init(None)
    for k, m in enumerate(([1.0, 1.0], [2.0, 3.0], [4.0, 4.0])):
        s, _ = alg.update(s, GridObs(k * 10**10, np.array(m)), None)
    held, info = alg.update(s, GridObs(3 * 10**10, np.array([np.nan, 5.0])), None)
    assert info.valid.tolist() == [False, True]
    assert held.x[0] == s.x[0] and held.t_ns[0] == s.t_ns[0] and held.n[0] == s.n[0]
    assert info.velocity[0] == s.v[0] and info.acceleration[0] == s.a[0]
    # The next observed mid differences against the held one over the whole 20 s gap.
    _, info2 = alg.update(held, GridObs(4 * 10**10, np.array([6.0, 5.0])), None)
    r = (6.0 - 4.0) / 20.0
    alpha = 1 - 0.5 ** (20.0 / PARAMS.velocity_halflife_s)
    assert info2.velocity[0] == pytest.approx(s.v[0] + alpha * (r - s.v[0]), rel=1e-14)


def test_warm_up_is_nan_not_zero() -> None:
    info = fold(PARAMS, GridObsBatch(np.array([0, 10**10, 2 * 10**10]), np.ones((3, 1))))
    assert np.isnan(info.velocity[0, 0]) and info.velocity[1, 0] == 0.0
    assert np.isnan(info.acceleration[:2, 0]).all() and info.acceleration[2, 0] == 0.0


def test_causal_future_changes_leave_the_past_bit_identical() -> None:
    obs = irregular(seed=5)
    base = ewm_kinematics_batch(PARAMS, obs)
    mid = obs.mid.copy()
    mid[250:] += 1e3 * np.random.default_rng(9).normal(size=mid[250:].shape)
    other = ewm_kinematics_batch(PARAMS, GridObsBatch(obs.t_ns, mid))
    np.testing.assert_array_equal(base.velocity[:250], other.velocity[:250])
    np.testing.assert_array_equal(base.acceleration[:250], other.acceleration[:250])
    assert not np.allclose(base.velocity[250:], other.velocity[250:], equal_nan=True)


def test_linear_recurrence_matches_a_loop() -> None:
    rng = np.random.default_rng(2)
    c, d = rng.uniform(0, 1, (37, 3)), rng.normal(size=(37, 3))
    y, want = np.zeros(3), []
    for ct, dt in zip(c, d, strict=True):
        y = ct * y + dt
        want.append(y)
    np.testing.assert_allclose(linear_recurrence(c, d), np.array(want), rtol=1e-13)


@pytest.mark.parametrize("field", ["velocity_halflife_s", "acceleration_halflife_s"])
@pytest.mark.parametrize("value", [0.0, -5.0, math.nan, math.inf])
def test_bad_halflife_raises_naming_it(field: str, value: float) -> None:
    params = PARAMS._replace(**{field: value})
    with pytest.raises(ValueError, match=field):
        ewm_kinematics(params, 3)
    with pytest.raises(ValueError, match=field):
        ewm_kinematics_batch(params, irregular(T=5))


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_num_brackets_raises(k: float) -> None:
    with pytest.raises(ValueError, match="num_brackets"):
        ewm_kinematics(PARAMS, k)  # type: ignore[arg-type]


def test_time_must_increase_and_shape_must_match() -> None:
    alg = ewm_kinematics(PARAMS, 2)
    s, _ = alg.update(alg.init(None), GridObs(10, np.array([1.0, 2.0])), None)
    with pytest.raises(ValueError, match="t_ns=10"):
        alg.update(s, GridObs(10, np.array([1.0, 2.0])), None)
    with pytest.raises(ValueError, match="shape"):
        alg.update(s, GridObs(20, np.array([1.0, 2.0, 3.0])), None)
    with pytest.raises(ValueError, match="t_ns=5"):
        ewm_kinematics_batch(PARAMS, GridObsBatch(np.array([10, 5]), np.ones((2, 2))))


def test_steady_state_fast_path_equals_the_general_path() -> None:
    # The update skips the masks when every bracket was and is observed (state.synced);
    # forcing the general path on every tick must give the same numbers.
    obs = irregular(seed=11, p_nan=0.05)
    alg = ewm_kinematics(PARAMS, obs.mid.shape[1])
    fast = slow = alg.init(None)
    n_fast = 0
    for t, m in zip(obs.t_ns, obs.mid, strict=True):
        n_fast += fast.synced
        fast, a = alg.update(fast, GridObs(int(t), m), None)
        slow, b = alg.update(slow._replace(synced=False), GridObs(int(t), m), None)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-300)
    assert n_fast > 100


def test_an_infinite_mid_is_bad_input_not_missing() -> None:
    alg = ewm_kinematics(PARAMS, 2)
    with pytest.raises(ValueError, match="infinite"):
        alg.update(alg.init(None), GridObs(1, np.array([1.0, np.inf])), None)
    with pytest.raises(ValueError, match="infinite"):
        ewm_kinematics_batch(PARAMS, GridObsBatch(np.array([1]), np.array([[np.inf, 1.0]])))
