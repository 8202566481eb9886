"""The live half of the runner: the queue's order and grid, and live against replay.

The replay-vs-live check streams a script of book frames (faults included: a dropped delta,
a disconnect) from the local Kalshi-like server (``tests/io/kalshi/fake_exchange.py``) to a
:class:`~kbayes.runner.live.LiveRun`, then replays the tape it recorded through
:func:`~kbayes.io.sources.tape_events`, the same components and the same tick grid. The
stepped event sequences and the per-tick columns must be identical.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.replay import components, feature_components
from kbayes.clock import merge, tick_source
from kbayes.clock.guard import LookAheadError
from kbayes.clock.live import LiveQueue
from kbayes.clock.merge import RANK_MARKET, Source
from kbayes.io.kalshi.rest import RetryPolicy
from kbayes.io.sources import tape_events
from kbayes.io.weather.poller import WeatherPoller
from kbayes.market.cities import city_of
from kbayes.market.events import (
    NS_PER_S,
    BookDelta,
    BookStatus,
    ForecastIssued,
    Tick,
    TradePrint,
    WeatherObs,
    utc_to_ns,
)
from kbayes.market.records import ForecastHourlyRecord, WeatherObsRecord
from kbayes.runner import FrameSink, LadderPipeline, LadderSpec, Runner
from kbayes.runner.live import (
    LiveRun,
    percentile_us,
    read_weather_log,
    weather_events,
    weather_line,
    weather_log_source,
)
from tests.io.kalshi.fake_exchange import (
    FakeExchange,
    generate_deltas,
    ref_from_script,
    synthetic_snapshots,
)

EVENT = "KXHIGHNY-26DEC07"
TICKERS = tuple(f"{EVENT}-B{40 + 2 * i}.5" for i in range(4))
FAR = 2**62


class FakeClock:
    """A wall clock the test moves (ns)."""

    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def _trade(t: int) -> TradePrint:
    return TradePrint(t, t, "A", 5000, 100, "yes")


# --- the queue ------------------------------------------------------------------------------


def test_ticks_interleave_like_the_merge_and_late_events_are_restamped() -> None:
    s = NS_PER_S
    clock = FakeClock(10 * s + 1)
    q = LiveQueue(tick_s=1.0, now_ns=clock)
    assert q.next_tick_ns == 11 * s  # the first grid point at or after the start
    # An event stamped at 12.5 s puts the ticks at 11 s and 12 s ahead of itself; one exactly
    # at a grid instant comes after that instant's tick (as rank 0 ticks are in the merge).
    for t in (10 * s + 5, 12 * s + s // 2, 13 * s):
        q.put(_trade(t))
    got = [q._q.get_nowait() for _ in range(q.qsize())]
    want = [_trade(10 * s + 5), Tick(11 * s, 11 * s), Tick(12 * s, 12 * s),
            _trade(12 * s + s // 2), Tick(13 * s, 13 * s), _trade(13 * s)]  # fmt: skip
    assert got == want
    market = Source("m", RANK_MARKET, [want[i] for i in (0, 3, 5)])
    merged = list(merge([tick_source(11 * s, 13 * s, 1.0), market]))
    assert merged == want
    # A producer whose stamp is before the last put is restamped, never put out of order.
    put = q.put(_trade(12 * s))
    assert put.available_ns == 13 * s and q.late == 1
    assert q._q.get_nowait().available_ns == 13 * s


def test_stamps_strictly_increase_when_the_wall_clock_steps_back_or_stands() -> None:
    clock = FakeClock(5_000)
    q = LiveQueue(now_ns=clock)
    assert q.now_ns() == 5_000
    assert q.now_ns() == 5_001  # read twice within the clock's resolution: no tie
    clock.t = 4_000  # NTP stepped the clock back
    assert q.now_ns() == 5_002
    clock.t = 6_000
    assert q.now_ns() == 6_000
    # Without the hold the runner's clock would refuse the next event.
    runner = Runner([], FrameSink())
    runner.step(_trade(5_000))
    with pytest.raises(LookAheadError):
        runner.step(_trade(4_000))


def test_timer_puts_each_grid_tick_once_at_its_wall_time() -> None:
    """A fake sleep advances a fake clock; the timer wakes early (resolution) and late."""
    s = NS_PER_S
    clock = FakeClock(100 * s + 3)
    q = LiveQueue(tick_s=0.5, now_ns=clock)
    put_at: list[tuple[int, int]] = []
    wakes = iter([0.9, 1.0, 3.2] + [1.0] * 50)  # fraction of the asked delay actually slept

    async def sleep(d: float) -> None:
        clock.t += max(1, round(d * next(wakes) * s))
        await asyncio.sleep(0)

    async def main() -> None:
        timer = asyncio.create_task(q.run_timer(sleep))
        while clock.t < 105 * s:
            ev = await q.get()
            put_at.append((ev.available_ns, clock.t))
        q.close()
        await timer

    asyncio.run(asyncio.wait_for(main(), 5))
    ticks = [t for t, _ in put_at]
    assert ticks == [100 * s + k * s // 2 for k in range(1, len(ticks) + 1)]
    assert all(wall >= t for t, wall in put_at)  # never before its instant
    assert q.n_ticks == len(ticks) + q.qsize() - 1  # the rest is waiting (and the end mark)


def test_timer_on_the_real_clock() -> None:
    async def main() -> list[tuple[int, int]]:
        q = LiveQueue(tick_s=0.02)
        timer = asyncio.create_task(q.run_timer())
        out = []
        for _ in range(8):
            ev = await q.get()
            out.append((ev.available_ns, time.time_ns()))
        q.close()
        await timer
        return out

    got = asyncio.run(asyncio.wait_for(main(), 5))
    step = 20_000_000
    assert all(t % step == 0 for t, _ in got)
    assert [b[0] - a[0] for a, b in itertools.pairwise(got)] == [step] * 7
    assert all(wall >= t for t, wall in got)


# --- weather --------------------------------------------------------------------------------


def test_poller_events_become_typed_weather_events() -> None:
    from kbayes.io.weather.poller import ForecastEvent, GapEvent, ObsEvent

    ts = dt.datetime(2026, 12, 7, 15, tzinfo=dt.UTC)
    obs = WeatherObsRecord("KNYC", ts, 5.0, "tenths", None, "METAR", "nws_api", "f")
    none = WeatherObsRecord("KNYC", ts, None, None, None, "METAR", "nws_api", "f")
    issued = ts - dt.timedelta(hours=1)

    def fc(h: int, temp: float | None) -> ForecastHourlyRecord:
        return ForecastHourlyRecord("KNYC", "NY", ts + dt.timedelta(hours=h), issued, h, temp,
                                    None, None, None, None, None, None, "vc", "f")  # fmt: skip

    batch = [ObsEvent("nws", obs, ts.date(), 41.0), ObsEvent("nws", none, ts.date(), 41.0),
             ForecastEvent("vc", fc(2, 44.0)), ForecastEvent("vc", fc(1, 43.0)),
             ForecastEvent("vc", fc(3, None)), GapEvent("nws", ts, ts, "x")]  # fmt: skip
    out = weather_events(batch, 123)
    assert out == [
        WeatherObs(123, utc_to_ns(ts), "KNYC", 5.0, "tenths", "METAR", "nws_api"),
        ForecastIssued(123, utc_to_ns(issued), "KNYC", "vc",
                       (utc_to_ns(ts) + 3600 * NS_PER_S, utc_to_ns(ts) + 7200 * NS_PER_S),
                       (43.0, 44.0)),
    ]  # fmt: skip


def test_weather_log_round_trips_and_names_a_bad_line(tmp_path: Path) -> None:
    evs = [WeatherObs(5, 4, "KNYC", 5.5, "tenths", "METAR", "nws"),
           ForecastIssued(6, 3, "KNYC", "vc", (10, 20), (41.0, 42.5))]  # fmt: skip
    path = tmp_path / "w.jsonl"
    path.write_text("".join(weather_line(e) + "\n" for e in evs))
    back = list(read_weather_log(path))
    assert back[0] == evs[0] and type(back[1]) is ForecastIssued
    assert back[1][:6] == evs[1][:6] and math.isnan(back[1].high_f)
    path.write_text(weather_line(evs[0]) + "\n" + '{"type": "Tick", "available_ns": 1}\n')
    with pytest.raises(ValueError, match=r"w.jsonl:2: not a weather event"):
        list(read_weather_log(path))


# --- live against replay ----------------------------------------------------------------------


SPEED = 200  # the test clock runs this much faster than the wall: 10 s ticks every 50 ms
TICK_S = 10.0  # the components' grid (the Savitzky-Golay step is 10 s by default)


def fast_clock():
    """A clock ``SPEED`` times the wall's pace (from now) and the timer sleep to match."""
    t0 = time.time_ns()

    def now_ns() -> int:
        return t0 + (time.time_ns() - t0) * SPEED

    def sleep(d: float):
        return asyncio.sleep(d / SPEED)

    return now_ns, sleep


