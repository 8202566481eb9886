"""Replay: the runner over history, one event (ladder) at a time.

For each event the store's tables of its markets and station (:func:`kbayes.io.sources.
store_sources`, or a recorder tape) are merged with a tick grid and stepped through the one
:class:`~kbayes.runner.loop.Runner`; the tick columns go to ``features/<event>.parquet``.
State from before the first tick (the book, the last trade, the running high) is built from
every event available since ``warmup_hours`` before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from kbayes.clock.merge import RANK_MARKET, Source, merge
from kbayes.clock.ticks import tick_source
from kbayes.io.sources import (
    DEFAULT_LAGS,
    CachedReader,
    SourceLags,
    StoreReader,
    Window,
    store_sources,
    tape_events,
)
from kbayes.io.store import Store
from kbayes.market.cities import city_of
from kbayes.market.events import NS_PER_S, utc_to_ns
from kbayes.runner.components import Component
from kbayes.runner.loop import Runner
from kbayes.runner.pipeline import LadderPipeline, LadderSpec
from kbayes.runner.sink import FrameSink
from kbayes.signals.strategy import Strategy

NS_PER_H = 3600 * NS_PER_S


class ReplayParams(NamedTuple):
    """How to replay.

    Attributes:
        tick_s: the decision grid (seconds, aligned on the UTC epoch).
        lead_hours: ticks start this long before the climate day starts (markets open the
            day before).
        tail_hours: and end this long after it ends.
        warmup_hours: events from this long before the first tick build the state.
        lags: publication lags of the stored sources.
    """

    tick_s: float = 10.0
    lead_hours: float = 14.0
    tail_hours: float = 0.0
    warmup_hours: float = 24.0
    lags: SourceLags = DEFAULT_LAGS

    def check(self) -> ReplayParams:
        for name in ("tick_s", "lead_hours", "tail_hours", "warmup_hours"):
            v = getattr(self, name)
            if not (v >= 0) or (name == "tick_s" and v == 0):
                raise ValueError(
                    f"replay {name}={v!r} must be {'> 0' if name == 'tick_s' else '>= 0'}"
                )
        self.lags.check()
        return self


DEFAULT_REPLAY = ReplayParams()


class EventRef(NamedTuple):
    """One event to replay: its ladder (tickers in bracket order), city and climate date,
    and each bracket's representative temperature (°F, optional)."""

    event_ticker: str
    tickers: tuple[str, ...]
    city: str
    date: object  # datetime.date
    midpoints: tuple[float, ...] = ()


class ReplayStats(NamedTuple):
    """What a replay did: events stepped, ticks, wall seconds, rows and files written."""

    n_events: int
    n_ticks: int
    seconds: float
    paths: tuple[Path, ...]


def ladder_spec(ref: EventRef, params: ReplayParams) -> LadderSpec:
    """The runner's spec of an event: its station, climate-day window and tick range."""
    city = city_of(ref.city)
    start, end = city.climate_day_window(ref.date)  # type: ignore[arg-type]
    s, e = utc_to_ns(start), utc_to_ns(end)
    return LadderSpec(
        ref.event_ticker,
        ref.tickers,
        city.station,
        s,
        e,
        s - round(params.lead_hours * NS_PER_H),
        e + round(params.tail_hours * NS_PER_H),
        tuple(ref.midpoints),
    )


def event_stream(
    store: Store | StoreReader | None,
    spec: LadderSpec,
    params: ReplayParams,
    tape: Path | None = None,
) -> list[Source]:
    """The merge sources of one event: its stored (or taped) events from ``warmup_hours``
    before its first tick, and the ticks."""
    first = spec.start_ns - round(params.warmup_hours * NS_PER_H)
    window = Window(spec.tickers, (spec.station,) if spec.station else (), first, spec.end_ns + 1)
    sources = []
    if store is not None:
        sources += store_sources(store, window, params.lags)
    if tape is not None:
        wanted = frozenset(spec.tickers)
        sources.append(
            Source("tape", RANK_MARKET + 10, _in_window(tape_events(tape, tickers=wanted), window))
        )
    sources.append(tick_source(spec.start_ns, spec.end_ns, params.tick_s))
    return sources


def _in_window(events, window: Window):
    for ev in events:
        if ev.available_ns > window.end_ns:
            return
        if ev.available_ns >= window.start_ns:
            yield ev


def replay_events(
    store: Store | None,
    refs: Sequence[EventRef],
    components: Callable[[LadderSpec], Sequence[Component]],
    out_dir: Path,
    params: ReplayParams = DEFAULT_REPLAY,
    strategy: Strategy | None = None,
    tape: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReplayStats:
    """Replay each event and write its tick table (see the module docstring).

    Args:
        store: the store to read (``None`` with a tape).
        refs: the events.
        components: builds one ladder's components (features and model steps).
        out_dir: output folder (``features/``, ``intents.parquet``).
        params: grid, windows and lags.
        strategy: asked at every tick (default: do nothing).
        tape: a recorder tape replayed through the stream machine instead of (or besides)
            the store's market tables.
        progress: ``progress(event_ticker, done, total)`` after each event.
    """
    params = params.check()
    t0 = time.perf_counter()
    if store is not None and len(refs) > 1:  # one query per table, not per table and event
        cities = {ref.city for ref in refs}
        store = CachedReader(
            store, [t for ref in refs for t in ref.tickers], [city_of(c).station for c in cities]
        )
    sink = FrameSink()
    n_events = n_ticks = 0
    paths: list[Path] = []
    for i, ref in enumerate(refs):
        spec = ladder_spec(ref, params)
        pipeline = LadderPipeline(spec, components(spec))
        runner = Runner([pipeline], sink, strategy)
        runner.run(merge(event_stream(store, spec, params, tape)))
        n_events += runner.n_events
        n_ticks += runner.n_ticks
        paths += sink.write_tables(out_dir)
        sink.clear()  # one ladder's ticks in memory at a time; the intents stay
        if progress is not None:
            progress(ref.event_ticker, i + 1, len(refs))
    paths.append(sink.write_intents(out_dir))
    return ReplayStats(n_events, n_ticks, time.perf_counter() - t0, tuple(paths))
