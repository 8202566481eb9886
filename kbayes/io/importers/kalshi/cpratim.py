"""cpratim/Kalshi-Weather-Trading: the 5-city trade tape and event metadata (PROVENANCE 1).

* ``events_5city.tar.xz``: one ``GET /events/{event}`` response per city and day
  (``<series>/events/YYYY-MM-DD.json``, legacy integer-cent market objects) ->
  :class:`MarketRecord` (source ``cpratim_events``) and, for ladders that tile,
  :class:`EventRecord` with the settlement (``result == "yes"`` market, ``expiration_value``).
  The event's ``strike_date`` is cross-checked against the markets' ``close_time``; the market
  field wins (it is the last trading instant) and a disagreement is reported.
* ``<series>_trades.tar.xz``: one ``{market_ticker: [trade, ...]}`` file per event day
  (``<series>/trades/YYYY-MM-DD.json``) -> :class:`TradeRecord` (``yes_price`` cents -> cc,
  ``count`` -> centi-contracts, ``created_time`` -> aware UTC). Current-format trades
  (``yes_price_dollars``, ``count_fp``, ``taker_outcome_side``) parse too.
  For days that have **no** file in the events tar (the 235 early ``HIGHNY-``/``HIGHCHI-``/
  ``HIGHMIA-`` days per city), markets and events are derived from the tickers
  (source ``cpratim_ticker``, no settlement); days with an event file are left to the events
  tar, so no event is written twice by the two files.

Each tar is one source file; all its rows go to the store in one write per table.
"""

from __future__ import annotations

import contextlib
import json
import operator
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.archive import READ_ERRORS
from kbayes.io.importers.archive import members as tar_members
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.kalshi.ladders import (
    brackets_from_tickers,
    markets_and_events,
    write_markets_events,
)
from kbayes.io.kalshi_wire import WireError, city_for, parse_utc_opt, utc_series
from kbayes.market.bracket import BracketError
from kbayes.market.cities import UnknownCityError
from kbayes.market.ladder import Ladder, LadderError, event_date, event_ticker_of
from kbayes.market.prices import CC_PER_DOLLAR, PriceFormatError, dollars_to_cc, fp_to_centi
from kbayes.market.records import TradeRecord

EVENTS_TAR = "events_5city.tar.xz"
_EVENT_MEMBER = re.compile(r"^(?:\./)?(?P<series>[^/]+)/events/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_TRADE_MEMBER = re.compile(r"^(?:\./)?(?P<series>[^/]+)/trades/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_SOURCE_EVENTS = "cpratim_events"
_SOURCE_TICKER = "cpratim_ticker"
_SOURCE_TRADES = "cpratim_trades"


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, ctx: ImportContext) -> Any:
    """A member's JSON, or ``None`` after reporting why it cannot be read."""
    try:
        fh = tar.extractfile(member)
        if fh is None:
            raise OSError("not a regular file")
        data = fh.read()
    except READ_ERRORS as exc:  # the archive ends inside this member
        ctx.issue(member.name, "", "", f"member skipped: truncated ({type(exc).__name__}: {exc})")
        return None
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        ctx.issue(member.name, "", "", f"member skipped: malformed JSON ({exc})")
        return None


# --- events -------------------------------------------------------------------------------


