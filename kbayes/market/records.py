"""Typed records: one frozen dataclass per kind of market or weather fact.

Every record maps one-to-one onto a table of the store (its ``TABLE``); the dataclass fields
*are* the table's columns, so importers, the simulator, the live runner and the store agree on
one schema. Money is exact: prices in centi-cents (``*_cc``, $1 = 10_000) and sizes in
centi-contracts (``*_centi``). Instants are timezone-aware UTC ``datetime``; climate days are
``date`` in local standard time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import ClassVar


@dataclasses.dataclass(frozen=True, slots=True)
class MarketRecord:
    """One binary market (bracket) with its metadata and, when known, its settlement."""

    TABLE: ClassVar[str] = "markets"
    KEY: ClassVar[tuple[str, ...]] = ("ticker",)
    ticker: str
    event_ticker: str
    series: str
    city: str
    climate_date: dt.date
    strike_type: str
    floor_strike: float | None
    cap_strike: float | None
    lo_f: int | None
    hi_f: int | None
    yes_sub_title: str | None
    open_time: dt.datetime | None
    close_time: dt.datetime | None
    status: str | None
    result: str | None
    expiration_value_f: int | None
    volume_centi: int | None
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class EventRecord:
    """One city's climate day with a validated ladder."""

    TABLE: ClassVar[str] = "events"
    KEY: ClassVar[tuple[str, ...]] = ("event_ticker",)
    event_ticker: str
    series: str
    city: str
    station: str
    climate_date: dt.date
    window_start: dt.datetime
    window_end: dt.datetime
    close_time: dt.datetime | None
    n_markets: int
    outcome_f: int | None
    outcome_ticker: str | None
    outcome_source: str | None
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class TradeRecord:
    """A public trade print. ``taker_side`` is the outcome side the taker bought."""

    TABLE: ClassVar[str] = "trades"
    KEY: ClassVar[tuple[str, ...]] = ("trade_id",)
    trade_id: str
    ticker: str
    event_ticker: str
    city: str
    ts: dt.datetime
    yes_price_cc: int
    count_centi: int
    taker_side: str
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class BookTopRecord:
    """Top of book at an instant. Missing sides are ``None``, never 0 or 100."""

    TABLE: ClassVar[str] = "book_top"
    KEY: ClassVar[tuple[str, ...]] = ()
    ts: dt.datetime
    ticker: str
    event_ticker: str
    city: str
    yes_bid_cc: int | None
    no_bid_cc: int | None
    yes_bid_size_centi: int | None
    yes_ask_size_centi: int | None
    last_price_cc: int | None
    volume_centi: int | None
    open_interest_centi: int | None
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class BookLevelRecord:
    """One price level of a full-depth book snapshot (bids only, YES or NO side)."""

    TABLE: ClassVar[str] = "book_levels"
    KEY: ClassVar[tuple[str, ...]] = ()
    ts: dt.datetime
    ticker: str
    snapshot_id: str
    side: str
    price_cc: int
    size_centi: int
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class BookDeltaRecord:
    """A sequenced change of size at one price level (WebSocket ``orderbook_delta``)."""

    TABLE: ClassVar[str] = "book_deltas"
    KEY: ClassVar[tuple[str, ...]] = ()
    ts: dt.datetime
    ticker: str
    sid: int
    seq: int
    side: str
    price_cc: int
    delta_centi: int
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class CandleRecord:
    """An OHLC bar of YES trade prices over ``[start, start + interval_s)``."""

    TABLE: ClassVar[str] = "candles"
    KEY: ClassVar[tuple[str, ...]] = ()
    ticker: str
    event_ticker: str
    city: str
    start: dt.datetime
    interval_s: int
    open_cc: int | None
    high_cc: int | None
    low_cc: int | None
    close_cc: int | None
    volume_centi: int | None
    n_trades: int | None
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class WeatherObsRecord:
    """A station temperature report, in °C at the precision it was reported.

    ``temp_source`` is ``tenths`` (tenths °C: METAR T remark, GHCNh), ``whole`` (whole °C:
    METAR body) or ``whole_f`` (whole °F, Weather Underground: ``temp_c`` is the exact
    conversion, so ``round(temp_c * 9 / 5 + 32)`` is the reported value); NULL with ``temp_c``.
    """

    TABLE: ClassVar[str] = "weather_obs"
    KEY: ClassVar[tuple[str, ...]] = ()
    station: str
    ts: dt.datetime
    temp_c: float | None
    temp_source: str | None
    dewpoint_c: float | None
    report_type: str
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class ForecastHourlyRecord:
    """An hourly point forecast issued at ``issued_at`` for ``target_ts``."""

    TABLE: ClassVar[str] = "forecast_hourly"
    KEY: ClassVar[tuple[str, ...]] = ()
    station: str
    city: str
    target_ts: dt.datetime
    issued_at: dt.datetime
    lead_hours: float
    temp_f: float | None
    dew_f: float | None
    humidity: float | None
    precip_in: float | None
    precipprob: float | None
    windspeed_mph: float | None
    cloudcover: float | None
    provider: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class ForecastDailyRecord:
    """A daily-high (and low) forecast for a climate day, issued at ``issued_at``."""

    TABLE: ClassVar[str] = "forecast_daily"
    KEY: ClassVar[tuple[str, ...]] = ()
    station: str
    city: str
    target_date: dt.date
    issued_at: dt.datetime
    lead_days: float
    tmax_f: float | None
    tmin_f: float | None
    provider: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class OfficialHighRecord:
    """An official (or proxy) daily maximum in whole °F for a station's climate day."""

    TABLE: ClassVar[str] = "official_highs"
    KEY: ClassVar[tuple[str, ...]] = ()
    station: str
    city: str
    date: dt.date
    tmax_f: int
    source: str
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class FillRecord:
    """One of our own fills (``/portfolio/fills``) with the fee charged."""

    TABLE: ClassVar[str] = "fills"
    KEY: ClassVar[tuple[str, ...]] = ("fill_id",)
    fill_id: str
    ticker: str
    ts: dt.datetime
    side: str
    action: str
    is_taker: bool
    yes_price_cc: int
    count_centi: int
    fee_cc: int
    source_file: str


