"""What the runner steps at each event and tick: the component protocol and the built-ins.

A component sees every market event of its ladder after the state applied it
(:meth:`Component.on_event`) and, at each tick, writes its per-bracket ``(K,)`` columns
(:meth:`Component.on_tick`); components run in their configured order, so a later one may
read the columns of an earlier one (a kinematics feature reads ``mid``). Features
(:mod:`kbayes.features`) and model steps (the bracket UKF, the nowcast) are wrapped as
components by small adapters; the runner knows nothing else about them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from kbayes.market.events import Event
from kbayes.market.fahrenheit import c_to_f
from kbayes.market.prices import CC_PER_DOLLAR, CENTI_PER_CONTRACT
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
        columns: dict[str, Sequence[float]],
    ) -> None:
        """Write this component's ``(K,)`` columns (arrays or lists of floats) at ``t_ns``."""
        ...


class TopColumns:
    """The top of book as columns: ``bid``, ``ask``, ``mid``, ``microprice`` (probability
    units, ``nan`` when missing), ``bid_size``, ``ask_size`` (contracts), ``stale`` (1.0 when
    the book is out of sync), ``last`` (last trade price), ``price`` (the mid, else the last
    trade: the price the kinematics read, as the bracket UKF observes a bracket without a
    two-sided book) and ``volume`` / ``trades`` in the tick's bin (since the previous tick)."""

    name = "top"

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market

    def on_tick(
        self,
        t_ns: int,
        market: MarketState,
        weather: WeatherState | None,
        columns: dict[str, Sequence[float]],
    ) -> None:
        del t_ns, weather
        # Python lists, not per-column numpy arrays: at K ~ 6 list building is several
        # times cheaper than np.full + item writes, and the sink converts once per event.
        nan = math.nan
        bid, ask, mid, micro, last, bsz, asz, stale = [], [], [], [], [], [], [], []
        for k, b in enumerate(market.brackets):
            stale.append(1.0 if b.stale and b.book is not None else 0.0)
            lt = b.last_trade
            last.append(nan if lt is None else lt.yes_price_cc / CC_PER_DOLLAR)
            top = market.top(k)
            if top is None:
                bid.append(nan), ask.append(nan), mid.append(nan), micro.append(nan)
                bsz.append(0.0), asz.append(0.0)
                continue
            has_bid, has_ask = top.bid_cc >= 0, top.ask_cc >= 0
            bid.append(top.bid_cc / CC_PER_DOLLAR if has_bid else nan)
            ask.append(top.ask_cc / CC_PER_DOLLAR if has_ask else nan)
            bsz.append(top.bid_size_centi / CENTI_PER_CONTRACT if has_bid else 0.0)
            asz.append(top.ask_size_centi / CENTI_PER_CONTRACT if has_ask else 0.0)
            mid.append(top.mid)
            micro.append(top.microprice)
        volume, trades = market.roll_bins()
        price = [m if m == m else lt for m, lt in zip(mid, last, strict=True)]  # nan != nan
        columns.update(
            price=price,
            bid=bid, ask=ask, mid=mid, microprice=micro, last=last, bid_size=bsz,
            ask_size=asz, stale=stale, volume=volume, trades=trades,
        )  # fmt: skip


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
        columns: dict[str, Sequence[float]],
    ) -> None:
        n = len(market)
        if weather is None:
            columns.update(temp_f=[math.nan] * n, high_f=[math.nan] * n, wx_missing=[math.nan] * n)
            return
        last = weather.last
        columns["temp_f"] = [math.nan if last is None else c_to_f(last.temp_c)] * n
        columns["high_f"] = [weather.high_f] * n
        columns["wx_missing"] = [float(weather.check_gap(t_ns))] * n
