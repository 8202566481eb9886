"""Ladder shape: fold == batch, brute-force neighbour and centre oracles, NaN rules, guards."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kbayes.features.kinematics import EwmParams, GridObsBatch, ewm_kinematics_batch
from kbayes.features.ladder_shape import (
    LadderInfo,
    LadderObs,
    LadderObsBatch,
    LadderParams,
    ladder_shape,
    ladder_shape_batch,
    relative_acceleration,
)

from .price_data import real_mids, sim_mids

KIN = EwmParams(velocity_halflife_s=60.0, acceleration_halflife_s=180.0)
TEMPS = (40.0, 42.5, 44.5, 46.5, 48.5, 51.0)
PARAMS = LadderParams(temperatures=TEMPS, centre=EwmParams(120.0, 600.0))


def fold(params: LadderParams, obs: LadderObsBatch) -> LadderInfo:
    alg = ladder_shape(params, obs.mid.shape[1])
    state = alg.init(None)
    infos = []
    for t, m, a in zip(obs.t_ns, obs.mid, obs.acceleration, strict=True):
        state, info = alg.update(state, LadderObs(int(t), m, a), None)
        infos.append(info)
    return LadderInfo(*(np.stack(f) for f in zip(*infos, strict=True)))


def with_acceleration(obs: GridObsBatch) -> LadderObsBatch:
    return LadderObsBatch(obs.t_ns, obs.mid, ewm_kinematics_batch(KIN, obs).acceleration)


def assert_infos_close(a: LadderInfo, b: LadderInfo) -> None:
    # Same NumPy operations on the same numbers: the relative accelerations are bit-equal.
    np.testing.assert_array_equal(a.rel_accel_max, b.rel_accel_max)
    np.testing.assert_array_equal(a.rel_accel_mean, b.rel_accel_mean)
    np.testing.assert_array_equal(a.centre_valid, b.centre_valid)
    np.testing.assert_allclose(a.centre, b.centre, rtol=1e-14)
    pairs = ((a.centre_velocity, b.centre_velocity), (a.centre_acceleration, b.centre_acceleration))
    for x, y in pairs:
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
        scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 1.0
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12 * scale)


def test_fold_equals_batch_on_simulator_mids() -> None:
    obs, _ = sim_mids()
    info = fold(PARAMS, with_acceleration(obs))
    assert np.isfinite(info.centre).any() and np.isnan(info.centre).any()
    assert_infos_close(info, ladder_shape_batch(PARAMS, with_acceleration(obs)))


@pytest.mark.realdata
def test_fold_equals_batch_on_real_mids(shared_data: Path) -> None:
    obs, _ = real_mids(shared_data)
    lad = with_acceleration(obs)
    info = fold(PARAMS, lad)
    assert np.isfinite(info.centre_velocity).any()
    assert_infos_close(info, ladder_shape_batch(PARAMS, lad))


def brute_relative(a: list[float]) -> tuple[list[float], list[float]]:
    K = len(a)
    rmax, rmean = [], []
    for j in range(K):
        nb = [a[i] for i in (j - 1, j + 1) if 0 <= i < K]
        if any(math.isnan(x) for x in nb) or math.isnan(a[j]):
            rmax.append(math.nan)
            rmean.append(math.nan)
        else:
            rmax.append(a[j] - max(nb))
            rmean.append(a[j] - sum(nb) / len(nb))
    return rmax, rmean


@pytest.mark.parametrize("K", [2, 3, 6])
def test_relative_acceleration_matches_brute_force(K: int) -> None:
    rng = np.random.default_rng(K)
    a = rng.normal(size=(50, K))
    a[rng.random(a.shape) < 0.1] = np.nan
    rmax, rmean = relative_acceleration(a)
    for t in range(50):
        want_max, want_mean = brute_relative(a[t].tolist())
        np.testing.assert_allclose(rmax[t], want_max, rtol=1e-15)
        np.testing.assert_allclose(rmean[t], want_mean, rtol=1e-15)


def test_centre_matches_brute_force_and_is_nan_on_a_partial_ladder() -> None:
    alg = ladder_shape(PARAMS, 6)
    mid = np.array([100.0, 900.0, 3500.0, 4000.0, 1500.0, 300.0])  # overround 10300
    _, info = alg.update(alg.init(None), LadderObs(10**18, mid, np.zeros(6)), None)
    want = sum(b * m for b, m in zip(TEMPS, mid, strict=True)) / mid.sum()
    assert info.centre == pytest.approx(want, rel=1e-15) and info.centre_valid
    mid[0] = np.nan
    _, info = alg.update(alg.init(None), LadderObs(10**18, mid, np.zeros(6)), None)
    assert math.isnan(info.centre) and not info.centre_valid
    _, info = alg.update(alg.init(None), LadderObs(10**18, np.zeros(6), np.zeros(6)), None)
    assert math.isnan(info.centre) and not info.centre_valid


def test_centre_velocity_of_a_shifting_ladder() -> None:
    # Mass moving linearly from bracket 1 to bracket 2: mu moves at (b2 - b1) * rate exactly,
    # so the EWM velocity of mu is that constant from the second tick on.
    T = 50
    t = np.arange(T, dtype=np.int64) * 10_000_000_000
    w = np.linspace(0.1, 0.9, T)
    mid = np.zeros((T, 6))
    mid[:, 1], mid[:, 2] = 1 - w, w
    info = fold(PARAMS, LadderObsBatch(t, mid, np.zeros((T, 6))))
    rate = (w[1] - w[0]) / 10.0
    np.testing.assert_allclose(info.centre_velocity[1:], (TEMPS[2] - TEMPS[1]) * rate, rtol=1e-9)


def test_causal_future_changes_leave_the_past_bit_identical() -> None:
    obs, _ = sim_mids()
    base = ladder_shape_batch(PARAMS, with_acceleration(obs))
    mid = obs.mid.copy()
    mid[1000:] = mid[1000:][::-1]
    other = ladder_shape_batch(PARAMS, with_acceleration(GridObsBatch(obs.t_ns, mid)))
    for x, y in zip(base, other, strict=True):
        np.testing.assert_array_equal(np.asarray(x)[:1000], np.asarray(y)[:1000])


@pytest.mark.parametrize(
    "temps",
    [(40.0, 42.0, 44.0), (40.0, 42.0, 42.0, 44.0, 46.0, 48.0), (1, 2, 3, 4, 5, math.nan)],
)
def test_bad_temperatures_raise_naming_them(temps: tuple[float, ...]) -> None:
    params = PARAMS._replace(temperatures=temps)
    with pytest.raises(ValueError, match="temperatures"):
        ladder_shape(params, 6)
    with pytest.raises(ValueError, match="temperatures"):
        ladder_shape_batch(params, LadderObsBatch(np.arange(3), np.ones((3, 6)), np.ones((3, 6))))


def test_bad_halflife_one_bracket_and_negative_mid_raise() -> None:
    with pytest.raises(ValueError, match="velocity_halflife_s"):
        ladder_shape(PARAMS._replace(centre=EwmParams(-1.0, 10.0)), 6)
    with pytest.raises(ValueError, match="num_brackets"):
        ladder_shape(PARAMS._replace(temperatures=(40.0,)), 1)
    alg = ladder_shape(PARAMS, 6)
    with pytest.raises(ValueError, match="mid"):
        alg.update(alg.init(None), LadderObs(1, np.array([1, 2, 3, 4, 5, -1.0]), np.zeros(6)))


def test_centre_time_must_increase() -> None:
    alg = ladder_shape(PARAMS, 6)
    s, _ = alg.update(alg.init(None), LadderObs(10, np.ones(6), np.zeros(6)), None)
    with pytest.raises(ValueError, match="t_ns=10"):
        alg.update(s, LadderObs(10, np.ones(6), np.zeros(6)), None)