@dataclasses.dataclass(frozen=True, slots=True)
class RawMessageRecord:
    """A verbatim protocol message (WebSocket frame or REST body) kept for replay and tests."""

    TABLE: ClassVar[str] = "raw_messages"
    KEY: ClassVar[tuple[str, ...]] = ()
    source_file: str
    line_no: int
    received_ts: dt.datetime | None
    msg_type: str
    ticker: str | None
    payload: str


@dataclasses.dataclass(frozen=True, slots=True)
class BracketOutcomeRecord:
    """The winning bracket of an event as a third party reported it (label, not the high).

    For sources that name the winning market (``"79° to 80°"``) but not the official integer
    high; ``lo_f``/``hi_f`` are the bracket's bounds (``None`` for an open tail).
    """

    TABLE: ClassVar[str] = "bracket_outcomes"
    KEY: ClassVar[tuple[str, ...]] = ()
    event_ticker: str
    city: str
    climate_date: dt.date
    lo_f: int | None
    hi_f: int | None
    label: str
    source: str
    source_file: str


RECORD_TYPES: tuple[type, ...] = (
    MarketRecord,
    EventRecord,
    TradeRecord,
    BookTopRecord,
    BookLevelRecord,
    BookDeltaRecord,
    CandleRecord,
    WeatherObsRecord,
    ForecastHourlyRecord,
    ForecastDailyRecord,
    OfficialHighRecord,
    FillRecord,
    RawMessageRecord,
    BracketOutcomeRecord,
)
RECORD_BY_TABLE: dict[str, type] = {r.TABLE: r for r in RECORD_TYPES}

_SQL_TYPES = {
    int: "BIGINT",
    float: "DOUBLE",
    str: "VARCHAR",
    bool: "BOOLEAN",
    dt.datetime: "TIMESTAMPTZ",
    dt.date: "DATE",
}


def columns(record_type: type) -> dict[str, tuple[type, bool]]:
    """``{column: (python type, nullable)}`` of a record type, in declaration order."""
    hints = typing.get_type_hints(record_type)
    out: dict[str, tuple[type, bool]] = {}
    for f in dataclasses.fields(record_type):
        tp = hints[f.name]
        nullable = False
        if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            nullable = len(args) < len(typing.get_args(tp))
            tp = args[0]
        out[f.name] = (tp, nullable)
    return out


def sql_schema(record_type: type) -> str:
    """``CREATE TABLE`` column list for a record type."""
    cols = []
    for name, (tp, nullable) in columns(record_type).items():
        cols.append(f'"{name}" {_SQL_TYPES[tp]}{"" if nullable else " NOT NULL"}')
    return ", ".join(cols)
