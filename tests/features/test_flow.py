"""Rolling aggressive flow: online fold == batch twin == brute force, strictly causal windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from kbayes.features.flow import (
    FlowBatch,
    FlowParams,
    flow,
    flow_batch,
    stack_infos,
    trade_arrays,
)
from kbayes.market.events import NS_PER_S, Quote, Tick, TradePrint, utc_to_ns
from kbayes.sim import SimConfig, simulate

PARAMS = FlowParams(windows_s=(5.0, 15.0, 60.0), volume_windows_s=(600.0, 1200.0))


def _print(t_ns: int, side: str, count: int = 100, price: int = 4000) -> TradePrint:
    return TradePrint(t_ns, t_ns, "X", price, count, side)


def _trades_from_frame(df) -> list[TradePrint]:
    df = df.sort_values("ts", kind="stable")
    return [
        TradePrint(t, t, tk, int(p), int(c), str(s))
        for t, tk, p, c, s in zip(
            (utc_to_ns(ts.to_pydatetime()) for ts in df["ts"]),
            df["ticker"],
            df["yes_price_cc"],
            df["count_centi"],
            df["taker_side"],
            strict=True,
        )
    ]


def _fold(
    params: FlowParams, trades: Sequence[TradePrint], ticks: Sequence[int]
) -> tuple[FlowBatch, FlowBatch]:
    """Feed the merged stream in clock order (a tick at t before the prints at t)."""
    stream = [(t, 0, Tick(t, t)) for t in ticks] + [(tr.ts_ns, 1, tr) for tr in trades]
    stream.sort(key=lambda x: (x[0], x[1]))
    algo = flow(params)
    state = algo.init(None)
    at_ticks, at_trades = [], []
    for _, kind, obs in stream:
        state, info = algo.update(state, obs, None)
        (at_trades if kind else at_ticks).append(info)
    return stack_infos(at_ticks), stack_infos(at_trades)


def _brute(params: FlowParams, trades: Sequence[TradePrint], t: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {k: [] for k in ("n_buy", "n_sell", "buy", "sell", "bn", "sn")}
    for w_s in params.windows_s:
        w = round(w_s * NS_PER_S)
        inside = [tr for tr in trades if t - w <= tr.ts_ns < t]
        buys = [tr for tr in inside if tr.taker_side == "yes"]
        sells = [tr for tr in inside if tr.taker_side == "no"]
        out["n_buy"].append(len(buys))
        out["n_sell"].append(len(sells))
        out["buy"].append(sum(tr.count_centi for tr in buys))
        out["sell"].append(sum(tr.count_centi for tr in sells))
        out["bn"].append(sum(tr.count_centi * tr.yes_price_cc for tr in buys))
        out["sn"].append(sum(tr.count_centi * tr.yes_price_cc for tr in sells))
    out["vol"] = [
        sum(tr.count_centi for tr in trades if t - round(v * NS_PER_S) <= tr.ts_ns < t)
        for v in params.volume_windows_s
    ]
    return out


def _assert_batches_equal(a: FlowBatch, b: FlowBatch) -> None:
    for name, x, y in zip(FlowBatch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.fixture(scope="module")
def sim_trades() -> list[TradePrint]:
    res = simulate(SimConfig(n_days=1, cities=("NY",), n_prior_years=1, n_mc=16, seed=3))
    tr = res.trades
    busiest = tr["ticker"].value_counts().index[0]
    trades = _trades_from_frame(tr[tr["ticker"] == busiest])
    assert len(trades) > 50
    return trades


def _ticks(trades: Sequence[TradePrint], step_s: int = 10) -> list[int]:
    t0, t1 = trades[0].ts_ns - 30 * NS_PER_S, trades[-1].ts_ns + 1300 * NS_PER_S
    return list(range(t0, t1, step_s * NS_PER_S))


def _check_fold_batch_brute(trades: list[TradePrint], n_brute: int = 60) -> None:
    ticks = _ticks(trades)
    online_ticks, online_trades = _fold(PARAMS, trades, ticks)
    arrays = trade_arrays(trades)
    _assert_batches_equal(online_ticks, flow_batch(PARAMS, arrays, np.array(ticks)))
    trade_t = np.array([tr.ts_ns for tr in trades])
    _assert_batches_equal(online_trades, flow_batch(PARAMS, arrays, trade_t))
    # brute force at a spread of ticks and at every print time among the first ones
    rng = np.random.default_rng(0)
    picks = rng.choice(len(ticks), size=min(n_brute, len(ticks)), replace=False)
    for i in picks:
        ref = _brute(PARAMS, trades, ticks[i])
        assert list(online_ticks.n_buy[i]) == ref["n_buy"]
        assert list(online_ticks.n_sell[i]) == ref["n_sell"]
        assert list(online_ticks.buy_centi[i]) == ref["buy"]
        assert list(online_ticks.sell_centi[i]) == ref["sell"]
        assert list(online_ticks.buy_notional[i]) == ref["bn"]
        assert list(online_ticks.sell_notional[i]) == ref["sn"]
        assert list(online_ticks.volume_centi[i]) == ref["vol"]
    for i in range(min(n_brute, len(trades))):
        ref = _brute(PARAMS, trades, trades[i].ts_ns)
        assert list(online_trades.buy_centi[i]) == ref["buy"]
        assert list(online_trades.volume_centi[i]) == ref["vol"]
    assert online_ticks.in_order.all() and online_trades.in_order.all()
    # the windows are not all empty: the test compares real sums
    assert online_ticks.volume_centi.max() > 0 and online_ticks.n_buy.max() > 0


def test_fold_equals_batch_and_brute_force_on_the_simulator(sim_trades) -> None:
    _check_fold_batch_brute(sim_trades)


@pytest.mark.slow  # the session's real store takes minutes to build
@pytest.mark.realdata
def test_fold_equals_batch_and_brute_force_on_real_trades(real_store) -> None:
    busiest = real_store.query(
        "SELECT ticker, count(*) AS n FROM trades WHERE source LIKE 'cpratim%' "
        "GROUP BY ticker ORDER BY n DESC, ticker LIMIT 1"
    )
    ticker = busiest["ticker"].iloc[0]
    df = real_store.query(
        "SELECT ticker, ts, yes_price_cc, count_centi, taker_side FROM trades "
        f"WHERE ticker = '{ticker}' ORDER BY ts, trade_id"
    )
    trades = _trades_from_frame(df)
    assert len(trades) > 100
    # sweeps: several prints at one timestamp exist on the real tape, exercising the ties
    t = np.array([tr.ts_ns for tr in trades])
    assert (np.diff(t) == 0).any()
    _check_fold_batch_brute(trades[:3000], n_brute=40)


def test_a_print_at_exactly_t_is_not_in_the_window_at_t() -> None:
    t = 1_000 * NS_PER_S
    trades = [_print(t - 5 * NS_PER_S, "yes", 100), _print(t, "yes", 300)]
    algo = flow(FlowParams(windows_s=(5.0,), volume_windows_s=(60.0,)))
    state = algo.init(None)
    state, _ = algo.update(state, trades[0], None)
    state, at_print = algo.update(state, trades[1], None)
    # read at t after the print at t was absorbed: still only the print at t - 5 s
    _, at_tick = algo.update(state, Tick(t, t), None)
    for info in (at_print, at_tick):
        assert info.buy_centi == (100,) and info.volume_centi == (100,)
    # the left edge is closed: t - W is in, just before it is out
    _, later = algo.update(state, Tick(t + 1, t + 1), None)
    assert later.buy_centi == (300,)
    batch = flow_batch(algo_params := FlowParams((5.0,), (60.0,)), trade_arrays(trades), [t, t + 1])
    assert batch.buy_centi[:, 0].tolist() == [100, 300]
    assert algo_params.windows_s == (5.0,)
    # a sweep's second print does not see the first (same timestamp)
    state = algo.init(None)
    state, _ = algo.update(state, _print(t, "no", 100), None)
    _, second = algo.update(state, _print(t, "no", 200), None)
    assert second.sell_centi == (0,) and second.n_sell == (0,)


def test_changing_the_future_leaves_past_reads_bit_identical(sim_trades) -> None:
    ticks = _ticks(sim_trades)
    cut = sim_trades[len(sim_trades) // 2].ts_ns
    future = [
        tr._replace(count_centi=tr.count_centi * 7 + 1, taker_side="no") if tr.ts_ns >= cut else tr
        for tr in sim_trades
    ]
    a, _ = _fold(PARAMS, sim_trades, ticks)
    b, _ = _fold(PARAMS, future, ticks)
    past = np.array(ticks) <= cut
    assert past.any() and (~past).any()
    for name, x, y in zip(FlowBatch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x[past], y[past], err_msg=name)
    assert not np.array_equal(a.volume_centi[~past], b.volume_centi[~past])
    arrays_a, arrays_b = trade_arrays(sim_trades), trade_arrays(future)
    qa = flow_batch(PARAMS, arrays_a, np.array(ticks))
    qb = flow_batch(PARAMS, arrays_b, np.array(ticks))
    np.testing.assert_array_equal(qa.sell_centi[past], qb.sell_centi[past])


def test_out_of_order_print_is_clamped_and_flagged() -> None:
    algo = flow(FlowParams((5.0,), (60.0,)))
    state = algo.init(None)
    state, _ = algo.update(state, _print(10 * NS_PER_S, "yes"), None)
    state, info = algo.update(state, _print(9 * NS_PER_S, "yes", 50), None)
    assert not info.in_order and info.t_ns == 10 * NS_PER_S
    _, tick = algo.update(state, Tick(8 * NS_PER_S, 8 * NS_PER_S), None)
    assert not tick.in_order
    _, tick = algo.update(state, Tick(11 * NS_PER_S, 11 * NS_PER_S), None)
    assert tick.in_order and tick.buy_centi == (150,)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (FlowParams(windows_s=()), "windows_s"),
        (FlowParams(windows_s=(5.0, 0.0)), r"windows_s\[1\] = 0.0"),
        (FlowParams(windows_s=(-5.0,)), r"windows_s\[0\] = -5.0"),
        (FlowParams(windows_s=(float("nan"),)), r"windows_s\[0\] = nan"),
        (FlowParams(volume_windows_s=(600.0, "1200")), r"volume_windows_s\[1\] = '1200'"),
    ],
)
def test_bad_params_raise(params: FlowParams, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        flow(params)
    with pytest.raises(ValueError, match=field):
        flow_batch(params, trade_arrays([_print(0, "yes")]), np.array([1]))


def test_bad_prints_raise() -> None:
    algo = flow(PARAMS)
    state = algo.init(None)
    with pytest.raises(ValueError, match="taker_side = 'buy'"):
        algo.update(state, _print(1, "buy"), None)
    with pytest.raises(ValueError, match="count_centi = 0"):
        algo.update(state, _print(1, "yes", 0), None)
    quote = Quote(1, 1, "X", 4000, 4500)  # a wiring error, not a read
    with pytest.raises(TypeError, match="got Quote"):
        algo.update(state, quote, None)
