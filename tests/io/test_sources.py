"""Store, tape and simulator sources: order, availability lags, windows, one stream machine."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kbayes.clock import merge
from kbayes.io.kalshi.replay import replay
from kbayes.io.sources import SourceLags, Window, store_sources, tape_events
from kbayes.io.store import DuckDBStore
from kbayes.market.events import (
    NS_PER_S,
    BookDelta,
    BookSnapshot,
    Candle,
    ForecastIssued,
    Lifecycle,
    Quote,
    TradePrint,
    WeatherObs,
)
from kbayes.state import MarketState
from tests.sim_store import simulated_store

DAY = dt.date(2025, 1, 6)


@pytest.fixture(scope="module")
def sim_store():
    store = simulated_store(1, 4)
    yield store
    store.close()


def _window(store: DuckDBStore) -> Window:
    ev = store.query("SELECT event_ticker, station FROM events LIMIT 1").iloc[0]
    tickers = tuple(store.query("SELECT ticker FROM markets WHERE event_ticker = ? ORDER BY "
                                "ticker", [ev.event_ticker])["ticker"])  # fmt: skip
    return Window(tickers, (ev.station,), 0, 2**62)


def test_store_sources_merge_in_order_with_every_table(sim_store: DuckDBStore) -> None:
    w = _window(sim_store)
    events = list(merge(store_sources(sim_store, w)))
    avail = [e.available_ns for e in events]
    assert avail == sorted(avail)
    kinds = {type(e) for e in events}
    assert {TradePrint, Quote, Lifecycle, WeatherObs, ForecastIssued} <= kinds, kinds
    n_trades = sim_store.query(
        f"SELECT count(*) AS n FROM trades WHERE ticker IN {tuple(w.tickers)}"
    ).n[0]
    assert sum(type(e) is TradePrint for e in events) == n_trades
    # Every market event routes into one state without error.
    state = MarketState(w.tickers)
    for e in events:
        if type(e) in (TradePrint, Quote, Lifecycle, Candle, BookSnapshot, BookDelta):
            state.apply(e)
    assert sum(b.n_trades for b in state.brackets) == n_trades


def test_lags_move_availability_and_not_event_time(sim_store: DuckDBStore) -> None:
    w = _window(sim_store)
    lags = SourceLags(weather_default_s=600.0, forecast_s=1800.0, trades_s=2.0)
    events = list(merge(store_sources(sim_store, w, lags)))
    obs = [e for e in events if type(e) is WeatherObs]
    assert obs and all(e.available_ns - e.ts_ns == 600 * NS_PER_S for e in obs)
    fc = [e for e in events if type(e) is ForecastIssued]
    assert fc and all(e.available_ns - e.ts_ns == 1800 * NS_PER_S for e in fc)
    trades = [e for e in events if type(e) is TradePrint]
    assert all(e.available_ns - e.ts_ns == 2 * NS_PER_S for e in trades)
    per_source = SourceLags(weather_s=((obs[0].source, 0.0),))
    again = [e for e in merge(store_sources(sim_store, w, per_source)) if type(e) is WeatherObs]
    assert all(e.available_ns == e.ts_ns for e in again)
    with pytest.raises(ValueError, match="weather_default_s=-1"):
        store_sources(sim_store, w, SourceLags(weather_default_s=-1.0))


def test_the_window_bounds_availability(sim_store: DuckDBStore) -> None:
    w = _window(sim_store)
    everything = list(merge(store_sources(sim_store, w)))
    mid = everything[len(everything) // 2].available_ns
    part = list(merge(store_sources(sim_store, w._replace(start_ns=mid))))
    assert part == [e for e in everything if e.available_ns >= mid]
    with pytest.raises(ValueError, match="not after"):
        store_sources(sim_store, w._replace(end_ns=0, start_ns=1))


def test_replaying_a_store_twice_gives_the_same_events(sim_store: DuckDBStore) -> None:
    w = _window(sim_store)
    assert list(merge(store_sources(sim_store, w))) == list(merge(store_sources(sim_store, w)))


def test_tape_events_rebuild_the_replay_books(tmp_path) -> None:
    from kbayes.io.tape import TapeWriter

    t0 = 1_760_000_000 * NS_PER_S
    frames = [
        {"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 1}},
        {"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": {
            "market_ticker": "A", "yes_dollars_fp": [["0.4000", "10.00"]],
            "no_dollars_fp": [["0.5000", "5.00"]]}},
        {"type": "orderbook_delta", "sid": 1, "seq": 2, "msg": {
            "market_ticker": "A", "price_dollars": "0.4200", "delta_fp": "3.00", "side": "yes",
            "ts_ms": 1_760_000_000_500}},
        {"type": "trade", "sid": 2, "seq": 1, "msg": {
            "market_ticker": "A", "yes_price_dollars": "0.4200", "count_fp": "2.00",
            "taker_outcome_side": "no", "trade_id": "t1", "ts_ms": 1_760_000_000_700}},
        {"type": "orderbook_delta", "sid": 1, "seq": 4, "msg": {  # a gap: stale
            "market_ticker": "A", "price_dollars": "0.4200", "delta_fp": "1.00", "side": "yes"}},
    ]  # fmt: skip
    with TapeWriter(tmp_path) as tape:
        tape.write_event("connect", t_ns=t0)
        sub = {"id": 1, "cmd": "subscribe",
               "params": {"channels": ["orderbook_delta"], "market_tickers": ["A"]}}  # fmt: skip
        tape.write_out(json.dumps(sub), t_ns=t0)
        for i, f in enumerate(frames):
            tape.write_in(json.dumps(f), t_ns=t0 + (i + 1) * NS_PER_S)
    events = list(tape_events(tmp_path))
    names = [type(e).__name__ for e in events]
    assert names == ["BookSnapshot", "BookDelta", "TradePrint", "BookStatus"], names
    assert events[1].ts_ns == 1_760_000_000_500 * 1_000_000 and events[1].price_cc == 4200
    assert events[2].taker_side == "no" and events[2].count_centi == 200
    assert events[3].stale
    state = MarketState(["A"])
    for e in events[:2]:
        state.apply(e)
    assert state.brackets[0].book == replay(tmp_path, until=t0 + 3 * NS_PER_S).books["A"]


def test_a_cached_reader_gives_the_same_events_as_one_query_per_table(sim_store) -> None:
    from kbayes.io.sources import CachedReader

    w = _window(sim_store)
    everything = tuple(sim_store.query("SELECT DISTINCT ticker FROM markets")["ticker"])
    reader = CachedReader(sim_store, everything, ["KNYC", "KMIA"])
    direct = list(merge(store_sources(sim_store, w)))
    cached = list(merge(store_sources(reader, w)))
    assert cached == direct and len(direct) > 1000
    assert list(merge(store_sources(reader, w))) == direct  # served again from the cache


def test_stream_quotes_read_the_ticker_message_as_the_importer_does() -> None:
    """A 0 bid is no bid and a $1 ask no ask (kalshi_wire.ticker_top, shared with ws_import)."""
    from kbayes.io.kalshi.stream import BookStream

    stream = BookStream(emit=True)
    msg = {"market_ticker": "A", "yes_bid_dollars": "0.0000", "yes_ask_dollars": "1.0000",
           "price_dollars": "0.0000", "ts_ms": 1_760_000_000_000}  # fmt: skip
    stream.handle({"type": "ticker", "sid": 3, "msg": msg}, received_ns=5)
    (quote,) = stream.events
    assert (quote.yes_bid_cc, quote.yes_ask_cc, quote.last_price_cc) == (None, None, None)
    assert quote.available_ns == 5 and quote.ts_ns == 1_760_000_000_000 * 1_000_000
    stream.events.clear()
    msg = {**msg, "yes_bid_dollars": "0.4100", "yes_ask_dollars": "0.4400"}
    stream.handle({"type": "ticker", "sid": 3, "msg": msg}, received_ns=6)
    assert (stream.events[0].yes_bid_cc, stream.events[0].yes_ask_cc) == (4100, 4400)
