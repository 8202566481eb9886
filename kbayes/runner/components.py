"""What the runner steps at each event and tick: the component protocol and the built-ins.

A component sees every market event of its ladder after the state applied it
(:meth:`Component.on_event`) and, at each tick, writes its per-bracket ``(K,)`` columns
(:meth:`Component.on_tick`); components run in their configured order, so a later one may
read the columns of an earlier one (a kinematics feature reads ``mid``). Features
(:mod:`kbayes.features`) and model steps (the bracket UKF, the nowcast) are wrapped as
components by small adapters; the runner knows nothing else about them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from kbayes.market.events import Event
from kbayes.market.prices import CC_PER_DOLLAR
from kbayes.state import MarketState, WeatherState


class Component(Protocol):
    """A feature or model step of one ladder."""

    name: str

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        """A market event of bracket ``k`` (already applied to ``market``)."""
        ...

    def on_tick(
        self,
        t_ns: int,
        market: MarketState,
        weather: WeatherState | None,
        columns: dict[str, np.ndarray],
    ) -> None:
        """Write this component's columns at the tick ``t_ns``."""
        ...


class TopColumns:
    """The top of book as columns: ``bid``, ``ask``, ``mid``, ``microprice`` (probability
    units, ``nan`` when missing), ``bid_size``, ``ask_size`` (contracts), ``stale`` (1.0 when
    the book is out of sync), ``last`` (last trade price) and ``volume`` / ``trades`` in the
    tick's bin (since the previous tick)."""

    name = "top"

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market

    def on_tick(
        self,
        t_ns: int,
        market: MarketState,
        weather: WeatherState | None,
        columns: dict[str, np.ndarray],
    ) -> None:
        del t_ns, weather
        n = len(market)
        cols = {c: np.full(n, np.nan) for c in ("bid", "ask", "mid", "microprice", "last")}
        cols["bid_size"] = np.zeros(n)
        cols["ask_size"] = np.zeros(n)
        cols["stale"] = np.zeros(n)
        for k, b in enumerate(market.brackets):
            top = market.top(k)
            cols["stale"][k] = float(b.stale and b.book is not None)
            if b.last_trade is not None:
                cols["last"][k] = b.last_trade.yes_price_cc / CC_PER_DOLLAR
            if top is None:
                continue
            if top.bid_cc >= 0:
                cols["bid"][k] = top.bid_cc / CC_PER_DOLLAR
                cols["bid_size"][k] = top.bid_size_centi / 100
            if top.ask_cc >= 0:
                cols["ask"][k] = top.ask_cc / CC_PER_DOLLAR
                cols["ask_size"][k] = top.ask_size_centi / 100
            cols["mid"][k] = top.mid
            cols["microprice"][k] = top.microprice
        cols["volume"], cols["trades"] = market.roll_bins()
        columns.update(cols)


class WeatherColumns:
    """The station as ladder-wide columns (the same value in every bracket's row):
    ``temp_f`` (latest report), ``high_f`` (running high of the climate day), ``wx_missing``
    (1.0 when reports are overdue)."""

    name = "weather"

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market

    def on_tick(
        self,
        t_ns: int,
        market: MarketState,
        weather: WeatherState | None,
        columns: dict[str, np.ndarray],
    ) -> None:
        n = len(market)
        if weather is None:
            for c in ("temp_f", "high_f", "wx_missing"):
                columns[c] = np.full(n, np.nan)
            return
        last = weather.last
        columns["temp_f"] = np.full(n, np.nan if last is None else last.temp_c * 1.8 + 32.0)
        columns["high_f"] = np.full(n, weather.high_f)
        columns["wx_missing"] = np.full(n, float(weather.check_gap(t_ns)))
