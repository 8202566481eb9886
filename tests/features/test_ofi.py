"""Order-flow imbalance: online fold == batch twin == brute force on simulated and real books."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kbayes.features.ofi import (
    NO_PRICE,
    OfiBatch,
    OfiParams,
    TopOfBook,
    ofi,
    ofi_batch,
    stack_infos,
    top_arrays,
    top_of_book,
)
from kbayes.io.kalshi.book_wire import apply_delta, book_from_snapshot
from kbayes.market.book import OrderBook
from kbayes.market.events import NS_PER_S, Quote, Tick, utc_to_ns
from kbayes.sim import SimConfig, simulate

PARAMS = OfiParams(windows_s=(1.0, 10.0, 60.0))
WS_CAPTURE = Path("kalshi/protocol_captures/cockpit_ws_orderbook_stream.json")


def _brute_e(prev: TopOfBook, cur: TopOfBook) -> int:
    """e_n by cases, a missing side spelled out (independent of the sentinel prices)."""
    e = 0
    # bid side
    if prev.bid_cc != NO_PRICE and cur.bid_cc != NO_PRICE:
        if cur.bid_cc > prev.bid_cc:
            e += cur.bid_size_centi
        elif cur.bid_cc < prev.bid_cc:
            e -= prev.bid_size_centi
        else:
            e += cur.bid_size_centi - prev.bid_size_centi
    elif cur.bid_cc != NO_PRICE:  # a bid appeared: the bid rose from -inf
        e += cur.bid_size_centi
    elif prev.bid_cc != NO_PRICE:  # the bids emptied: the bid fell to -inf
        e -= prev.bid_size_centi
    # ask side
    if prev.ask_cc != NO_PRICE and cur.ask_cc != NO_PRICE:
        if cur.ask_cc < prev.ask_cc:
            e -= cur.ask_size_centi
        elif cur.ask_cc > prev.ask_cc:
            e += prev.ask_size_centi
        else:
            e -= cur.ask_size_centi - prev.ask_size_centi
    elif cur.ask_cc != NO_PRICE:  # an ask appeared (fell from +inf)
        e -= cur.ask_size_centi
    elif prev.ask_cc != NO_PRICE:  # the asks emptied
        e += prev.ask_size_centi
    return e


def _brute(params: OfiParams, tops: Sequence[TopOfBook], t: int) -> tuple[list[int], float]:
    """OFI per window and the queue imbalance at t, recomputed from the full list of tops."""
    e = [0] + [_brute_e(a, b) for a, b in itertools.pairwise(tops)]
    ofis = []
    for w_s in params.windows_s:
        w = round(w_s * NS_PER_S)
        ofis.append(sum(en for en, top in zip(e, tops, strict=True) if t - w <= top.t_ns < t))
    before = [top for top in tops if top.t_ns < t]
    qi = math.nan
    if before and before[-1].bid_cc != NO_PRICE and before[-1].ask_cc != NO_PRICE:
        top = before[-1]
        qi = (top.bid_size_centi - top.ask_size_centi) / (top.bid_size_centi + top.ask_size_centi)
    return ofis, qi


def _fold(params: OfiParams, tops: Sequence[TopOfBook], ticks: Sequence[int]):
    stream = [(t, 0, Tick(t, t)) for t in ticks] + [(top.t_ns, 1, top) for top in tops]
    stream.sort(key=lambda x: (x[0], x[1]))
    algo = ofi(params)
    state = algo.init(None)
    at_ticks, at_tops = [], []
    for _, kind, obs in stream:
        state, info = algo.update(state, obs, None)
        (at_tops if kind else at_ticks).append(info)
    return stack_infos(at_ticks), stack_infos(at_tops)


def _assert_equal(a: OfiBatch, b: OfiBatch) -> None:
    for name, x, y in zip(OfiBatch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)


def _check(tops: list[TopOfBook], tick_s: float, n_brute: int = 80) -> OfiBatch:
    t0, t1 = tops[0].t_ns - NS_PER_S, tops[-1].t_ns + 70 * NS_PER_S
    ticks = list(range(t0, t1, round(tick_s * NS_PER_S)))
    at_ticks, at_tops = _fold(PARAMS, tops, ticks)
    arrays = top_arrays(tops)
    _assert_equal(at_ticks, ofi_batch(PARAMS, arrays, np.array(ticks)))
    _assert_equal(at_tops, ofi_batch(PARAMS, arrays, arrays.t_ns))
    rng = np.random.default_rng(1)
    for i in rng.choice(len(ticks), size=min(n_brute, len(ticks)), replace=False):
        ofis, qi = _brute(PARAMS, tops, ticks[i])
        assert list(at_ticks.ofi[i]) == ofis
        np.testing.assert_equal(at_ticks.queue_imbalance[i], qi)
    for i in rng.choice(len(tops), size=min(n_brute, len(tops)), replace=False):
        ofis, qi = _brute(PARAMS, tops, tops[i].t_ns)
        assert list(at_tops.ofi[i]) == ofis
        np.testing.assert_equal(at_tops.queue_imbalance[i], qi)
    return at_ticks


def _sim_tops() -> list[TopOfBook]:
    res = simulate(SimConfig(n_days=1, cities=("NY",), n_prior_years=1, n_mc=16, seed=5))
    deltas = res.book_deltas
    ticker = deltas["ticker"].value_counts().index[0]
    levels = res.book_levels[res.book_levels["ticker"] == ticker]
    side = {s: dict(zip(g["price_cc"].astype(int), g["size_centi"].astype(int), strict=True))
            for s, g in levels.groupby("side")}  # fmt: skip
    book = OrderBook(ticker, side.get("yes", {}), side.get("no", {}))
    t_open = utc_to_ns(levels["ts"].iloc[0].to_pydatetime())
    tops = [top_of_book(t_open, book)]
    d = deltas[deltas["ticker"] == ticker].sort_values(["ts", "seq"], kind="stable")
    for ts, s, p, dc in zip(d["ts"], d["side"], d["price_cc"], d["delta_centi"], strict=True):
        book.change(str(s), int(p), int(dc))
        tops.append(top_of_book(utc_to_ns(ts.to_pydatetime()), book))
    return tops


def test_fold_equals_batch_and_brute_force_on_the_simulator() -> None:
    tops = _sim_tops()
    assert len(tops) > 100
    assert any(a.t_ns == b.t_ns for a, b in itertools.pairwise(tops))  # ties
    assert np.abs(_check(tops, tick_s=10.0).ofi).max() > 0  # the windows see real flow


@pytest.mark.realdata
def test_fold_equals_batch_and_brute_force_on_real_ws_deltas(shared_data: Path) -> None:
    """The recorded WebSocket book stream (josephsapinoso/kalshi-cockpit, 245 deltas)."""
    frames = json.loads((shared_data / WS_CAPTURE).read_text())["frames"]
    books: dict[str, OrderBook] = {}
    tops: dict[str, list[TopOfBook]] = {}
    for fr in frames:
        f, t = fr["frame"], fr["received_ms"] * 1_000_000
        msg = f.get("msg", {})
        if f["type"] == "orderbook_snapshot":
            books[msg["market_ticker"]] = book_from_snapshot(msg, seq=f["seq"])
        elif f["type"] == "orderbook_delta":
            apply_delta(books[msg["market_ticker"]], msg, seq=f["seq"])
        else:
            continue
        tk = msg["market_ticker"]
        tops.setdefault(tk, []).append(top_of_book(t, books[tk]))
    busiest = max(tops, key=lambda k: len(tops[k]))
    assert len(tops[busiest]) > 20
    seen = [_check(tops[tk], tick_s=0.25) for tk in sorted(tops, key=lambda k: -len(tops[k]))[:4]]
    assert max(np.abs(s.ofi).max() for s in seen) > 0  # some deltas change the top


def test_missing_sides_follow_the_limit_convention() -> None:
    full = TopOfBook(0, 4000, 300, 4500, 200)
    no_bid = TopOfBook(1, NO_PRICE, 0, 4500, 200)
    no_ask = TopOfBook(2, 4000, 300, NO_PRICE, 0)
    empty = TopOfBook(3, NO_PRICE, 0, NO_PRICE, 0)
    algo = ofi(OfiParams(windows_s=(100.0,)))
    for seq, expected in [
        ((full, no_bid), -300),  # the bids emptied: the bid fell, its size left
        ((no_bid, full), 300),  # a bid appeared
        ((full, no_ask), 200),  # the asks emptied
        ((no_ask, full), -200),  # an ask appeared
        ((empty, empty._replace(t_ns=9)), 0),
    ]:
        state = algo.init(None)
        for i, top in enumerate(seq):
            state, _ = algo.update(state, top._replace(t_ns=i), None)
        _, info = algo.update(state, Tick(5, 5), None)
        assert info.ofi == (expected,)
        assert _brute(OfiParams((100.0,)), [t._replace(t_ns=i) for i, t in enumerate(seq)], 5)[
            0
        ] == [expected]
    _, info = algo.update(algo.update(algo.init(None), no_ask, None)[0], Tick(9, 9), None)
    assert math.isnan(info.queue_imbalance)  # one-sided: missing, not +1
    _, info = algo.update(algo.update(algo.init(None), full, None)[0], Tick(9, 9), None)
    assert info.queue_imbalance == pytest.approx(0.2)


def test_reads_are_strictly_causal() -> None:
    """A top at exactly t is neither in OFI(t) nor the top whose imbalance is read at t."""
    a = TopOfBook(10, 4000, 100, 4500, 100)
    b = TopOfBook(20, 4100, 500, 4500, 100)  # bid up: e = +500
    algo = ofi(OfiParams(windows_s=(100.0 / NS_PER_S,)))
    state = algo.init(None)
    state, _ = algo.update(state, a, None)
    state, at_b = algo.update(state, b, None)
    _, at_t = algo.update(state, Tick(20, 20), None)
    for info in (at_b, at_t):
        assert info.ofi == (0,) and info.queue_imbalance == 0.0
    _, after = algo.update(state, Tick(21, 21), None)
    assert after.ofi == (500,) and after.queue_imbalance == pytest.approx(400 / 600)
    batch = ofi_batch(OfiParams((100.0 / NS_PER_S,)), top_arrays([a, b]), np.array([20, 21]))
    assert batch.ofi[:, 0].tolist() == [0, 500]
    assert batch.queue_imbalance[0] == 0.0


def test_changing_the_future_leaves_past_reads_bit_identical() -> None:
    tops = _sim_tops()
    cut = tops[len(tops) // 2].t_ns
    future = [
        t._replace(bid_size_centi=t.bid_size_centi + 700) if t.t_ns >= cut and t.bid_cc > 0 else t
        for t in tops
    ]
    ticks = list(range(tops[0].t_ns, tops[-1].t_ns, 10 * NS_PER_S))
    a, _ = _fold(PARAMS, tops, ticks)
    b, _ = _fold(PARAMS, future, ticks)
    past = np.array(ticks) <= cut
    for name, x, y in zip(OfiBatch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x[past], y[past], err_msg=name)
    assert not np.array_equal(a.queue_imbalance[~past], b.queue_imbalance[~past])


def test_out_of_order_top_is_clamped_and_flagged() -> None:
    algo = ofi(OfiParams((10.0,)))
    state, _ = algo.update(algo.init(None), TopOfBook(100, 4000, 100, 4500, 100), None)
    state, info = algo.update(state, TopOfBook(50, 4100, 100, 4500, 100), None)
    assert not info.in_order and info.t_ns == 100 and state.last.t_ns == 100
    _, info = algo.update(state, Tick(101, 101), None)
    assert info.in_order and info.ofi == (100,)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (OfiParams(windows_s=()), "windows_s"),
        (OfiParams(windows_s=(0.0,)), r"windows_s\[0\] = 0.0"),
        (OfiParams(windows_s=(10.0, -1.0)), r"windows_s\[1\] = -1.0"),
        (OfiParams(windows_s=(math.inf,)), r"windows_s\[0\] = inf"),
    ],
)
def test_bad_params_raise(params: OfiParams, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ofi(params)
    with pytest.raises(ValueError, match=match):
        ofi_batch(params, top_arrays([TopOfBook(0, 4000, 1, 4500, 1)]), np.array([1]))


@pytest.mark.parametrize(
    ("top", "match"),
    [
        (TopOfBook(0, 0, 100, 4500, 100), "bid_cc = 0"),
        (TopOfBook(0, 4000, 100, 10_000, 100), "ask_cc = 10000"),
        (TopOfBook(0, NO_PRICE, 100, 4500, 100), "bid_size_centi = 100"),
        (TopOfBook(0, 4000, 0, 4500, 100), "bid_size_centi = 0"),
        (TopOfBook(0, 4000, 100, 4500, -3), "ask_size_centi = -3"),
    ],
)
def test_bad_tops_raise(top: TopOfBook, match: str) -> None:
    algo = ofi(PARAMS)
    with pytest.raises(ValueError, match=match):
        algo.update(algo.init(None), top, None)
    with pytest.raises(ValueError, match=match):
        top_arrays([top])


def test_other_events_are_refused() -> None:
    algo = ofi(PARAMS)
    with pytest.raises(TypeError, match="got Quote"):
        algo.update(algo.init(None), Quote(1, 1, "X", 4000, 4500, 100, 100), None)