def load_events_tar(path: Path, ctx: ImportContext) -> None:
    """Import ``events_5city.tar.xz`` (see the module docstring)."""
    markets: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    seen_events: set[str] = set()
    with tarfile.open(path, "r:xz") as tar:
        for member in tar_members(tar, ctx):
            if not member.isfile():
                continue
            if not _EVENT_MEMBER.match(member.name):
                ctx.issue(member.name, "", "", "member skipped: not <series>/events/<date>.json")
                continue
            doc = _read_member(tar, member, ctx)
            if doc is None:
                continue
            event = doc.get("event") if isinstance(doc, dict) else None
            objs = doc.get("markets") if isinstance(doc, dict) else None
            if not isinstance(event, dict) or not isinstance(objs, list):
                ctx.issue(member.name, "event", "", "member skipped: expected {event, markets}")
                continue
            ev = event.get("event_ticker")
            if not ev:
                ctx.issue(member.name, "event_ticker", ev, "member skipped: event has no ticker")
                continue
            if ev in seen_events:
                ctx.issue(member.name, "event_ticker", ev, "member skipped: event seen before")
                continue
            seen_events.add(ev)
            good = []
            for i, obj in enumerate(objs):
                label = f"{member.name}:{obj.get('ticker', i) if isinstance(obj, dict) else i}"
                if not isinstance(obj, dict):
                    ctx.issue(label, "", type(obj).__name__, "market skipped: not an object")
                elif obj.get("event_ticker") not in (None, ev):
                    ctx.issue(
                        label, "event_ticker", obj.get("event_ticker"), f"market skipped: not {ev}"
                    )
                else:
                    good.append((label, {**obj, "event_ticker": ev}))
            _check_strike_date(ctx, member.name, event, good)
            rows, evs = markets_and_events(
                ctx,
                good,
                source=_SOURCE_EVENTS,
                series=event.get("series_ticker"),
                event_prefix=f"{member.name}:",
            )
            markets.extend(rows)
            events.extend(evs)
    write_markets_events(ctx, markets, events)


def _check_strike_date(
    ctx: ImportContext, member: str, event: dict[str, Any], items: list[tuple[str, dict]]
) -> None:
    """Report an event whose ``strike_date`` is not its markets' ``close_time``."""
    try:
        strike = parse_utc_opt(event.get("strike_date"), "strike_date")
    except WireError as exc:
        ctx.issue(f"{member}:{event.get('event_ticker')}", exc.field, exc.value, exc.reason)
        return
    closes = set()
    for _, m in items:
        # A bad close_time is reported when its market is parsed; not twice.
        with contextlib.suppress(WireError):
            closes.add(parse_utc_opt(m.get("close_time"), "close_time"))
    closes.discard(None)
    if strike is not None and closes and strike != max(closes):
        ctx.issue(
            f"{member}:{event.get('event_ticker')}",
            "strike_date",
            event.get("strike_date"),
            f"strike_date differs from the markets' close_time {max(closes).isoformat()}; "
            "events.close_time uses the market close_time (kept)",
        )


# --- trades -------------------------------------------------------------------------------


def _event_days(path: Path, ctx: ImportContext) -> set[tuple[str, str]] | None:
    """``(series folder, day)`` pairs that have an event file in the sibling events tar."""
    events = path.parent / EVENTS_TAR
    if not events.is_file():
        ctx.issue(
            EVENTS_TAR,
            "",
            "",
            "events tar not found next to the trade tar; deriving ladders from tickers for "
            "every day (re-import this file once the events tar is present)",
        )
        return None
    with tarfile.open(events, "r:xz") as tar:
        out = set()
        for member in tar_members(tar, ctx, f"{EVENTS_TAR} "):
            if m := _EVENT_MEMBER.match(member.name):
                out.add((m.group("series"), m.group("day")))
        return out


