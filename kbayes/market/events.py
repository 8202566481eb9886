"""The typed, immutable events every part of the pipeline sees (DESIGN.md section 2).

Sources (the store's tables, WebSocket tapes, the live client, the weather poller, the
simulator) turn what they read into these events; the clock merges them into one ordered
stream; state, features, models, signals and brokers consume them. The domain knows no wire:
an event holds exact integers (prices in centi-cents, ``CC_PER_DOLLAR`` = 10 000 to the
dollar; counts in centi-contracts) and times as integer nanoseconds since the UTC epoch.

Every event carries two times:

* ``ts_ns``: when it happened (exchange time of a delta or trade, observation time of a
  weather report, issue time of a forecast);
* ``available_ns``: when it became knowable to us. Live and tape events: the receive time.
  Historical tables: ``ts_ns`` plus a publication lag per source (a METAR is on the wire a
  few minutes after its observation time; a daily forecast at its assumed issue hour). The
  clock releases an event at ``available_ns``, never earlier, which is what makes replay free
  of look-ahead: a decision at ``t`` sees exactly the events with ``available_ns < t``
  (a :class:`Tick` at ``t`` is ordered before every other event available at ``t``).

Events are ``NamedTuple``\\ s: immutable, cheap to build on the hot path (about a third of a
frozen dataclass's construction cost), and dispatched by ``type(event)``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

NS_PER_S = 1_000_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def ns_to_utc(ns: int) -> dt.datetime:
    """Integer ns since the UTC epoch as an aware UTC datetime (microsecond resolution)."""
    return EPOCH + dt.timedelta(microseconds=ns // 1000)


def utc_to_ns(ts: dt.datetime) -> int:
    """An aware datetime as integer ns since the UTC epoch (naive datetimes are refused)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(
            f"timestamp {ts!r} is naive (no time zone); pass an aware time (e.g. ...Z)"
        )
    delta = ts - EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


class _Times:
    """Aware-datetime views of the two integer times (shared by every event class)."""

    __slots__ = ()

    @property
    def ts(self) -> dt.datetime:
        """When it happened, aware UTC."""
        return ns_to_utc(self.ts_ns)  # type: ignore[attr-defined]

    @property
    def available_at(self) -> dt.datetime:
        """When it became knowable, aware UTC."""
        return ns_to_utc(self.available_ns)  # type: ignore[attr-defined]


class BookSnapshot(NamedTuple):
    """A full order book of one market (both sides keyed by their own bid price).

    Attributes:
        available_ns, ts_ns: see the module docstring (a WS snapshot has no exchange time:
            ``ts_ns`` is its receive time).
        ticker: market ticker.
        yes: YES bids ``((price_cc, size_centi), ...)``, best (highest) first.
        no: NO bids, same layout.
        seq: the frame's sequence number (``-1`` when none).
    """

    available_ns: int
    ts_ns: int
    ticker: str
    yes: tuple[tuple[int, int], ...]
    no: tuple[tuple[int, int], ...]
    seq: int = -1

    ts = _Times.ts
    available_at = _Times.available_at


class BookDelta(NamedTuple):
    """A signed change of the resting size at one level (applied by the stream: valid).

    Attributes:
        ticker: market ticker.
        side: ``"yes"`` or ``"no"`` (which bids).
        price_cc: the level's own-side price.
        delta_centi: signed size change (centi-contracts).
        seq: the frame's sequence number.
    """

    available_ns: int
    ts_ns: int
    ticker: str
    side: str
    price_cc: int
    delta_centi: int
    seq: int = -1

    ts = _Times.ts
    available_at = _Times.available_at


class TradePrint(NamedTuple):
    """One public trade.

    Attributes:
        ticker: market ticker.
        yes_price_cc: the YES price of the trade.
        count_centi: contracts traded (centi-contracts, positive).
        taker_side: ``"yes"`` (the aggressor bought YES) or ``"no"`` (bought NO = sold YES).
        trade_id: the exchange's id (``""`` when unknown).
    """

    available_ns: int
    ts_ns: int
    ticker: str
    yes_price_cc: int
    count_centi: int
    taker_side: str
    trade_id: str = ""

    ts = _Times.ts
    available_at = _Times.available_at


