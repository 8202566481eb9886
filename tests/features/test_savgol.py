"""Causal Savitzky-Golay derivatives: fold == batch, scipy oracles, causality, guards."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import savgol_filter

from kbayes.features.kinematics import GridObs, GridObsBatch, KinematicsInfo
from kbayes.features.savgol import SavgolParams, savgol_kinematics, savgol_kinematics_batch

from .price_data import real_mids, sim_mids

PARAMS = SavgolParams(window=9, order=2, step_s=10.0)
NS = 1_000_000_000


def fold(params: SavgolParams, obs: GridObsBatch) -> KinematicsInfo:
    alg = savgol_kinematics(params, obs.mid.shape[1])
    state = alg.init(None)
    infos = []
    for t, m in zip(obs.t_ns, obs.mid, strict=True):
        state, info = alg.update(state, GridObs(int(t), m), None)
        infos.append(info)
    return KinematicsInfo(*(np.stack(f) for f in zip(*infos, strict=True)))


def assert_infos_close(a: KinematicsInfo, b: KinematicsInfo, mid: np.ndarray) -> None:
    np.testing.assert_array_equal(a.valid, b.valid)
    # A derivative filter's weights sum to 0: rounding is relative to the mids, not the output.
    floor = 1e-13 * np.nanmax(np.abs(mid))
    for x, y in ((a.velocity, b.velocity), (a.acceleration, b.acceleration)):
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=floor)


def random_walk(seed: int = 0, T: int = 300, K: int = 4, p_nan: float = 0.02) -> GridObsBatch:
    rng = np.random.default_rng(seed)
    t = (1_700_000_000 + 10 * np.arange(T)) * NS
    mid = 5000.0 + np.cumsum(rng.normal(0, 30.0, (T, K)), axis=0)
    mid[rng.random((T, K)) < p_nan] = np.nan
    return GridObsBatch(t, mid)


def test_fold_equals_batch_with_missing_mids_and_skipped_ticks() -> None:
    obs = random_walk()
    keep = np.ones(obs.t_ns.size, bool)
    keep[[40, 41, 150]] = False  # ticks the clock did not deliver
    obs = GridObsBatch(obs.t_ns[keep], obs.mid[keep])
    info = fold(PARAMS, obs)
    assert info.valid.any() and not info.valid.all()
    assert_infos_close(info, savgol_kinematics_batch(PARAMS, obs), obs.mid)


def test_fold_equals_batch_on_simulator_mids() -> None:
    obs, _ = sim_mids(step_s=60)
    params = PARAMS._replace(step_s=60.0)
    assert_infos_close(fold(params, obs), savgol_kinematics_batch(params, obs), obs.mid)


@pytest.mark.realdata
def test_fold_equals_batch_on_real_mids(shared_data: Path) -> None:
    obs, _ = real_mids(shared_data, step_s=10)
    info = fold(PARAMS, obs)
    assert info.valid.any()
    assert_infos_close(info, savgol_kinematics_batch(PARAMS, obs), obs.mid)


def test_exact_on_polynomials_at_the_newest_point() -> None:
    # A quadratic in time: the causal fit recovers it, so the derivatives at t are exact.
    t_s = 10.0 * np.arange(60)
    x = 2000.0 + 3.0 * t_s - 0.004 * t_s**2
    obs = GridObsBatch((t_s * 1e9).astype(np.int64), x[:, None])
    info = fold(PARAMS, obs)
    w = PARAMS.window
    np.testing.assert_allclose(info.velocity[w - 1 :, 0], 3.0 - 0.008 * t_s[w - 1 :], atol=1e-9)
    np.testing.assert_allclose(info.acceleration[w - 1 :, 0], -0.008, atol=1e-11)
    assert np.isnan(info.velocity[: w - 1]).all() and not info.valid[: w - 1].any()


def test_matches_scipy_savgol_filter_on_each_trailing_window() -> None:
    # scipy's mode="interp" fits the last window and evaluates it at the last sample: the
    # causal estimate, through scipy's own polyfit path.
    obs = random_walk(seed=4, T=80, K=2, p_nan=0.0)
    params = SavgolParams(window=11, order=3, step_s=10.0)
    info = fold(params, obs)
    w = params.window
    for t in range(w - 1, 80):
        seg = obs.mid[t - w + 1 : t + 1]
        for d, got in ((1, info.velocity[t]), (2, info.acceleration[t])):
            want = savgol_filter(seg, w, 3, deriv=d, delta=10.0, axis=0, mode="interp")[-1]
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_causal_future_changes_leave_the_past_bit_identical() -> None:
    # Goes red for a centred filter: its value at t reads samples after t.
    obs = random_walk(seed=8, p_nan=0.0)
    base = savgol_kinematics_batch(PARAMS, obs)
    mid = obs.mid.copy()
    mid[200:] *= 1.5
    other = savgol_kinematics_batch(PARAMS, GridObsBatch(obs.t_ns, mid))
    np.testing.assert_array_equal(base.velocity[:200], other.velocity[:200])
    np.testing.assert_array_equal(base.acceleration[:200], other.acceleration[:200])
    assert not np.allclose(base.velocity[200:], other.velocity[200:])


def test_a_missing_mid_blanks_the_bracket_for_one_window() -> None:
    obs = random_walk(seed=1, T=40, K=2, p_nan=0.0)
    obs.mid[20, 0] = np.nan
    info = fold(PARAMS, obs)
    w = PARAMS.window
    assert not info.valid[20 : 20 + w, 0].any() and info.valid[20 + w :, 0].all()
    assert np.isnan(info.velocity[20 : 20 + w, 0]).all()
    assert info.valid[w - 1 :, 1].all()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order", 1),
        ("order", 2.0),
        ("window", 2),
        ("window", 9.5),
        ("step_s", 0.0),
        ("step_s", -10.0),
        ("step_s", math.nan),
        ("step_s", 1e-10),
    ],
)
def test_bad_params_raise_naming_the_field(field: str, value: object) -> None:
    params = PARAMS._replace(**{field: value})
    with pytest.raises(ValueError, match=field):
        savgol_kinematics(params, 3)
    with pytest.raises(ValueError, match=field):
        savgol_kinematics_batch(params, random_walk(T=5))


def test_ticks_off_the_grid_raise() -> None:
    alg = savgol_kinematics(PARAMS, 1)
    s, _ = alg.update(alg.init(None), GridObs(100 * NS, np.array([1.0])), None)
    with pytest.raises(ValueError, match="t_ns=105000000000"):
        alg.update(s, GridObs(105 * NS, np.array([1.0])), None)
    with pytest.raises(ValueError, match="t_ns=100000000000"):
        alg.update(s, GridObs(100 * NS, np.array([1.0])), None)
    with pytest.raises(ValueError, match="t_ns=115000000000"):
        savgol_kinematics_batch(PARAMS, GridObsBatch(np.array([100, 115]) * NS, np.ones((2, 1))))


def test_steady_state_fast_path_equals_the_general_path() -> None:
    obs = random_walk(seed=12, p_nan=0.01)
    alg = savgol_kinematics(PARAMS, obs.mid.shape[1])
    fast = slow = alg.init(None)
    n_fast = 0
    for t, m in zip(obs.t_ns, obs.mid, strict=True):
        n_fast += fast.full
        fast, a = alg.update(fast, GridObs(int(t), m), None)
        slow, b = alg.update(slow._replace(full=False), GridObs(int(t), m), None)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    assert n_fast > 100


def test_an_infinite_mid_is_bad_input_not_missing() -> None:
    alg = savgol_kinematics(PARAMS, 2)
    with pytest.raises(ValueError, match="infinite"):
        alg.update(alg.init(None), GridObs(NS, np.array([1.0, -np.inf])), None)
    with pytest.raises(ValueError, match="infinite"):
        savgol_kinematics_batch(PARAMS, GridObsBatch(np.array([NS]), np.array([[np.inf, 1.0]])))