def load_trades_tar(path: Path, ctx: ImportContext) -> None:
    """Import one ``<series>_trades.tar.xz`` (see the module docstring)."""
    event_days = _event_days(path, ctx)
    cols: dict[str, list[Any]] = {f: [] for f in _TRADE_FIELDS}
    keys: list[str] = []
    members: list[str] = []
    derive: dict[str, tuple[str, list[str]]] = {}  # event -> (member, tickers)
    with tarfile.open(path, "r:xz") as tar:
        for member in tar_members(tar, ctx):
            if not member.isfile():
                continue
            m = _TRADE_MEMBER.match(member.name)
            if not m:
                ctx.issue(member.name, "", "", "member skipped: not <series>/trades/<date>.json")
                continue
            doc = _read_member(tar, member, ctx)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                ctx.issue(member.name, "", type(doc).__name__, "member skipped: not an object")
                continue
            day = m.group("day")
            for ticker, items in doc.items():
                if not isinstance(items, list):
                    ctx.issue(f"{member.name}:{ticker}", "", "", "skipped: trades are not a list")
                    continue
                good = [t for t in items if isinstance(t, dict)]
                if len(good) != len(items):
                    ctx.issue(
                        f"{member.name}:{ticker}",
                        "",
                        len(items) - len(good),
                        "trade entries that are not objects skipped",
                    )
                _extend_columns(cols, good)
                keys.extend([ticker] * len(good))
                members.extend([member.name] * len(good))
            if event_days is None or (m.group("series"), day) not in event_days:
                _collect_tickers(ctx, member.name, day, list(doc), derive)
    ctx.write(TradeRecord, _trade_frame(ctx, cols, keys, members))
    markets, events = _ticker_ladders(ctx, derive)
    write_markets_events(ctx, markets, events)


def _collect_tickers(
    ctx: ImportContext,
    member: str,
    day: str,
    tickers: list[str],
    derive: dict[str, tuple[str, list[str]]],
) -> None:
    for ticker in tickers:
        try:
            ev = event_ticker_of(ticker)
            if str(event_date(ev)) != day:
                ctx.issue(f"{member}:{ticker}", "ticker", ticker, "event date is not the file day")
                continue
        except ValueError as exc:
            ctx.issue(f"{member}:{ticker}", "ticker", ticker, f"no market derived: {exc}")
            continue
        derive.setdefault(ev, (member, []))[1].append(ticker)


