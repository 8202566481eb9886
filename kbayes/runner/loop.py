"""The one loop of replay and live: events in, state and components stepped, strategy asked.

:meth:`Runner.step` is all there is: replay calls it for each merged event, live for each
event off the queue. On a market event the ladder's state and components are updated and
the broker sees the event; on a weather event the ladders of that station; on a tick every
active ladder writes its columns, the strategy is asked with a :class:`TickView` of them,
and its intents go to the broker and the log. The clock is advanced first, so anything
asking for data as of a later time fails (:class:`~kbayes.clock.guard.LookAheadError`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from kbayes.clock.guard import Clock
from kbayes.execution.broker import Broker, RecordingBroker
from kbayes.execution.intents import Intent
from kbayes.market.events import Event, ForecastIssued, Tick, WeatherObs
from kbayes.runner.pipeline import LadderPipeline, TickFrame
from kbayes.signals.strategy import DoNothing, Strategy, TickView


class Sink(Protocol):
    """Where the runner logs each ladder's tick frames and intents."""

    def on_tick(
        self, pipeline: LadderPipeline, frame: TickFrame, intents: Sequence[Intent]
    ) -> None: ...


class Runner:
    """Routes events to ladders and steps them (see the module docstring).

    Attributes:
        clock: the run's clock.
        n_events / n_ticks / unrouted: counters (an unrouted event is a market or station
            this run does not follow).
    """

    def __init__(
        self,
        pipelines: Sequence[LadderPipeline],
        sink: Sink,
        strategy: Strategy | None = None,
        broker: Broker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.pipelines = tuple(pipelines)
        self.sink = sink
        self.strategy = strategy or DoNothing()
        self.broker = broker or RecordingBroker()
        self.clock = clock or Clock()
        self.by_ticker = {t: p for p in self.pipelines for t in p.spec.tickers}
        if len(self.by_ticker) != sum(len(p.spec.tickers) for p in self.pipelines):
            raise ValueError("a market belongs to two ladders")
        self.by_station: dict[str, list[LadderPipeline]] = {}
        for p in self.pipelines:
            if p.spec.station:
                self.by_station.setdefault(p.spec.station, []).append(p)
        self.n_events = self.n_ticks = self.unrouted = 0

    def step(self, ev: Event) -> None:
        """One event, in clock order."""
        self.clock.advance(ev.available_ns)
        self.n_events += 1
        kind = type(ev)
        if kind is Tick:
            self._tick(ev.ts_ns)
        elif kind is WeatherObs or kind is ForecastIssued:
            routes = self.by_station.get(ev.station, ())  # type: ignore[union-attr]
            for p in routes:
                p.on_weather(ev)  # type: ignore[arg-type]
            self.unrouted += not routes
        else:
            p = self.by_ticker.get(ev.ticker)  # type: ignore[union-attr]
            if p is None:
                self.unrouted += 1
                return
            p.on_market(ev)
            self.broker.on_event(ev)

    def _tick(self, t_ns: int) -> None:
        self.n_ticks += 1
        for p in self.pipelines:
            if not p.active(t_ns):
                continue
            frame = p.on_tick(t_ns)
            view = TickView(t_ns, p.spec.event_ticker, p.spec.tickers, frame.columns)
            intents = tuple(self.strategy.on_tick(view))
            if intents:
                self.broker.submit(t_ns, intents)
            self.sink.on_tick(p, frame, intents)

    def run(self, events: Iterable[Event], progress: Callable[[int], None] | None = None) -> None:
        """Step every event; ``progress(n_events)`` is called every 65,536 events."""
        step = self.step
        if progress is None:
            for ev in events:
                step(ev)
            return
        for i, ev in enumerate(events, 1):
            step(ev)
            if not i & 0xFFFF:
                progress(i)
        progress(self.n_events)
