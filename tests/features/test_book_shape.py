"""Book shape: online fold == batch twin == brute force from the domain books, strictly causal."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from kbayes.features.book_shape import (
    MISSING,
    NS_PER_HOUR,
    BookLevels,
    BookShapeBatch,
    BookShapeParams,
    book_arrays,
    book_levels,
    book_shape,
    book_shape_batch,
    stack_infos,
)
from kbayes.features.ofi import TopOfBook, top_of_book
from kbayes.io.kalshi.book_wire import apply_delta, book_from_snapshot
from kbayes.market.book import OrderBook
from kbayes.market.events import NS_PER_S, Quote, Tick, utc_to_ns
from kbayes.sim import SimConfig, simulate

NS = (1, 2, 5)
WS_CAPTURE = Path("kalshi/protocol_captures/cockpit_ws_orderbook_stream.json")


def _replay_sim() -> tuple[list[tuple[int, OrderBook]], int]:
    """(time, book copy) after every delta of the busiest simulated market, and its close."""
    res = simulate(SimConfig(n_days=1, cities=("NY",), n_prior_years=1, n_mc=16, seed=7))
    deltas = res.book_deltas
    ticker = deltas["ticker"].value_counts().index[0]
    levels = res.book_levels[res.book_levels["ticker"] == ticker]
    side = {s: dict(zip(g["price_cc"].astype(int), g["size_centi"].astype(int), strict=True))
            for s, g in levels.groupby("side")}  # fmt: skip
    book = OrderBook(ticker, side.get("yes", {}), side.get("no", {}))
    out = [(utc_to_ns(levels["ts"].iloc[0].to_pydatetime()), book.copy())]
    d = deltas[deltas["ticker"] == ticker].sort_values(["ts", "seq"], kind="stable")
    for ts, s, p, dc in zip(d["ts"], d["side"], d["price_cc"], d["delta_centi"], strict=True):
        book.change(str(s), int(p), int(dc))
        out.append((utc_to_ns(ts.to_pydatetime()), book.copy()))
    close = res.markets.loc[res.markets["ticker"] == ticker, "close_time"].iloc[0]
    return out, utc_to_ns(close.to_pydatetime())


def _brute(books: list[tuple[int, OrderBook]], t: int, close_ns: int) -> tuple:
    """From the OrderBook's own accessors: the last book strictly before t."""
    before = [b for tb, b in books if tb < t]
    ttc = (close_ns - t) / NS_PER_HOUR
    if not before:
        return MISSING, [MISSING] * len(NS), [MISSING] * len(NS), ttc
    b = before[-1]
    spread = b.spread_cc
    return (
        MISSING if spread is None else spread,
        [b.depth_centi("yes", n) for n in NS],
        [b.depth_centi("no", n) for n in NS],
        ttc,
    )


def _fold(params: BookShapeParams, obs: list, ticks: list[int]):
    stream = [(t, 0, Tick(t, t)) for t in ticks] + [(o.t_ns, 1, o) for o in obs]
    stream.sort(key=lambda x: (x[0], x[1]))
    algo = book_shape(params)
    state = algo.init(None)
    at_ticks, at_books = [], []
    for _, kind, o in stream:
        state, info = algo.update(state, o, None)
        (at_books if kind else at_ticks).append(info)
    return stack_infos(at_ticks), stack_infos(at_books)


def _assert_equal(a: BookShapeBatch, b: BookShapeBatch) -> None:
    for name, x, y in zip(BookShapeBatch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)


def _check(books: list[tuple[int, OrderBook]], close_ns: int, tick_ns: int) -> BookShapeBatch:
    params = BookShapeParams(depth_levels=NS, close_ns=close_ns)
    obs = [book_levels(t, b) for t, b in books]
    ticks = list(range(books[0][0] - tick_ns, books[-1][0] + 2 * tick_ns, tick_ns))
    at_ticks, at_books = _fold(params, obs, ticks)
    arrays = book_arrays(obs, max(NS))
    _assert_equal(at_ticks, book_shape_batch(params, arrays, np.array(ticks)))
    _assert_equal(at_books, book_shape_batch(params, arrays, arrays.t_ns))
    rng = np.random.default_rng(2)
    for i in rng.choice(len(ticks), size=min(60, len(ticks)), replace=False):
        spread, bid, ask, ttc = _brute(books, ticks[i], close_ns)
        assert at_ticks.spread_cc[i] == spread
        assert list(at_ticks.bid_depth_centi[i]) == bid
        assert list(at_ticks.ask_depth_centi[i]) == ask
        assert at_ticks.time_to_close_h[i] == ttc
    return at_ticks


def test_fold_equals_batch_and_brute_force_on_the_simulator() -> None:
    books, close_ns = _replay_sim()
    got = _check(books, close_ns, 60 * NS_PER_S)
    assert (got.spread_cc > 0).any()
    assert (got.bid_depth_centi[:, 2] > got.bid_depth_centi[:, 0]).any()
    assert got.time_to_close_h[0] > 24 and (np.diff(got.time_to_close_h) < 0).all()


