"""Typed Kalshi REST objects in exact units, for both wire generations (kalshi-api.md §4-5, §11).

Prices become centi-cents (``$1 = 10_000``), counts centi-contracts, instants aware UTC. The
field readers of :mod:`kbayes.io.kalshi_wire` do the per-field work (dollar strings,
``*_fp`` counts, legacy integer cents, both generations cross-checked). Here:

* a **missing required field** raises :class:`KalshiSchemaError` naming the endpoint and field;
* **unknown fields** are tolerated but recorded in a :class:`FieldLog` (counted per object kind,
  warned once per name), so a wire change shows up in logs instead of being silently ignored;
* every object keeps its ``raw`` dict for anything not modelled.

Top-of-book sentinels (bid ``"0.0000"``, ask ``"1.0000"`` on an empty side) become ``None``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from kbayes.io.kalshi.errors import KalshiSchemaError
from kbayes.io.kalshi_wire import (
    WireError,
    count_centi,
    parse_utc,
    parse_utc_opt,
    price_cc,
)
from kbayes.market.prices import CC_PER_DOLLAR


class KalshiSchemaWarning(UserWarning):
    """A Kalshi object carried a field this client does not know."""


# Every field the spec (OpenAPI 3.28.0) or an older capture has shown, per object kind.
_LEGACY_MARKET = {
    "yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "previous_yes_bid",
    "previous_yes_ask", "previous_price", "notional_value", "liquidity", "response_price_units",
    "category", "risk_limit_cents", "tick_size", "volume", "open_interest", "volume_24h",
    "fractional_trading_enabled", "settlement_value",
}  # fmt: skip
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "market": frozenset({
        "ticker", "event_ticker", "market_type", "yes_sub_title", "no_sub_title", "title",
        "subtitle", "created_time", "updated_time", "open_time", "close_time",
        "expected_expiration_time", "latest_expiration_time", "expiration_time",
        "settlement_timer_seconds", "status", "yes_bid_dollars", "yes_ask_dollars",
        "no_bid_dollars", "no_ask_dollars", "yes_bid_size_fp", "yes_ask_size_fp",
        "last_price_dollars", "previous_yes_bid_dollars", "previous_yes_ask_dollars",
        "previous_price_dollars", "volume_fp", "volume_24h_fp", "open_interest_fp",
        "notional_value_dollars", "liquidity_dollars", "result", "can_close_early",
        "expiration_value", "settlement_value_dollars", "settlement_ts", "occurrence_datetime",
        "fee_waiver_expiration_time", "early_close_condition", "strike_type", "floor_strike",
        "cap_strike", "functional_strike", "custom_strike", "rules_primary", "rules_secondary",
        "price_level_structure", "price_ranges", "is_provisional", "exchange_index",
        "mve_collection_ticker", "mve_selected_legs", "primary_participant_key",
        *_LEGACY_MARKET,
    }),
    "event": frozenset({
        "event_ticker", "series_ticker", "title", "sub_title", "collateral_return_type",
        "mutually_exclusive", "strike_date", "strike_period", "markets", "settlement_sources",
        "product_metadata", "last_updated_ts", "fee_type_override", "fee_multiplier_override",
        "exchange_index", "category", "available_on_brokers", "milestones",
    }),
    "series": frozenset({
        "ticker", "frequency", "title", "category", "tags", "settlement_sources",
        "contract_url", "contract_terms_url", "product_metadata", "fee_type", "fee_multiplier",
        "additional_prohibitions", "volume_fp", "volume", "last_updated_ts", "exchange_index",
    }),
    "trade": frozenset({
        "trade_id", "ticker", "market_ticker", "count_fp", "count", "yes_price_dollars",
        "no_price_dollars", "yes_price", "no_price", "price", "taker_outcome_side",
        "taker_book_side", "taker_side", "created_time", "is_block_trade", "ts",
    }),
    "candle": frozenset({
        "end_period_ts", "yes_bid", "yes_ask", "price", "volume_fp", "open_interest_fp",
        "volume", "open_interest",
    }),
    "exchange_status": frozenset({
        "exchange_active", "trading_active", "intra_exchange_transfers_active",
        "exchange_estimated_resume_time", "exchange_index_statuses",
    }),
    "cutoff": frozenset({
        "market_settled_ts", "trades_created_ts", "orders_updated_ts",
        "market_positions_last_updated_ts",
    }),
}  # fmt: skip


class FieldLog:
    """Unknown fields seen per object kind; each new ``(kind, field)`` is warned once."""

    def __init__(self) -> None:
        """Start empty."""
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lock = threading.Lock()

    def check(self, kind: str, obj: Mapping[str, Any], endpoint: str) -> None:
        """Count (and warn about, the first time) fields of ``obj`` unknown for ``kind``."""
        known = KNOWN_FIELDS.get(kind)
        if known is None:
            return
        for name in obj:
            if name in known:
                continue
            with self._lock:
                first = (kind, name) not in self.counts
                self.counts[(kind, name)] += 1
            if first:
                warnings.warn(
                    f"{endpoint}: unknown {kind} field {name!r} (kept in .raw)",
                    KalshiSchemaWarning,
                    stacklevel=3,
                )

    def unknown(self) -> dict[str, list[str]]:
        """``{kind: [field, …]}`` of everything unknown seen so far."""
        out: dict[str, list[str]] = {}
        for kind, name in sorted(self.counts):
            out.setdefault(kind, []).append(name)
        return out


class _Reader:
    """Field access for one object that turns any failure into a :class:`KalshiSchemaError`."""

    def __init__(self, obj: object, kind: str, endpoint: str, log: FieldLog | None) -> None:
        if not isinstance(obj, Mapping):
            raise KalshiSchemaError(endpoint, f"{kind} is {type(obj).__name__}, not an object")
        self.obj, self.kind, self.endpoint = obj, kind, endpoint
        if log is not None:
            log.check(kind, obj, endpoint)

    def fail(self, field: str, why: str) -> KalshiSchemaError:
        label = self.obj.get("ticker") or self.obj.get("trade_id") or self.obj.get("event_ticker")
        where = f"{self.kind} {label}" if label else self.kind
        return KalshiSchemaError(self.endpoint, f"{why} in {where}", field=field)

    def req(self, field: str) -> Any:
        value = self.obj.get(field)
        if value is None or value == "":
            raise self.fail(field, "required field is missing")
        return value

    def text(self, field: str) -> str | None:
        value = self.obj.get(field)
        return None if value is None or value == "" else str(value)

    def call(self, fn, *args, **kw):  # type: ignore[no-untyped-def]
        try:
            return fn(self.obj, *args, **kw)
        except WireError as exc:
            raise self.fail(exc.field, exc.reason) from exc

    def price(self, name: str, required: bool = False) -> int | None:
        return self.call(price_cc, name, required=required)

    def count(self, name: str, required: bool = False) -> int | None:
        return self.call(count_centi, name, required=required)

    def time(self, field: str, required: bool = False) -> dt.datetime | None:
        try:
            if required:
                return parse_utc(self.req(field), field)
            return parse_utc_opt(self.obj.get(field), field)
        except WireError as exc:
            raise self.fail(field, exc.reason) from exc

    def number(self, field: str) -> float | None:
        value = self.obj.get(field)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.fail(field, f"{value!r} is not a number") from None


def _bid(cc: int | None) -> int | None:
    return None if cc is None or cc <= 0 else cc


def _ask(cc: int | None) -> int | None:
    return None if cc is None or cc >= CC_PER_DOLLAR else cc


@dataclasses.dataclass(frozen=True, slots=True)
class Market:
    """A market (bracket) as REST returns it. Empty top-of-book sides are ``None``."""

    ticker: str
    event_ticker: str
    status: str
    market_type: str | None
    yes_sub_title: str | None
    strike_type: str | None
    floor_strike: float | None
    cap_strike: float | None
    open_time: dt.datetime | None
    close_time: dt.datetime | None
    settlement_ts: dt.datetime | None
    yes_bid_cc: int | None
    yes_ask_cc: int | None
    no_bid_cc: int | None
    no_ask_cc: int | None
    yes_bid_size_centi: int | None
    yes_ask_size_centi: int | None
    last_price_cc: int | None
    volume_centi: int | None
    volume_24h_centi: int | None
    open_interest_centi: int | None
    result: str | None
    expiration_value: str | None
    settlement_value_cc: int | None
    exchange_index: int | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def parse_market(obj: object, endpoint: str, log: FieldLog | None = None) -> Market:
    """A :class:`Market` from a market object of either wire generation.

    Raises:
        KalshiSchemaError: A required field (ticker, event_ticker, status) is missing, or a
            price/count cannot be parsed exactly.
    """
    r = _Reader(obj, "market", endpoint, log)
    ticker = str(r.req("ticker"))
    idx = r.obj.get("exchange_index")
    return Market(
        ticker=ticker,
        event_ticker=str(r.req("event_ticker")),
        status=str(r.req("status")),
        market_type=r.text("market_type"),
        yes_sub_title=r.text("yes_sub_title") or r.text("subtitle"),
        strike_type=r.text("strike_type"),
        floor_strike=r.number("floor_strike"),
        cap_strike=r.number("cap_strike"),
        open_time=r.time("open_time"),
        close_time=r.time("close_time"),
        settlement_ts=r.time("settlement_ts"),
        yes_bid_cc=_bid(r.price("yes_bid")),
        yes_ask_cc=_ask(r.price("yes_ask")),
        no_bid_cc=_bid(r.price("no_bid")),
        no_ask_cc=_ask(r.price("no_ask")),
        yes_bid_size_centi=r.count("yes_bid_size"),
        yes_ask_size_centi=r.count("yes_ask_size"),
        last_price_cc=_bid(r.price("last_price")),
        volume_centi=r.count("volume"),
        volume_24h_centi=r.count("volume_24h"),
        open_interest_centi=r.count("open_interest"),
        result=r.text("result"),
        expiration_value=r.text("expiration_value"),
        settlement_value_cc=r.price("settlement_value"),
        exchange_index=idx if isinstance(idx, int) else None,
        raw=r.obj,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """An event (one city's climate day) with its markets when nested."""

    event_ticker: str
    series_ticker: str | None
    title: str | None
    mutually_exclusive: bool | None
    strike_date: dt.datetime | None
    markets: tuple[Market, ...]
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def parse_event(
    obj: object, endpoint: str, log: FieldLog | None = None, markets: object = None
) -> Event:
    """An :class:`Event`; ``markets`` is the deprecated top-level list of ``GET /events/{e}``."""
    r = _Reader(obj, "event", endpoint, log)
    nested = r.obj.get("markets")
    raw_markets = nested if isinstance(nested, list) and nested else markets
    if raw_markets is not None and not isinstance(raw_markets, list):
        raise r.fail("markets", "not a list")
    me = r.obj.get("mutually_exclusive")
    return Event(
        event_ticker=str(r.req("event_ticker")),
        series_ticker=r.text("series_ticker"),
        title=r.text("title"),
        mutually_exclusive=me if isinstance(me, bool) else None,
        strike_date=r.time("strike_date"),
        markets=tuple(parse_market(m, endpoint, log) for m in raw_markets or ()),
        raw=r.obj,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Series:
    """A series (``KXHIGHNY``) with its fee parameters and settlement sources."""

    ticker: str
    title: str | None
    fee_type: str | None
    fee_multiplier: float | None
    settlement_sources: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def parse_series(obj: object, endpoint: str, log: FieldLog | None = None) -> Series:
    """A :class:`Series` from ``GET /series/{ticker}``'s ``series`` object."""
    r = _Reader(obj, "series", endpoint, log)
    sources = r.obj.get("settlement_sources") or []
    return Series(
        ticker=str(r.req("ticker")),
        title=r.text("title"),
        fee_type=r.text("fee_type"),
        fee_multiplier=r.number("fee_multiplier"),
        settlement_sources=tuple(s for s in sources if isinstance(s, Mapping)),
        raw=r.obj,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Trade:
    """A public trade. ``taker_outcome_side``: the outcome the taker bought (``yes``/``no``)."""

    trade_id: str
    ticker: str
    ts: dt.datetime
    yes_price_cc: int
    count_centi: int
    taker_outcome_side: str
    taker_book_side: str | None
    is_block_trade: bool | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def parse_trade(obj: object, endpoint: str, log: FieldLog | None = None) -> Trade:
    """A :class:`Trade` from ``/markets/trades`` (or ``/historical/trades``), either generation.

    The new direction field ``taker_outcome_side`` is read first, then the deprecated
    ``taker_side`` (kalshi-api.md §8).
    """
    r = _Reader(obj, "trade", endpoint, log)
    side = r.text("taker_outcome_side") or r.text("taker_side")
    if side not in ("yes", "no"):
        raise r.fail("taker_outcome_side", f"{side!r} is not 'yes' or 'no'")
    block = r.obj.get("is_block_trade")
    ts_field = "created_time" if r.obj.get("created_time") else "ts"
    return Trade(
        trade_id=str(r.req("trade_id")),
        ticker=str(r.obj.get("ticker") or r.req("market_ticker")),
        ts=r.time(ts_field, required=True),  # type: ignore[arg-type]
        yes_price_cc=r.price("yes_price", required=True),  # type: ignore[arg-type]
        count_centi=r.count("count", required=True),  # type: ignore[arg-type]
        taker_outcome_side=side,
        taker_book_side=r.text("taker_book_side"),
        is_block_trade=block if isinstance(block, bool) else None,
        raw=r.obj,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Ohlc:
    """Open/high/low/close in centi-cents; ``None`` where Kalshi sent null."""

    open_cc: int | None
    high_cc: int | None
    low_cc: int | None
    close_cc: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class Candle:
    """One candlestick; ``end`` is the inclusive period end. ``price`` is of YES trades."""

    end: dt.datetime
    yes_bid: Ohlc
    yes_ask: Ohlc
    price: Ohlc
    mean_cc: int | None
    previous_cc: int | None
    volume_centi: int | None
    open_interest_centi: int | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def _ohlc(r: _Reader, key: str) -> Ohlc:
    sub = r.obj.get(key)
    if sub is None:
        return Ohlc(None, None, None, None)
    s = _Reader(sub, "ohlc", r.endpoint, None)
    return Ohlc(*(s.price(k) for k in ("open", "high", "low", "close")))


def parse_candle(obj: object, endpoint: str, log: FieldLog | None = None) -> Candle:
    """A :class:`Candle`: live (``close_dollars``), historical (bare dollar strings ``close``) or
    legacy (integer-cent ``close``) field names."""
    r = _Reader(obj, "candle", endpoint, log)
    price = r.obj.get("price") or {}
    p = _Reader(price, "price", endpoint, None)
    return Candle(
        end=r.time("end_period_ts", required=True),  # type: ignore[arg-type]
        yes_bid=_ohlc(r, "yes_bid"),
        yes_ask=_ohlc(r, "yes_ask"),
        price=_ohlc(r, "price"),
        mean_cc=p.price("mean"),
        previous_cc=p.price("previous"),
        volume_centi=r.count("volume"),
        open_interest_centi=r.count("open_interest"),
        raw=r.obj,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ExchangeStatus:
    """``GET /exchange/status``."""

    exchange_active: bool
    trading_active: bool
    estimated_resume: dt.datetime | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def parse_exchange_status(
    obj: object, endpoint: str, log: FieldLog | None = None
) -> ExchangeStatus:
    """An :class:`ExchangeStatus`; both flags are required booleans."""
    r = _Reader(obj, "exchange_status", endpoint, log)
    flags = []
    for name in ("exchange_active", "trading_active"):
        value = r.obj.get(name)
        if not isinstance(value, bool):
            raise r.fail(name, "required boolean is missing")
        flags.append(value)
    return ExchangeStatus(flags[0], flags[1], r.time("exchange_estimated_resume_time"), r.obj)


@dataclasses.dataclass(frozen=True, slots=True)
class HistoricalCutoff:
    """``GET /historical/cutoff``: data older than these instants lives in ``/historical/*``."""

    market_settled: dt.datetime
    trades_created: dt.datetime
    orders_updated: dt.datetime | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)


def parse_cutoff(obj: object, endpoint: str, log: FieldLog | None = None) -> HistoricalCutoff:
    """A :class:`HistoricalCutoff` (market and trade cutoffs required)."""
    r = _Reader(obj, "cutoff", endpoint, log)
    return HistoricalCutoff(
        market_settled=r.time("market_settled_ts", required=True),  # type: ignore[arg-type]
        trades_created=r.time("trades_created_ts", required=True),  # type: ignore[arg-type]
        orders_updated=r.time("orders_updated_ts"),
        raw=r.obj,
    )
