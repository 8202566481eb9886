"""Two-sided CUSUM: fold == batch, scalar-loop and closed-form oracles, resets, guards."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kbayes.features.cusum import (
    CusumInfo,
    CusumParams,
    SeriesObs,
    SeriesObsBatch,
    cusum,
    cusum_batch,
)

from .price_data import real_mids, sim_mids

NS = 1_000_000_000
CHANGES = CusumParams(threshold=400.0, drift=50.0, reference="zero", difference=True)
LEVEL = CusumParams(threshold=3.0, drift=0.5, reference="ewm", halflife_s=300.0)


def fold(params: CusumParams, obs: SeriesObsBatch) -> CusumInfo:
    alg = cusum(params, obs.x.shape[1])
    state = alg.init(None)
    infos = []
    for t, x in zip(obs.t_ns, obs.x, strict=True):
        state, info = alg.update(state, SeriesObs(int(t), x), None)
        infos.append(info)
    return CusumInfo(*(np.stack(f) for f in zip(*infos, strict=True)))


def assert_infos_close(a: CusumInfo, b: CusumInfo, threshold: float) -> None:
    np.testing.assert_array_equal(a.valid, b.valid)
    np.testing.assert_array_equal(a.alarm, b.alarm)
    # Running sums against step-by-step sums: rounding relative to the threshold's scale.
    for x, y in ((a.s_pos, b.s_pos), (a.s_neg, b.s_neg)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-10 * threshold)


def noisy(seed: int = 0, T: int = 500, K: int = 3, p_nan: float = 0.1) -> SeriesObsBatch:
    rng = np.random.default_rng(seed)
    t = (1_700_000_000 + np.cumsum(rng.integers(5, 30, T))) * NS
    x = rng.normal(0.0, 1.0, (T, K)) + np.where(np.arange(T)[:, None] > T // 2, 2.0, 0.0)
    x[rng.random((T, K)) < p_nan] = np.nan
    return SeriesObsBatch(t, x)


@pytest.mark.parametrize(
    "params",
    [
        LEVEL,
        LEVEL._replace(reference="zero"),
        LEVEL._replace(difference=True),
        LEVEL._replace(reference="zero", difference=True),
    ],
)
def test_fold_equals_batch_every_mode(params: CusumParams) -> None:
    obs = noisy()
    info = fold(params, obs)
    assert (info.alarm != 0).sum() >= 2
    assert_infos_close(info, cusum_batch(params, obs), params.threshold)


def test_fold_equals_batch_on_simulator_mid_changes() -> None:
    g, _ = sim_mids()
    obs = SeriesObsBatch(g.t_ns, g.mid)
    info = fold(CHANGES, obs)
    assert (info.alarm != 0).any()
    assert_infos_close(info, cusum_batch(CHANGES, obs), CHANGES.threshold)


@pytest.mark.realdata
def test_fold_equals_batch_on_real_mid_changes(shared_data: Path) -> None:
    g, _ = real_mids(shared_data)
    obs = SeriesObsBatch(g.t_ns, g.mid)
    info = fold(CHANGES, obs)
    assert (info.alarm == 1).any() and (info.alarm == -1).any()
    assert_infos_close(info, cusum_batch(CHANGES, obs), CHANGES.threshold)


def scalar_cusum(xs: list[float], ts: list[float], p: CusumParams) -> list[tuple]:
    """Page's recursion for one series in plain Python, straight from the definitions."""
    out, sp, sn, m, t_m, prev = [], 0.0, 0.0, None, None, None
    for x, t in zip(xs, ts, strict=True):
        if math.isnan(x):
            out.append((sp, sn, 0))
            continue
        y = None
        if p.difference:
            y = None if prev is None else x - prev
            prev = x
        else:
            y = x
        e = None
        if y is not None:
            if p.reference == "zero":
                e = y
            elif m is None:
                m, t_m = y, t
            else:
                e = y - m
                m += (1 - 0.5 ** ((t - t_m) / p.halflife_s)) * e
                t_m = t
        if e is not None:
            sp, sn = max(0.0, sp + e - p.drift), max(0.0, sn - e - p.drift)
        alarm = 1 if sp > p.threshold else -1 if sn > p.threshold else 0
        out.append((sp, sn, alarm))
        if alarm:
            sp = sn = 0.0
    return out


@pytest.mark.parametrize("params", [LEVEL, LEVEL._replace(reference="zero", difference=True)])
def test_matches_a_scalar_python_loop(params: CusumParams) -> None:
    obs = noisy(seed=2, K=2)
    info = fold(params, obs)
    ts = (obs.t_ns * 1e-9).tolist()
    for col in range(2):
        want = scalar_cusum(obs.x[:, col].tolist(), ts, params)
        np.testing.assert_allclose(info.s_pos[:, col], [w[0] for w in want], rtol=1e-11)
        np.testing.assert_allclose(info.s_neg[:, col], [w[1] for w in want], rtol=1e-11)
        np.testing.assert_array_equal(info.alarm[:, col], [w[2] for w in want])


