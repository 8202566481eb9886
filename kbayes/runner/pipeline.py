"""One ladder's pipeline: market and weather state, then its components, tick by tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from kbayes.market.events import Event, ForecastIssued, WeatherObs
from kbayes.runner.components import Component
from kbayes.state import MarketState, WeatherState


class LadderSpec(NamedTuple):
    """What the runner needs to know about one event (ladder).

    Attributes:
        event_ticker: the event.
        tickers: its markets in bracket order.
        station: its settlement station (``""``: no weather).
        day_start_ns, day_end_ns: the climate day's UTC window (the running high's window).
        start_ns, end_ns: the ticks of this ladder (decision times) lie in ``[start, end]``.
        midpoints: a representative temperature per bracket (°F; the ladder's centre of
            mass), empty when unknown.
    """

    event_ticker: str
    tickers: tuple[str, ...]
    station: str
    day_start_ns: int
    day_end_ns: int
    start_ns: int
    end_ns: int
    midpoints: tuple[float, ...] = ()


class TickFrame(NamedTuple):
    """A ladder's columns at one tick."""

    t_ns: int
    columns: dict[str, np.ndarray]


class LadderPipeline:
    """State and components of one ladder (see :mod:`kbayes.runner.components`)."""

    def __init__(self, spec: LadderSpec, components: Sequence[Component]) -> None:
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be distinct, got {names}")
        self.spec = spec
        self.market = MarketState(spec.tickers)
        self.weather = (
            WeatherState(spec.station, spec.day_start_ns, spec.day_end_ns) if spec.station else None
        )
        self.components = tuple(components)

    def on_market(self, ev: Event) -> None:
        k = self.market.apply(ev)
        for c in self.components:
            c.on_event(ev, k, self.market)

    def on_weather(self, ev: WeatherObs | ForecastIssued) -> None:
        if self.weather is not None:
            self.weather.apply(ev)

    def active(self, t_ns: int) -> bool:
        return self.spec.start_ns <= t_ns <= self.spec.end_ns

    def on_tick(self, t_ns: int) -> TickFrame:
        columns: dict[str, np.ndarray] = {}
        for c in self.components:
            c.on_tick(t_ns, self.market, self.weather, columns)
        return TickFrame(t_ns, columns)