async def _live(tmp_path: Path, faults: dict[int, str], pollers=(), build=components):
    snaps = synthetic_snapshots(list(TICKERS), seed=3)
    script = snaps + generate_deltas(ref_from_script(snaps), 300, seed=5)
    ex = FakeExchange(script, faults, pace_every=10, pace_s=0.02)
    url = await ex.start()
    station = "KNYC" if pollers else ""
    spec = LadderSpec(EVENT, TICKERS, station, 0, FAR, 0, FAR)
    sink = FrameSink()
    now_ns, sleep = fast_clock()
    run = LiveRun(
        [LadderPipeline(spec, build(spec))], sink, url, tape=tmp_path / "tape",
        tick_s=TICK_S, now_ns=now_ns, sleep=sleep, pollers=pollers, record_events=True,
        weather_log=tmp_path / "weather.jsonl",
        client_options={"backoff": RetryPolicy(max_attempts=100, base_s=0.02, cap_s=0.1),
                        "ping_interval_s": None},
    )  # fmt: skip
    task = asyncio.create_task(run.run(duration_s=15))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not task.done():
        if ex.done.is_set() and not run.stream.stale and len(run.stream.books) == len(TICKERS):
            await asyncio.sleep(0.2)  # a few more ticks over the settled books
            break
        await asyncio.sleep(0.02)
    run.stop()
    stats = await task
    await ex.stop()
    return run, sink, spec, stats, ex