@pytest.mark.realdata
def test_fold_equals_batch_and_brute_force_on_real_ws_books(shared_data: Path) -> None:
    frames = json.loads((shared_data / WS_CAPTURE).read_text())["frames"]
    live: dict[str, OrderBook] = {}
    books: dict[str, list[tuple[int, OrderBook]]] = {}
    for fr in frames:
        f, t = fr["frame"], fr["received_ms"] * 1_000_000
        msg = f.get("msg", {})
        if f["type"] == "orderbook_snapshot":
            live[msg["market_ticker"]] = book_from_snapshot(msg, seq=f["seq"])
        elif f["type"] == "orderbook_delta":
            apply_delta(live[msg["market_ticker"]], msg, seq=f["seq"])
        else:
            continue
        tk = msg["market_ticker"]
        books.setdefault(tk, []).append((t, live[tk].copy()))
    close_ns = max(b[-1][0] for b in books.values()) + 3600 * NS_PER_S
    for tk in sorted(books, key=lambda k: -len(books[k]))[:3]:
        _check(books[tk], close_ns, NS_PER_S // 4)


def test_top_of_book_obs_is_a_one_level_book() -> None:
    book = OrderBook("X", {4000: 300, 3900: 50}, {5500: 200})
    params = BookShapeParams(depth_levels=(1, 3), close_ns=10 * NS_PER_HOUR)
    algo = book_shape(params)
    state, _ = algo.update(algo.init(None), top_of_book(5, book), None)
    _, info = algo.update(state, Tick(6, 6), None)
    assert info.spread_cc == 10_000 - 5500 - 4000
    assert info.bid_depth_centi == (300, 300) and info.ask_depth_centi == (200, 200)
    state, _ = algo.update(algo.init(None), book_levels(5, book), None)
    _, info = algo.update(state, Tick(6, 6), None)
    assert info.bid_depth_centi == (300, 350)


def test_missing_values() -> None:
    params = BookShapeParams(depth_levels=(1, 2), close_ns=NS_PER_HOUR)
    algo = book_shape(params)
    _, info = algo.update(algo.init(None), Tick(0, 0), None)
    assert info.spread_cc == MISSING and info.bid_depth_centi == (MISSING, MISSING)
    assert info.time_to_close_h == 1.0
    one_sided = BookLevels(1, ((4000, 100),), ())
    state, _ = algo.update(algo.init(None), one_sided, None)
    _, info = algo.update(state, Tick(2, 2), None)
    assert info.spread_cc == MISSING and info.ask_depth_centi == (0, 0)
    assert info.bid_depth_centi == (100, 100)
    empty = TopOfBook(1, -1, 0, -1, 0)
    state, _ = algo.update(algo.init(None), empty, None)
    _, info = algo.update(state, Tick(2, 2), None)
    assert info.spread_cc == MISSING and info.bid_depth_centi == (0, 0)


def test_reads_are_strictly_causal() -> None:
    a = BookLevels(10, ((4000, 100),), ((5000, 100),))
    b = BookLevels(20, ((4500, 100),), ((5000, 100),))
    params = BookShapeParams(depth_levels=(1,), close_ns=NS_PER_HOUR)
    algo = book_shape(params)
    state, _ = algo.update(algo.init(None), a, None)
    state, at_b = algo.update(state, b, None)
    _, at_t = algo.update(state, Tick(20, 20), None)
    assert at_b.spread_cc == at_t.spread_cc == 1000  # the book at exactly t is not used
    _, after = algo.update(state, Tick(21, 21), None)
    assert after.spread_cc == 500
    batch = book_shape_batch(params, book_arrays([a, b], 1), np.array([20, 21]))
    assert batch.spread_cc.tolist() == [1000, 500]
    # two books at one time: a read at that time sees neither
    state, _ = algo.update(state, b._replace(t_ns=30), None)
    state, second = algo.update(state, a._replace(t_ns=30), None)
    assert second.spread_cc == 500
    assert math.isclose(second.time_to_close_h, (NS_PER_HOUR - 30) / NS_PER_HOUR)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (BookShapeParams(depth_levels=(), close_ns=1), "depth_levels"),
        (BookShapeParams(depth_levels=(1, 0), close_ns=1), r"depth_levels\[1\] = 0"),
        (BookShapeParams(depth_levels=(2.5,), close_ns=1), r"depth_levels\[0\] = 2.5"),
        (BookShapeParams(depth_levels=(1,), close_ns=0), "close_ns = 0"),
        (BookShapeParams(depth_levels=(1,), close_ns=1.5e18), "close_ns = 1.5e"),
    ],
)
def test_bad_params_raise(params: BookShapeParams, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        book_shape(params)
    with pytest.raises(ValueError, match=match):
        book_shape_batch(params, book_arrays([BookLevels(0, (), ())], 1), np.array([1]))


@pytest.mark.parametrize(
    ("book", "match"),
    [
        (BookLevels(0, ((4000, 1), (4100, 1)), ()), r"yes\[1\] price_cc = 4100"),
        (BookLevels(0, (), ((10_000, 1),)), r"no\[0\] price_cc = 10000"),
        (BookLevels(0, ((4000, 0),), ()), r"yes\[0\] size_centi = 0"),
    ],
)
def test_bad_books_raise(book: BookLevels, match: str) -> None:
    algo = book_shape(BookShapeParams(depth_levels=(2,), close_ns=1))
    with pytest.raises(ValueError, match=match):
        algo.update(algo.init(None), book, None)


def test_other_events_are_refused() -> None:
    algo = book_shape(BookShapeParams(depth_levels=(2,), close_ns=1))
    with pytest.raises(TypeError, match="got Quote"):
        algo.update(algo.init(None), Quote(1, 1, "X", 4000, 4500), None)