class Quote(NamedTuple):
    """A top-of-book quote (``ticker`` channel, or a row of a stored best bid/ask log).

    A missing side is ``None``, never 0 or $1.

    Attributes:
        ticker: market ticker.
        yes_bid_cc / yes_ask_cc: best YES bid and ask (the ask is $1 minus the best NO bid).
        yes_bid_size_centi / yes_ask_size_centi: sizes at the two, when known.
        last_price_cc: last trade price, when known.
        volume_centi: cumulative volume, when known.
    """

    available_ns: int
    ts_ns: int
    ticker: str
    yes_bid_cc: int | None
    yes_ask_cc: int | None
    yes_bid_size_centi: int | None = None
    yes_ask_size_centi: int | None = None
    last_price_cc: int | None = None
    volume_centi: int | None = None

    ts = _Times.ts
    available_at = _Times.available_at


class Candle(NamedTuple):
    """An OHLC bar of YES trade prices, available when it closes (``ts_ns`` = its end).

    Attributes:
        ticker: market ticker.
        start_ns: bar start; the bar covers ``[start_ns, ts_ns)``.
        open_cc, high_cc, low_cc, close_cc: prices, ``None`` for a bar without trades.
        volume_centi: contracts traded in the bar.
    """

    available_ns: int
    ts_ns: int
    ticker: str
    start_ns: int
    open_cc: int | None
    high_cc: int | None
    low_cc: int | None
    close_cc: int | None
    volume_centi: int = 0

    ts = _Times.ts
    available_at = _Times.available_at


LIFECYCLE_STATUSES = ("open", "closed", "determined", "settled")


class Lifecycle(NamedTuple):
    """A market's status change.

    Attributes:
        ticker: market ticker.
        status: one of ``LIFECYCLE_STATUSES``.
        result: ``"yes"``/``"no"`` once determined or settled, else ``""``.
    """

    available_ns: int
    ts_ns: int
    ticker: str
    status: str
    result: str = ""

    ts = _Times.ts
    available_at = _Times.available_at


class BookStatus(NamedTuple):
    """A market's book became stale (gap, crossed, locked, reconnect, ...) or fresh again.

    Attributes:
        ticker: market ticker.
        stale: ``True``: do not trust (or trade on) the book until ``stale=False``.
        reason: why, for logs.
    """

    available_ns: int
    ts_ns: int
    ticker: str
    stale: bool
    reason: str = ""

    ts = _Times.ts
    available_at = _Times.available_at


class WeatherObs(NamedTuple):
    """One station temperature report.

    Attributes:
        station: ICAO id (``KNYC``, ``KMIA``...).
        temp_c: temperature in °C (as stored; see ``temp_source`` for its precision).
        temp_source: precision of ``temp_c``: ``"tenths_c"``, ``"whole_c"``, ``"whole_f"``...
        report_type: ``"METAR"``, ``"SPECI"``, ``"5min"``, ...
        source: the provider (``noaa_ghcnh``, ``wunderground``, ``ncei_5min``, ...).
    """

    available_ns: int
    ts_ns: int
    station: str
    temp_c: float
    temp_source: str
    report_type: str
    source: str

    ts = _Times.ts
    available_at = _Times.available_at


class ForecastIssued(NamedTuple):
    """A forecast issue (``ts_ns`` = its issue time).

    Attributes:
        station: the station it is for.
        provider: who issued it.
        target_ns: the hourly target times (an empty tuple for a daily-only forecast).
        temp_f: forecast temperature at each target (°F).
        high_f: the forecast daily high (°F), ``nan`` when not given.
        day: the local climate date the high is for (ISO text, ``""`` for hourly-only).
    """

    available_ns: int
    ts_ns: int
    station: str
    provider: str
    target_ns: tuple[int, ...]
    temp_f: tuple[float, ...]
    high_f: float = float("nan")
    day: str = ""

    ts = _Times.ts
    available_at = _Times.available_at


class Tick(NamedTuple):
    """A clock grid instant: ``ts_ns == available_ns``; a decision here sees events before it."""

    available_ns: int
    ts_ns: int

    ts = _Times.ts
    available_at = _Times.available_at


MarketEvent = BookSnapshot | BookDelta | TradePrint | Quote | Candle | Lifecycle | BookStatus
WeatherEvent = WeatherObs | ForecastIssued
Event = MarketEvent | WeatherEvent | Tick