def _replay_equals_live(run: LiveRun, sink: FrameSink, spec: LadderSpec, build, tmp_path: Path):
    """Replay the run's tapes on its grid; the same events and columns as live, or fail."""
    q = run.queue
    sources = [tick_source(q.first_tick_ns, q.last_tick_ns, TICK_S),
               Source("tape", RANK_MARKET, tape_events(tmp_path / "tape"))]  # fmt: skip
    if run.pollers:
        sources.append(weather_log_source(tmp_path / "weather.jsonl"))
    merged = list(merge(sources))
    live = run.stepped
    assert len(merged) == len(live)
    for i, (a, b) in enumerate(zip(live, merged, strict=True)):
        # repr: a forecast without a daily high carries nan, which is never == itself
        assert type(a) is type(b) and repr(a) == repr(b), f"event {i}: live {a} != replay {b}"
    replayed = FrameSink()
    Runner([LadderPipeline(spec, build(spec))], replayed).run(merged)
    a, b = sink.frame(EVENT), replayed.frame(EVENT)
    assert len(a) == run.runner.n_ticks * len(TICKERS)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    return a


def test_replay_of_the_live_tape_steps_the_same_events_and_columns(tmp_path: Path) -> None:
    run, sink, spec, stats, ex = asyncio.run(_live(tmp_path, {120: "drop", 200: "disconnect"}))
    m = run.stream.metrics
    assert ex.done.is_set() and stats.connects == 2 and m["gap"] >= 1  # the faults happened
    assert stats.late == 0 and stats.n_ticks >= 10
    live = run.stepped
    assert sum(type(e) is BookDelta for e in live) > 250
    assert any(type(e) is BookStatus and e.stale and e.reason == "reconnect" for e in live)
    # Replay: the tape through the stream machine, the live run's grid, the same components.
    a = _replay_equals_live(run, sink, spec, components, tmp_path)
    # The columns are not trivially equal: prices exist and move from tick to tick.
    assert a["mid"].notna().mean() > 0.5 and a["mid"].nunique() > 2 * len(TICKERS)
    assert np.isfinite(percentile_us(list(run.frame_latency_ns), 0.5))


def test_weather_polls_reach_the_ladder_at_their_receive_time(tmp_path: Path) -> None:
    city = city_of("NY")
    seen: list[dt.datetime] = []

    def source(start: dt.datetime, end: dt.datetime):
        seen.append(end)
        r = WeatherObsRecord("KNYC", end - dt.timedelta(seconds=1), 4.0 + len(seen), "tenths",
                             None, "5min", "test", "f")  # fmt: skip
        fc = [ForecastHourlyRecord("KNYC", "NY", end + dt.timedelta(hours=h), end, h,
                                   40.0 + h + len(seen), None, None, None, None, None, None,
                                   "test", "f") for h in (2, 1)]  # fmt: skip
        return [r], fc

    poller = WeatherPoller(city, {"test": source}, interval=dt.timedelta(seconds=0.1))
    run, sink, spec, *_ = asyncio.run(_live(tmp_path, {}, [poller], build=feature_components))
    obs = [e for e in run.stepped if type(e) is WeatherObs]
    assert len(obs) >= 3 and run.weather_polls >= 3
    assert sum(type(e) is ForecastIssued for e in run.stepped) == len(obs)
    # The WebSocket tape and the weather log replay the whole run.
    _replay_equals_live(run, sink, spec, feature_components, tmp_path)
    # Available when the poll answered: after the time it asked for, before the next event.
    assert all(e.available_ns >= utc_to_ns(s) for e, s in zip(obs, seen, strict=False))
    df = sink.frame(EVENT)
    last = df[df["t"] == df["t"].max()]
    assert math.isfinite(last["temp_f"].iloc[0]) and math.isfinite(last["high_f"].iloc[0])