def _ticker_ladders(
    ctx: ImportContext, derive: dict[str, tuple[str, list[str]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Markets and events of days without an event file, from the tickers alone."""
    markets: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for ev, (member, tickers) in derive.items():
        record = f"{member}:{ev}"
        try:
            city = city_for(ev)
            brackets = brackets_from_tickers(tickers)
        except (BracketError, UnknownCityError) as exc:
            ctx.issue(record, "ticker", ",".join(tickers), f"no markets derived: {exc}")
            continue
        day = event_date(ev)
        for b in brackets:
            markets.append(
                {
                    "ticker": b.ticker,
                    "event_ticker": ev,
                    "series": city.series,
                    "city": city.key,
                    "climate_date": day,
                    "strike_type": b.strike_type,
                    "floor_strike": None,
                    "cap_strike": None,
                    "lo_f": b.lo,
                    "hi_f": b.hi,
                    "yes_sub_title": None,
                    "open_time": None,
                    "close_time": None,
                    "status": None,
                    "result": None,
                    "expiration_value_f": None,
                    "volume_centi": None,
                    "source": _SOURCE_TICKER,
                }
            )
        try:
            ladder = Ladder(ev, tuple(brackets))
        except LadderError as exc:
            ctx.issue(record, "ladder", ",".join(tickers), f"event skipped (markets kept): {exc}")
            continue
        start, end = city.climate_day_window(day)
        events.append(
            {
                "event_ticker": ev,
                "series": city.series,
                "city": city.key,
                "station": city.station,
                "climate_date": day,
                "window_start": start,
                "window_end": end,
                "close_time": None,
                "n_markets": len(ladder),
                "outcome_f": None,
                "outcome_ticker": None,
                "outcome_source": None,
                "source": _SOURCE_TICKER,
            }
        )
    return markets, events


# Trade fields read from each object; anything else in a trade is ignored (unknown fields).
_TRADE_FIELDS = (
    "trade_id",
    "ticker",
    "market_ticker",
    "created_time",
    "yes_price",
    "yes_price_dollars",
    "count",
    "count_fp",
    "taker_outcome_side",
    "taker_side",
)


_LEGACY_FIELDS = ("trade_id", "ticker", "created_time", "yes_price", "count", "taker_side")
_LEGACY_GET = operator.itemgetter(*_LEGACY_FIELDS)


def _extend_columns(cols: dict[str, list[Any]], trades: list[dict[str, Any]]) -> None:
    """Append one market's trades to the column lists.

    Fast path (C-level ``itemgetter``) when every trade has the legacy fields; otherwise a
    per-trade ``.get`` for every known field, so the current wire format and partial objects
    still parse (missing fields become ``None`` and are reported by :func:`_trade_frame`).
    """
    if not trades:
        return
    try:
        legacy = list(zip(*map(_LEGACY_GET, trades), strict=True))
    except KeyError:
        for f in _TRADE_FIELDS:
            cols[f].extend([t.get(f) for t in trades])
        return
    for f, values in zip(_LEGACY_FIELDS, legacy, strict=True):
        cols[f].extend(values)
    for f in _TRADE_FIELDS:
        if f not in _LEGACY_FIELDS:
            cols[f].extend([None] * len(trades))


def _trade_frame(
    ctx: ImportContext, cols: dict[str, list[Any]], keys: list[str], members: list[str]
) -> pd.DataFrame:
    """Validated trade rows; every rejected trade is reported with its field.

    Per-ticker facts (event, city) are computed once per distinct ticker.
    """
    n = len(keys)
    # fromiter keeps each value as one object, even a malformed nested list.
    raw = {
        f: pd.Series(np.fromiter(v, dtype=object, count=len(v)), dtype=object)
        for f, v in cols.items()
    }
    key = pd.Series(np.array(keys, dtype=object), dtype=object)
    reason = np.full(n, None, dtype=object)  # first failing field per row
    message = np.full(n, None, dtype=object)

    def flag(mask: np.ndarray, field: str, msg: str) -> None:
        new = np.asarray(mask, dtype=bool) & pd.isna(reason)
        reason[new] = field
        message[new] = msg

    trade_id = raw["trade_id"]
    flag(trade_id.isna().to_numpy(), "trade_id", "required field is missing")
    ticker = raw["ticker"].fillna(raw["market_ticker"]).fillna(key)
    flag((ticker != key).to_numpy(), "ticker", "trade ticker differs from its market key")

    ts, bad_ts = utc_series(raw["created_time"])
    flag(bad_ts.to_numpy(), "created_time", "missing, naive or unparseable timestamp")

    price = _price_cc(raw, flag)
    count = _count_centi(raw, flag)
    side = raw["taker_outcome_side"].fillna(raw["taker_side"])
    flag(~side.isin(["yes", "no"]).to_numpy(), "taker_side", "expected 'yes' or 'no'")

    codes, uniques = pd.factorize(ticker)
    ev_u = np.full(len(uniques) + 1, None, dtype=object)  # last slot: missing ticker (code -1)
    city_u = np.full(len(uniques) + 1, None, dtype=object)
    for j, t in enumerate(uniques):
        # A ticker without event/city keeps None and is flagged just below.
        with contextlib.suppress(ValueError, TypeError, AttributeError, UnknownCityError):
            ev_u[j], city_u[j] = event_ticker_of(t), city_for(t).key
    event_ticker, city = ev_u[codes], city_u[codes]
    flag(pd.isna(event_ticker), "ticker", "cannot derive event/city from the ticker")

    dup = trade_id.duplicated(keep="first").to_numpy() & trade_id.notna().to_numpy()
    flag(dup, "trade_id", "duplicate trade_id; kept the first")

    bad = ~pd.isna(reason)
    if bad.any():
        fields = {
            "trade_id": trade_id,
            "ticker": ticker,
            "created_time": raw["created_time"],
            "yes_price": raw["yes_price"].fillna(raw["yes_price_dollars"]),
            "count": raw["count"].fillna(raw["count_fp"]),
            "taker_side": side,
        }
        for i in np.flatnonzero(bad):
            f = reason[i]
            ctx.issue(
                f"{members[i]}:{keys[i]}:{trade_id.iat[i]}",
                f,
                fields[f].iat[i],
                f"trade skipped: {message[i]}",
            )
    keep = ~bad
    return pd.DataFrame(
        {
            "trade_id": trade_id[keep].astype(str).to_numpy(),
            "ticker": ticker[keep].to_numpy(),
            "event_ticker": event_ticker[keep],
            "city": city[keep],
            "ts": ts[keep].reset_index(drop=True),
            "yes_price_cc": price[keep].to_numpy(),
            "count_centi": count[keep].to_numpy(),
            "taker_side": side[keep].to_numpy(),
            "source": _SOURCE_TRADES,
            "source_file": ctx.source_file,
        }
    )


def _exact_column(values: pd.Series, convert) -> tuple[pd.Series, np.ndarray]:
    """Apply an exact Decimal converter to the present values; mask the failures."""
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    bad = np.zeros(len(values), dtype=bool)
    present = values.notna().to_numpy()
    for i in np.flatnonzero(present):
        try:
            out.iat[i] = convert(values.iat[i])
        except PriceFormatError:
            bad[i] = True
    return out, bad


def _legacy_ints(values: pd.Series, scale: int) -> tuple[pd.Series, np.ndarray]:
    """Legacy integer cents/counts times ``scale``; non-integers are flagged, not rounded."""
    num = pd.to_numeric(values, errors="coerce")
    present = values.notna().to_numpy()
    arr = num.to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(arr) & (arr == np.round(arr))
    bad = present & ~ok
    out = pd.Series(np.where(ok, arr * scale, np.nan), index=values.index).astype("Int64")
    return out, bad


def _price_cc(raw: dict[str, pd.Series], flag: Callable[..., None]) -> pd.Series:
    legacy, bad_legacy = _legacy_ints(raw["yes_price"], 100)
    flag(bad_legacy, "yes_price", "not an integer number of cents")
    price = legacy
    if raw["yes_price_dollars"].notna().any():
        new, bad_new = _exact_column(raw["yes_price_dollars"], dollars_to_cc)
        flag(bad_new, "yes_price", "yes_price_dollars is not a $0.0001 amount")
        both = new.notna() & legacy.notna()
        flag((both & (new != legacy)).fillna(False).to_numpy(), "yes_price", "cents != dollars")
        price = new.fillna(legacy)
    in_range = (price > 0) & (price < CC_PER_DOLLAR)
    flag(~in_range.fillna(False).to_numpy(), "yes_price", "missing or outside (0, $1)")
    return price


def _count_centi(raw: dict[str, pd.Series], flag: Callable[..., None]) -> pd.Series:
    legacy, bad_legacy = _legacy_ints(raw["count"], 100)
    flag(bad_legacy, "count", "not an integer count")
    count = legacy
    if raw["count_fp"].notna().any():
        new, bad_new = _exact_column(raw["count_fp"], fp_to_centi)
        flag(bad_new, "count", "count_fp is not a 0.01-contract amount")
        both = new.notna() & legacy.notna()
        flag((both & (new != legacy)).fillna(False).to_numpy(), "count", "count != count_fp")
        count = new.fillna(legacy)
    flag(~(count > 0).fillna(False).to_numpy(), "count", "missing or not positive")
    return count


register(
    Importer(
        "kalshi.cpratim_events",
        ("kalshi/cpratim_trades_5city/events_5city.tar.xz",),
        load_events_tar,
        "cpratim event metadata with settlements -> markets, events",
        order=10,
    )
)
register(
    Importer(
        "kalshi.cpratim_trades",
        ("kalshi/cpratim_trades_5city/*_trades.tar.xz",),
        load_trades_tar,
        "cpratim trade tapes -> trades (+ ticker-derived ladders for days without events)",
        order=20,
    )
)
