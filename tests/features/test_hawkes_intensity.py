"""Online Hawkes buy/sell intensities == kbayes.pointprocess batch intensities == brute force."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import jax
import numpy as np
import pandas as pd
import pytest

from kbayes.features.hawkes_intensity import (
    HawkesFeatureBatch,
    hawkes_intensity,
    hawkes_intensity_batch,
    stack_infos,
)
from kbayes.market.events import NS_PER_S, Quote, Tick, TradePrint, ns_to_utc, utc_to_ns
from kbayes.pointprocess import (
    HawkesParams,
    hawkes_params,
    hour_of_day_baseline,
    intensity_at,
    simulate,
)
from kbayes.sim import SimConfig
from kbayes.sim import simulate as simulate_market
from models.flow_hawkes.events import flow_events
from tests.pointprocess.reference import brute_intensity

ORIGIN = utc_to_ns(pd.Timestamp("2025-03-01 14:00", tz="UTC").to_pydatetime())
TICKERS = ("K-T40", "K-B41", "K-T43")
NS_PER_MIN = 60 * NS_PER_S


@pytest.fixture(autouse=True)
def _x64() -> Iterator[None]:
    # the kbayes.pointprocess oracles run in float64, as the package code does
    with jax.enable_x64(True):
        yield


def _params(k: int, seed: int = 0, bins: int = 4) -> HawkesParams:
    rng = np.random.default_rng(seed)
    d = 2 * k
    alpha = rng.uniform(0.0, 0.6 / d, (d, d)) + np.eye(d) * 0.3
    return hawkes_params(rng.uniform(0.05, 0.4, (d, bins)), alpha, rng.uniform(0.2, 3.0, (d, d)))


GRID = hour_of_day_baseline((0, 6, 12, 18, 24), start_hour=9.0, seconds_per_unit=60.0)


def _prints_from_events(times: np.ndarray, marks: np.ndarray, tickers) -> list[TradePrint]:
    out = []
    for t, m in zip(times, marks, strict=True):
        ns = ORIGIN + round(float(t) * NS_PER_MIN)
        k, s = divmod(int(m), 2)
        out.append(TradePrint(ns, ns, tickers[k], 5000, 100, "yes" if s == 0 else "no"))
    return out


def _fold(algo, trades: Sequence[TradePrint], ticks: Sequence[int]):
    stream = [(t, 0, Tick(t, t)) for t in ticks] + [(tr.ts_ns, 1, tr) for tr in trades]
    stream.sort(key=lambda x: (x[0], x[1]))
    state = algo.init(None)
    at_ticks, at_trades = [], []
    for _, kind, obs in stream:
        state, info = algo.update(state, obs, None)
        (at_trades if kind else at_ticks).append(info)
    return stack_infos(at_ticks), stack_infos(at_trades)


def _assert_close(a: HawkesFeatureBatch, b: HawkesFeatureBatch) -> None:
    np.testing.assert_array_equal(a.t_ns, b.t_ns)
    np.testing.assert_array_equal(a.in_order, b.in_order)
    for name in ("intensity", "buy", "sell"):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13, err_msg=name)


def _check(
    params: HawkesParams, tickers, origin: int, trades: list[TradePrint], grid, tick_s: int
) -> HawkesFeatureBatch:
    algo = hawkes_intensity(params, tickers, origin, grid=grid)
    t_end = max(tr.ts_ns for tr in trades) + 600 * NS_PER_S
    early = [origin - 3 * tick_s * NS_PER_S, origin - 1]  # reads before the window: missing
    ticks = list(range(origin, t_end, tick_s * NS_PER_S))
    at_early, _ = _fold(algo, [], early)
    assert np.isnan(at_early.intensity).all()
    early_batch = hawkes_intensity_batch(params, tickers, origin, trades, early, grid=grid)
    assert np.isnan(early_batch.intensity).all()
    at_ticks, at_trades = _fold(algo, trades, ticks)
    batch_ticks = hawkes_intensity_batch(params, tickers, origin, trades, ticks, grid=grid)
    batch_trades = hawkes_intensity_batch(
        params, tickers, origin, trades, [tr.ts_ns for tr in trades], grid=grid
    )
    _assert_close(at_ticks, batch_ticks)
    _assert_close(at_trades, batch_trades)
    # oracle 1: the fitting pipeline's own event builder (models/flow_hawkes) + intensity_at
    df = pd.DataFrame(
        {
            "ticker": [tr.ticker for tr in trades],
            "ts": pd.to_datetime([tr.ts_ns for tr in trades], utc=True),
            "taker_side": [tr.taker_side for tr in trades],
        }
    )
    start = pd.Timestamp(ns_to_utc(origin))
    events, _, dropped = flow_events(df, tickers, start, pd.Timestamp(ns_to_utc(t_end)))
    assert dropped == 0
    q = (np.array(ticks) - origin) / (60.0 * NS_PER_S)
    ref = intensity_at(params, events, q, grid)
    np.testing.assert_allclose(at_ticks.intensity, ref, rtol=1e-12, atol=1e-13)
    # oracle 2: brute-force sum over every event strictly before t
    mu, alpha, beta = (np.asarray(x, np.float64) for x in params)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(ticks), size=min(25, len(ticks)), replace=False):
        brute = brute_intensity(mu, alpha, beta, events.times, events.marks, float(q[i]), grid)
        np.testing.assert_allclose(at_ticks.intensity[i], brute, rtol=1e-10)
    assert at_ticks.in_order.all()
    return at_ticks


def test_fold_equals_batch_and_brute_force_on_a_hawkes_path() -> None:
    params = _params(len(TICKERS))
    ev = simulate(params, 300.0, np.random.default_rng(3), GRID)  # 5 hours in minutes
    trades = _prints_from_events(ev.times, ev.marks, TICKERS)
    # sweeps (a second print of one order) and ties across dimensions at one instant
    trades += [trades[5], trades[9]._replace(ticker=TICKERS[2], taker_side="no")]
    trades.sort(key=lambda tr: tr.ts_ns)
    assert len(trades) > 100
    got = _check(params, TICKERS, ORIGIN, trades, GRID, tick_s=30)
    assert np.ptp(got.buy[:, 0]) > 0.1  # the intensity moves: excitation is tested


def test_fold_equals_batch_on_the_simulator_ladder() -> None:
    res = simulate_market(SimConfig(n_days=1, cities=("NY",), n_prior_years=1, n_mc=16, seed=2))
    m = res.markets.assign(key=res.markets["floor_strike"].fillna(-1e9)).sort_values("key")
    tickers = tuple(m["ticker"])
    origin = utc_to_ns(m["open_time"].min().to_pydatetime())
    tr = res.trades.sort_values("ts", kind="stable")
    trades = [
        TradePrint(t, t, tk, int(p), int(c), str(s))
        for t, tk, p, c, s in zip(
            (utc_to_ns(x.to_pydatetime()) for x in tr["ts"]),
            tr["ticker"],
            tr["yes_price_cc"],
            tr["count_centi"],
            tr["taker_side"],
            strict=True,
        )
    ]
    _check(_params(len(tickers), seed=1, bins=1), tickers, origin, trades, None, tick_s=60)


@pytest.mark.slow  # the session's real store takes minutes to build
@pytest.mark.realdata
def test_fold_equals_batch_on_a_real_event(real_store) -> None:
    ev = real_store.query(
        "SELECT event_ticker, count(*) AS n FROM trades WHERE source LIKE 'cpratim%' "
        "GROUP BY event_ticker ORDER BY n DESC, event_ticker LIMIT 1 OFFSET 20"
    )["event_ticker"].iloc[0]
    markets = real_store.query(
        f"SELECT ticker, floor_strike, open_time FROM markets WHERE event_ticker = '{ev}'"
    )
    tr = real_store.query(
        "SELECT DISTINCT ON (trade_id) trade_id, ticker, ts, yes_price_cc, count_centi, "
        f"taker_side FROM trades WHERE event_ticker = '{ev}'"
    ).sort_values(["ts", "trade_id"], kind="stable")
    m = markets.assign(key=markets["floor_strike"].fillna(-1e9)).sort_values("key")
    tickers = tuple(m["ticker"])
    origin = utc_to_ns(min(m["open_time"].min(), tr["ts"].min()).to_pydatetime())
    trades = [
        TradePrint(t, t, tk, int(p), int(c), str(s))
        for t, tk, p, c, s in zip(
            (utc_to_ns(x.to_pydatetime()) for x in tr["ts"]),
            tr["ticker"],
            tr["yes_price_cc"],
            tr["count_centi"],
            tr["taker_side"],
            strict=True,
        )
    ]
    assert len(trades) > 200
    grid = hour_of_day_baseline((0, 8, 16, 24), start_hour=10.0, seconds_per_unit=60.0)
    _check(_params(len(tickers), seed=4, bins=3), tickers, origin, trades, grid, tick_s=300)


def test_a_print_at_t_does_not_excite_the_read_at_t_and_sweeps_count_once() -> None:
    params = _params(len(TICKERS), bins=1)
    algo = hawkes_intensity(params, TICKERS, ORIGIN)
    mu = np.asarray(params.mu)[:, 0]
    t = ORIGIN + 10 * NS_PER_MIN
    one = TradePrint(t, t, TICKERS[1], 5000, 100, "no")
    state, at_print = algo.update(algo.init(None), one, None)
    _, at_t = algo.update(state, Tick(t, t), None)
    np.testing.assert_array_equal(at_print.intensity, mu)
    np.testing.assert_array_equal(at_t.intensity, mu)  # the print at exactly t is not in
    _, later = algo.update(state, Tick(t + NS_PER_MIN, t + NS_PER_MIN), None)
    alpha, beta = np.asarray(params.alpha), np.asarray(params.beta)
    m = 2 * 1 + 1
    np.testing.assert_allclose(later.intensity, mu + alpha[:, m] * beta[:, m] * np.exp(-beta[:, m]))
    # a second print of the same order (same instant, bracket, side) is the same event
    swept, _ = algo.update(state, one, None)
    _, later2 = algo.update(swept, Tick(t + NS_PER_MIN, t + NS_PER_MIN), None)
    np.testing.assert_array_equal(later2.intensity, later.intensity)
    # ... but the other side at the same instant is another event
    other, _ = algo.update(state, one._replace(taker_side="yes"), None)
    _, later3 = algo.update(other, Tick(t + NS_PER_MIN, t + NS_PER_MIN), None)
    assert (later3.intensity > later.intensity).any()


def test_changing_the_future_leaves_past_reads_bit_identical() -> None:
    params = _params(len(TICKERS))
    ev = simulate(params, 120.0, np.random.default_rng(5), GRID)
    trades = _prints_from_events(ev.times, ev.marks, TICKERS)
    cut = trades[len(trades) // 2].ts_ns
    future = [tr._replace(taker_side="no") if tr.ts_ns >= cut else tr for tr in trades]
    future += [TradePrint(cut + k, cut + k, TICKERS[0], 5000, 100, "yes") for k in (0, 7, 9)]
    future.sort(key=lambda tr: tr.ts_ns)
    algo = hawkes_intensity(params, TICKERS, ORIGIN, grid=GRID)
    ticks = list(range(ORIGIN, trades[-1].ts_ns, 20 * NS_PER_S))
    a, _ = _fold(algo, trades, ticks)
    b, _ = _fold(algo, future, ticks)
    past = np.array(ticks) <= cut
    np.testing.assert_array_equal(a.intensity[past], b.intensity[past])
    assert not np.array_equal(a.intensity[~past], b.intensity[~past])


def test_out_of_order_print_is_clamped_and_flagged() -> None:
    algo = hawkes_intensity(_params(len(TICKERS), bins=1), TICKERS, ORIGIN)
    t = ORIGIN + NS_PER_MIN
    state, _ = algo.update(algo.init(None), TradePrint(t, t, TICKERS[0], 1, 100, "yes"), None)
    early = TradePrint(t - 5, t - 5, TICKERS[0], 1, 100, "no")
    state, info = algo.update(state, early, None)
    assert not info.in_order and info.t_ns == t and state.t_last_ns == t
    _, info = algo.update(state, Tick(t - 9, t - 9), None)
    assert not info.in_order


def test_bad_arguments_raise() -> None:
    p = _params(len(TICKERS), bins=1)
    with pytest.raises(ValueError, match="do not fit 2 brackets"):
        hawkes_intensity(p, TICKERS[:2], ORIGIN)
    with pytest.raises(ValueError, match="duplicate ticker"):
        hawkes_intensity(p, (TICKERS[0], TICKERS[0], TICKERS[1]), ORIGIN)
    with pytest.raises(ValueError, match=r"params.alpha\[0, 0\] = -0.1"):
        hawkes_intensity(p._replace(alpha=np.asarray(p.alpha).copy() * 0 - 0.1), TICKERS, ORIGIN)
    with pytest.raises(ValueError, match="unit_seconds = 0"):
        hawkes_intensity(p, TICKERS, ORIGIN, unit_seconds=0)
    with pytest.raises(ValueError, match=r"origin_ns = 1\.5"):
        hawkes_intensity(p, TICKERS, 1.5)
    with pytest.raises(ValueError, match="4 baseline bins, grid 1"):
        hawkes_intensity(_params(len(TICKERS), bins=4), TICKERS, ORIGIN)
    algo = hawkes_intensity(p, TICKERS, ORIGIN)
    s0 = algo.init(None)
    t = ORIGIN + 1
    with pytest.raises(ValueError, match="ticker = 'OTHER'"):
        algo.update(s0, TradePrint(t, t, "OTHER", 1, 100, "yes"), None)
    with pytest.raises(ValueError, match="taker_side = 'buy'"):
        algo.update(s0, TradePrint(t, t, TICKERS[0], 1, 100, "buy"), None)
    with pytest.raises(ValueError, match="before origin_ns"):
        algo.update(s0, TradePrint(ORIGIN - 1, ORIGIN - 1, TICKERS[0], 1, 100, "yes"), None)
    with pytest.raises(TypeError, match="got Quote"):
        algo.update(s0, Quote(t, t, TICKERS[0], 4000, 4500), None)
    # a read before the model's window is missing, not the baseline
    _, info = algo.update(s0, Tick(ORIGIN - 1, ORIGIN - 1), None)
    assert np.isnan(info.intensity).all() and np.isnan(info.buy).all()
    _, info = algo.update(s0, Tick(ORIGIN, ORIGIN), None)
    np.testing.assert_array_equal(info.intensity, np.asarray(p.mu)[:, 0])