def test_step_change_alarms_after_the_closed_form_delay() -> None:
    # Noise-free jump of mu > k from level 0: S+ grows by mu - k per tick, so the alarm comes
    # at the first n with n (mu - k) > h, then the reset re-arms it every n ticks.
    mu, k, h = 1.0, 0.25, 2.0
    x = np.r_[np.zeros(10), np.full(20, mu)][:, None]
    info = fold(CusumParams(h, k), SeriesObsBatch(np.arange(30) * NS, x))
    n = math.floor(h / (mu - k)) + 1
    assert np.flatnonzero(info.alarm[:, 0]).tolist() == list(range(10 + n - 1, 30, n))
    assert (info.alarm[:, 0] >= 0).all() and info.s_neg.max() == 0.0
    assert info.s_pos[10 + n - 1, 0] == pytest.approx(n * (mu - k))  # reported before reset


def test_missing_input_holds_and_raises_no_alarm() -> None:
    alg = cusum(CusumParams(1.0, 0.0), 1)
    s, _ = alg.update(alg.init(None), SeriesObs(0, np.array([0.8])), None)
    held, info = alg.update(s, SeriesObs(NS, np.array([np.nan])), None)
    for a, b in zip(held[:6], s[:6], strict=True):  # all but the tick time and sync flag
        np.testing.assert_array_equal(a, b)
    assert info.alarm[0] == 0 and not info.valid[0]
    _, info = alg.update(held, SeriesObs(2 * NS, np.array([0.8])), None)
    assert info.alarm[0] == 1 and info.s_pos[0] == pytest.approx(1.6)


def test_causal_future_changes_leave_the_past_bit_identical() -> None:
    obs = noisy(seed=4)
    base = cusum_batch(LEVEL, obs)
    x = obs.x.copy()
    x[300:] = -x[300:] * 3
    other = cusum_batch(LEVEL, SeriesObsBatch(obs.t_ns, x))
    for a, b in zip(base, other, strict=True):
        np.testing.assert_array_equal(a[:300], b[:300])
    assert not np.array_equal(base.s_pos[300:], other.s_pos[300:])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold", 0.0),
        ("threshold", math.inf),
        ("drift", -0.1),
        ("drift", math.nan),
        ("reference", "mean"),
        ("halflife_s", None),
        ("halflife_s", -3.0),
        ("difference", "yes"),
    ],
)
def test_bad_params_raise_naming_the_field(field: str, value: object) -> None:
    params = LEVEL._replace(**{field: value})
    with pytest.raises(ValueError, match=field):
        cusum(params, 2)
    with pytest.raises(ValueError, match=field):
        cusum_batch(params, noisy(T=4, K=2))


def test_wrong_shape_raises() -> None:
    alg = cusum(LEVEL, 2)
    with pytest.raises(ValueError, match="shape"):
        alg.update(alg.init(None), SeriesObs(0, np.zeros(3)), None)


@pytest.mark.parametrize("params", [LEVEL, LEVEL._replace(reference="zero", difference=True)])
def test_steady_state_fast_path_equals_the_general_path(params: CusumParams) -> None:
    obs = noisy(seed=13, p_nan=0.03)
    alg = cusum(params, obs.x.shape[1])
    fast = slow = alg.init(None)
    n_fast = 0
    for t, x in zip(obs.t_ns, obs.x, strict=True):
        n_fast += fast.synced
        fast, a = alg.update(fast, SeriesObs(int(t), x), None)
        slow, b = alg.update(slow._replace(synced=False), SeriesObs(int(t), x), None)
        for u, w in zip(a, b, strict=True):
            np.testing.assert_allclose(u, w, rtol=1e-13, atol=1e-12)
    assert n_fast > 100


def test_an_infinite_input_and_time_going_back_raise() -> None:
    alg = cusum(LEVEL, 2)
    with pytest.raises(ValueError, match="infinite"):
        alg.update(alg.init(None), SeriesObs(NS, np.array([1.0, np.inf])), None)
    with pytest.raises(ValueError, match="infinite"):
        cusum_batch(LEVEL, SeriesObsBatch(np.array([NS]), np.array([[np.inf, 1.0]])))
    s, _ = alg.update(alg.init(None), SeriesObs(2 * NS, np.zeros(2)), None)
    with pytest.raises(ValueError, match="t_ns=1000000000"):
        alg.update(s, SeriesObs(NS, np.zeros(2)), None)
    with pytest.raises(ValueError, match="t_ns=1000000000"):
        cusum_batch(LEVEL, SeriesObsBatch(np.array([2, 1]) * NS, np.zeros((2, 2))))
