"""The merge order, the per-source order check, ticks and the look-ahead guard."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from kbayes.clock import Clock, LookAheadError, OrderError, Source, merge, tick_source, ticks
from kbayes.clock.merge import RANK_MARKET, RANK_WEATHER
from kbayes.market.events import Tick, TradePrint, WeatherObs, ns_to_utc, utc_to_ns

S = 1_000_000_000


def _trade(t: int, i: int) -> TradePrint:
    return TradePrint(t, t - 1, "T", 5000, 100, "yes", str(i))


def _obs(t: int) -> WeatherObs:
    return WeatherObs(t, t - 300 * S, "KNYC", 20.0, "tenths_c", "METAR", "noaa_ghcnh")


def test_merge_is_the_total_order_available_rank_sequence() -> None:
    rng = random.Random(3)
    trades = sorted(rng.randrange(0, 100) * S for _ in range(200))
    obs = sorted(rng.randrange(0, 100) * S for _ in range(50))
    sources = [
        Source("trades", RANK_MARKET, [_trade(t, i) for i, t in enumerate(trades)]),
        Source("weather", RANK_WEATHER, [_obs(t) for t in obs]),
        tick_source(0, 100 * S, 10.0),
    ]
    out = list(merge(sources))
    rank = {TradePrint: RANK_MARKET, WeatherObs: RANK_WEATHER, Tick: 0}
    keys = [(e.available_ns, rank[type(e)]) for e in out]
    assert keys == sorted(keys)  # stable: within a source, input order is kept
    assert [e.trade_id for e in out if type(e) is TradePrint] == [str(i) for i in range(200)]
    assert len(out) == 200 + 50 + 11
    # The same inputs merged again give the same stream (determinism).
    again = list(merge([Source(s.name, s.rank, list(s.events)) for s in sources[:2]]
                       + [tick_source(0, 100 * S, 10.0)]))  # fmt: skip
    assert again == out


def test_a_tick_precedes_every_event_available_at_its_instant() -> None:
    out = list(merge([Source("trades", RANK_MARKET, [_trade(10 * S, 0)]),
                      tick_source(0, 20 * S, 10.0)]))  # fmt: skip
    assert [type(e).__name__ for e in out] == ["Tick", "Tick", "TradePrint", "Tick"]
    assert out[1].ts_ns == 10 * S  # the decision at 10 s does not see the trade available then


def test_an_unordered_source_is_an_error_naming_it() -> None:
    bad = Source("trades", RANK_MARKET, [_trade(5 * S, 0), _trade(4 * S, 1)])
    with pytest.raises(OrderError, match="source 'trades': event 1"):
        list(merge([bad, tick_source(0, 10 * S, 1.0)]))
    with pytest.raises(OrderError, match="source 'trades'"):
        list(merge([bad]))


def test_sources_need_distinct_names_and_ranks() -> None:
    with pytest.raises(ValueError, match="ranks must be distinct"):
        list(merge([Source("a", 1, []), Source("b", 1, [])]))
    with pytest.raises(ValueError, match="names must be distinct"):
        list(merge([Source("a", 1, []), Source("a", 2, [])]))


def test_ticks_are_aligned_on_the_epoch_grid() -> None:
    got = [t.ts_ns for t in ticks(3 * S, 31 * S, 10.0)]
    assert got == [10 * S, 20 * S, 30 * S]
    with pytest.raises(ValueError, match="step_s=0"):
        list(ticks(0, S, 0))


def test_the_clock_refuses_look_ahead_and_going_backwards() -> None:
    clock = Clock()
    clock.advance(10 * S)
    clock.check(10 * S, "a forecast")  # at the clock: known
    with pytest.raises(LookAheadError, match=r"a forecast is stamped .* after the clock"):
        clock.check(10 * S + 1, "a forecast")
    with pytest.raises(LookAheadError, match="backwards"):
        clock.advance(9 * S)


def test_utc_conversions_round_trip_and_refuse_naive_times() -> None:
    t = dt.datetime(2026, 5, 16, 15, 0, 1, 123456, tzinfo=dt.UTC)
    assert ns_to_utc(utc_to_ns(t)) == t
    with pytest.raises(ValueError, match="naive"):
        utc_to_ns(dt.datetime(2026, 5, 16))
