"""Kalshi market objects to :class:`MarketRecord` rows, and events to validated ladders.

Shared by every importer that sees market metadata (cpratim events, sameeres parquet,
Jetpackjules CSV, REST captures). Policy, the same everywhere:

* **Bracket**: from the strike fields, cross-checked against ``yes_sub_title`` (DESIGN 1,
  kalshi-api.md 4.2). Some sources lack the strike fields (old ``HIGHNY`` markets; the winning
  market of Jan 16 - Feb 9 2025 events in both cpratim and sameeres); then the bracket is read
  from the label and must agree with the ticker suffix (``B43.5`` = 43-44, ``T<x>`` = a tail
  at ``x``), and the recovery is reported as an issue. A market whose bracket cannot be
  determined (unknown ``strike_type``, label contradicting strikes or ticker) is skipped with an
  issue.
* **Event**: written only when its markets tile the integers
  (:class:`~kbayes.market.ladder.Ladder`). A ladder that does not tile is reported (event,
  markets, why) and gets **no** event row, but its markets with a valid bracket are still
  written: they are real markets with real trade tapes, and consumers that need a validated
  ladder join through ``events``.
* **Outcome**: ``outcome_ticker`` is the single market with ``result == "yes"`` and
  ``outcome_f`` its ``expiration_value`` (the CLI high) when that lies in the winning bracket.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from kbayes.io.importers.base import ImportContext
from kbayes.io.kalshi_wire import (
    WireError,
    city_for,
    count_centi,
    parse_utc_opt,
    require,
)
from kbayes.market.bracket import (
    Bracket,
    BracketError,
    bounds_from_subtitle,
    bracket_from_market,
)
from kbayes.market.cities import UnknownCityError
from kbayes.market.ladder import Ladder, LadderError, event_date, event_ticker_of
from kbayes.market.records import EventRecord, MarketRecord, columns

Note = Callable[[str, object, str], None]
"""``note(field, value, message)``: report a recovered or dropped field of one record."""

_RESULTS = frozenset({"yes", "no", "scalar"})
# Degree-like glyphs seen in labels: U+00BA (ordinal) in 2022 sameeres rows, U+02DA ring above.
_DEGREE_LOOKALIKES = str.maketrans({"\u00ba": "\u00b0", "\u02da": "\u00b0"})


@dataclasses.dataclass(frozen=True)
class ParsedMarket:
    """One market's record row (without ``source_file``) and its bracket."""

    row: dict[str, Any]
    bracket: Bracket


def normalize_label(text: object) -> str:
    """A bracket label with degree look-alike glyphs replaced by ``°``."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return str(text).translate(_DEGREE_LOOKALIKES).strip()


def _text(value: object) -> str | None:
    """A stripped string, or ``None`` for missing/NaN/empty values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    out = str(value).strip()
    return out or None


def _num(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


_SUFFIX_RE = re.compile(r"^(?P<kind>[BT])(?P<value>-?\d+(?:\.\d+)?)$")


def ticker_suffix(ticker: str) -> tuple[str, float]:
    """``("B", 43.5)`` or ``("T", -1.0)`` from a market ticker.

    Unlike :func:`kbayes.market.bracket.ticker_suffix`, which splits on the last dash, this
    takes everything after ``SERIES-YYMMMDD-`` so negative strikes parse (``HIGHCHI-24JAN14-T-1``,
    ``-B-0.5`` exist in the cpratim tape).
    """
    parts = str(ticker).split("-", 2)
    suffix = parts[2] if len(parts) == 3 else parts[-1]
    m = _SUFFIX_RE.match(suffix)
    if not m:
        raise BracketError(f"{ticker}: ticker suffix {suffix!r} is neither B<x.5> nor T<x>")
    return m.group("kind"), float(m.group("value"))


def _ticker_candidates(ticker: str) -> tuple[str, list[tuple[int | None, int | None]]]:
    kind, value = ticker_suffix(ticker)
    if kind == "B":
        if value != math.floor(value) + 0.5:
            raise BracketError(f"{ticker}: between suffix B{value} is not at a half degree")
        lo = math.floor(value)
        return kind, [(lo, lo + 1)]
    if value != int(value):
        raise BracketError(f"{ticker}: tail suffix T{value} is not a whole degree")
    x = int(value)
    return kind, [(None, x - 1), (x + 1, None)]


def brackets_from_tickers(tickers: list[str]) -> list[Bracket]:
    """Brackets of a ladder known only by its tickers (no strike fields, no labels).

    Same rules as :func:`kbayes.market.bracket.brackets_from_tickers` (``B<x.5>`` is the bin
    ``x-0.5 .. x+0.5``; a tail ``T<x>`` is the lower one when at or below every bin floor and
    the upper one when at or above every bin cap), with negative strikes supported.

    Raises:
        BracketError: a suffix that is not ``B<x.5>``/``T<x>``, or a tail that cannot be placed.
    """
    parsed = [(t, *_ticker_candidates(t)) for t in tickers]
    bins = [
        Bracket(c[0][0], c[0][1], t, Bracket(*c[0]).describe()) for t, k, c in parsed if k == "B"
    ]
    tails = [(t, c[0][1] + 1) for t, k, c in parsed if k == "T"]  # the tail's strike x
    out = list(bins)
    lo_all = min((b.lo for b in bins), default=None)
    hi_all = max((b.hi for b in bins), default=None)
    xs = [x for _, x in tails]
    for t, x in tails:
        if bins and x <= lo_all:
            lower = True
        elif bins and x >= hi_all:
            lower = False
        elif not bins and len(tails) == 2 and len(set(xs)) == 2:
            lower = x == min(xs)
        else:
            raise BracketError(f"{t}: cannot tell whether tail T{x} is the upper or lower one")
        b = Bracket(None, x - 1, t) if lower else Bracket(x + 1, None, t)
        out.append(Bracket(b.lo, b.hi, t, b.describe()))
    return out


def resolve_bracket(market: Mapping[str, Any]) -> tuple[Bracket, str | None]:
    """The bracket of a market object, and a note when it had to be recovered.

    Strike fields decide when present (cross-checked against the label). Without a
    ``strike_type``, the label decides and must agree with the ticker suffix; with no label
    either, only a ``B<x.5>`` ticker is enough (a bare ``T<x>`` cannot say which tail).

    Raises:
        BracketError: unknown ``strike_type``, label contradicting the strikes or the ticker,
            or not enough information.
    """
    ticker = str(market.get("ticker") or market.get("market_ticker") or "?")
    raw_label = market.get("yes_sub_title") or market.get("subtitle") or ""
    label = normalize_label(raw_label)
    strike_type = normalize_label(market.get("strike_type"))
    if strike_type:
        m = {
            "ticker": ticker,
            "strike_type": strike_type,
            "floor_strike": _num(market.get("floor_strike")),
            "cap_strike": _num(market.get("cap_strike")),
            "yes_sub_title": label,
        }
        return bracket_from_market(m), None
    parsed = bounds_from_subtitle(label) if label else None
    try:
        kind, candidates = _ticker_candidates(ticker)
    except BracketError:
        if parsed is None:
            raise BracketError(
                f"{ticker}: no strike_type, label {raw_label!r} unparseable and ticker suffix "
                "is not B<x.5>/T<x>"
            ) from None
        kind, candidates = "?", [parsed]
    if parsed is not None:
        if parsed not in candidates:
            raise BracketError(
                f"{ticker}: no strike_type; label {raw_label!r} gives "
                f"{Bracket(*parsed).describe()!r}, which the ticker suffix contradicts"
            )
        check = "confirmed by the ticker suffix" if kind != "?" else "ticker suffix unreadable"
        return (
            Bracket(parsed[0], parsed[1], ticker, str(raw_label)),
            f"market kept: strike fields missing; bracket read from the label ({check})",
        )
    if label:
        raise BracketError(
            f"{ticker}: no strike_type and label {raw_label!r} does not state a bracket "
            "(refusing to guess from the ticker alone)"
        )
    if kind == "B":
        lo, hi = candidates[0]
        return (
            Bracket(lo, hi, ticker, Bracket(lo, hi).describe()),
            "market kept: strike fields and label missing; bracket read from the ticker suffix",
        )
    raise BracketError(f"{ticker}: no strike_type and no label; a T<x> tail is ambiguous")


def parse_expiration_value(value: object) -> int | None:
    """``"78.00"`` -> 78, ``""``/``None`` -> ``None``.

    Raises:
        WireError: a value that is not a whole number of °F.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise WireError("expiration_value", value, "not a number") from exc
    if math.isnan(f):
        return None
    if f != int(f):
        raise WireError("expiration_value", value, "not a whole °F value")
    return int(f)


def parse_market(
    market: Mapping[str, Any],
    *,
    source: str,
    series: str | None = None,
    note: Note | None = None,
) -> ParsedMarket:
    """A :class:`MarketRecord` row (minus ``source_file``) from a Kalshi market object.

    Accepts REST market objects of either wire generation (``volume`` or ``volume_fp``) and
    flat table rows using ``market_ticker``/``market_subtitle``. Unknown fields are ignored.

    Args:
        market: the market object.
        source: value of the ``source`` column.
        series: series ticker from the enclosing event, when known.
        note: called for fields that were recovered or dropped (the market is kept).

    Raises:
        WireError, BracketError, UnknownCityError, ValueError: the market cannot be used.
    """
    note = note or (lambda *_: None)
    ticker = str(market.get("ticker") or require(market, "market_ticker")).strip()
    if "ticker" not in market:
        market = {**market, "ticker": ticker}
    if "yes_sub_title" not in market and "market_subtitle" in market:
        market = {**market, "yes_sub_title": market["market_subtitle"]}
    event_ticker = _text(market.get("event_ticker")) or event_ticker_of(ticker)
    if event_ticker != event_ticker_of(ticker):
        raise WireError("event_ticker", event_ticker, f"is not the event of ticker {ticker}")
    series = series or _text(market.get("series_ticker"))
    city = city_for(ticker, series)
    if series and city_for(series, None) != city:
        raise WireError("series_ticker", series, f"is not the series of ticker {ticker}")
    bracket, recovered = resolve_bracket(market)
    if recovered:
        raw_label = market.get("yes_sub_title") or market.get("subtitle") or ""
        note("strike_type", f"label {raw_label!r} -> {bracket.describe()}", recovered)
    result = _text(market.get("result"))
    if result is not None and result not in _RESULTS:
        raise WireError("result", result, f"unknown result (expected one of {sorted(_RESULTS)})")
    try:
        expiration = parse_expiration_value(market.get("expiration_value"))
    except WireError as exc:
        note(exc.field, exc.value, f"{exc.reason}; expiration_value_f left empty")
        expiration = None
    row = {
        "ticker": ticker,
        "event_ticker": event_ticker,
        "series": series or city.series,
        "city": city.key,
        "climate_date": event_date(event_ticker),
        "strike_type": _text(market.get("strike_type")) or bracket.strike_type,
        "floor_strike": _num(market.get("floor_strike")),
        "cap_strike": _num(market.get("cap_strike")),
        "lo_f": bracket.lo,
        "hi_f": bracket.hi,
        "yes_sub_title": _text(market.get("yes_sub_title")) or _text(market.get("subtitle")),
        "open_time": parse_utc_opt(market.get("open_time"), "open_time"),
        "close_time": parse_utc_opt(market.get("close_time"), "close_time"),
        "status": _text(market.get("status")),
        "result": result,
        "expiration_value_f": expiration,
        "volume_centi": count_centi(market, "volume", required=False),
        "source": source,
    }
    return ParsedMarket(row, bracket)


def build_event(
    event_ticker: str,
    markets: list[ParsedMarket],
    *,
    source: str,
    series: str | None = None,
    close_time: dt.datetime | None = None,
    note: Note | None = None,
) -> dict[str, Any]:
    """An :class:`EventRecord` row (minus ``source_file``) for a ladder that tiles.

    Args:
        event_ticker: the event.
        markets: its parsed markets.
        source: value of the ``source`` column.
        series: series ticker, when the payload states it.
        close_time: the event's last trading instant; default the latest market close.
        note: called for outcome fields that were dropped (the event is kept).

    Raises:
        LadderError: the brackets do not tile the integers.
    """
    note = note or (lambda *_: None)
    ladder = Ladder(event_ticker, tuple(m.bracket for m in markets))
    city = city_for(event_ticker, series)
    day = event_date(event_ticker)
    start, end = city.climate_day_window(day)
    if close_time is None:
        closes = [m.row["close_time"] for m in markets if m.row["close_time"] is not None]
        close_time = max(closes) if closes else None
    winners = [m for m in markets if m.row["result"] == "yes"]
    outcome_f = outcome_ticker = outcome_source = None
    if len(winners) > 1:
        note(
            "result",
            ",".join(m.row["ticker"] for m in winners),
            "more than one market settled yes; outcome left empty",
        )
    elif len(winners) == 1:
        win = winners[0]
        outcome_ticker, outcome_source = win.row["ticker"], "kalshi_result"
        values = {m.row["expiration_value_f"] for m in markets} - {None}
        value = win.row["expiration_value_f"]
        if value is None and len(values) == 1:
            value = next(iter(values))
        if len(values) > 1:
            note(
                "expiration_value",
                sorted(values),
                "markets of the event disagree on expiration_value; outcome_f from the winner",
            )
        if value is not None and not win.bracket.contains(value):
            note(
                "expiration_value",
                value,
                f"expiration_value is outside the winning bracket {win.row['ticker']} "
                f"({win.bracket.describe()}); outcome_f left empty",
            )
            value = None
        outcome_f = value
    elif all(m.row["result"] == "no" for m in markets):
        note("result", "no", "every market resolved no; outcome left empty")
    return {
        "event_ticker": event_ticker,
        "series": str(series or markets[0].row["series"]),
        "city": city.key,
        "station": city.station,
        "climate_date": day,
        "window_start": start,
        "window_end": end,
        "close_time": close_time,
        "n_markets": len(ladder),
        "outcome_f": outcome_f,
        "outcome_ticker": outcome_ticker,
        "outcome_source": outcome_source,
        "source": source,
    }


def markets_and_events(
    ctx: ImportContext,
    items: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    source: str,
    make_events: bool = True,
    series: str | None = None,
    event_close: Mapping[str, dt.datetime | None] | None = None,
    event_prefix: str = "",
    report_recovery: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Market rows and validated event rows from ``(record_label, market_object)`` pairs.

    Every market that cannot be used and every event whose ladder does not tile is reported
    with ``ctx.issue``; see the module docstring for the policy.

    Args:
        ctx: import context (issues go there).
        items: ``(record label for issues, market object)`` pairs.
        source: value of the ``source`` column.
        make_events: also validate ladders and build event rows.
        series: series ticker stated by the payload, if any.
        event_close: explicit close time per event (default: latest market close).
        event_prefix: prefix of the record label of event issues (e.g. the tar member).
        report_recovery: report brackets read from label/ticker because the strike fields are
            missing; off for sources that never carry strike fields (it is their normal path).
    """
    by_event: dict[str, list[ParsedMarket]] = {}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for label, obj in items:
        record = label
        if not isinstance(obj, Mapping):
            ctx.issue(record, "", type(obj).__name__, "market skipped: not a JSON object")
            continue

        def note(f: str, v: object, msg: str, r: str = record) -> None:
            if report_recovery or f != "strike_type":
                ctx.issue(r, f, v, msg)

        try:
            parsed = parse_market(obj, source=source, series=series, note=note)
        except WireError as exc:
            ctx.issue(record, exc.field, exc.value, f"market skipped: {exc.reason}")
            continue
        except (BracketError, UnknownCityError, ValueError) as exc:
            ctx.issue(record, "strike_type", obj.get("strike_type"), f"market skipped: {exc}")
            continue
        if parsed.row["ticker"] in seen:
            ctx.issue(record, "ticker", parsed.row["ticker"], "duplicate market; kept the first")
            continue
        seen.add(parsed.row["ticker"])
        rows.append(parsed.row)
        by_event.setdefault(parsed.row["event_ticker"], []).append(parsed)
    events: list[dict[str, Any]] = []
    if make_events:
        for ev, parsed_markets in by_event.items():
            tickers = ",".join(m.row["ticker"] for m in parsed_markets)
            try:
                events.append(
                    build_event(
                        ev,
                        parsed_markets,
                        source=source,
                        series=series,
                        close_time=(event_close or {}).get(ev),
                        note=lambda f, v, msg, e=event_prefix + ev: ctx.issue(e, f, v, msg),
                    )
                )
            except LadderError as exc:
                msg = f"event skipped (markets kept): {exc}"
                ctx.issue(event_prefix + ev, "ladder", tickers, msg)
    return rows, events


def frame(
    record_type: type, rows: list[dict[str, Any]] | pd.DataFrame, source_file: str
) -> pd.DataFrame:
    """A frame with exactly ``record_type``'s columns (``source_file`` filled).

    Args:
        record_type: the record type.
        rows: row dicts, or a frame holding at least the columns other than ``source_file``.
        source_file: the file the rows come from.
    """
    cols = list(columns(record_type))
    if len(rows) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    df = (
        rows.reset_index(drop=True).copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    )
    if "source_file" in cols:
        df["source_file"] = source_file
    return df[cols]


def write_rows(ctx: ImportContext, record_type: type, rows: list[dict[str, Any]]) -> int:
    """Write row dicts for ``record_type`` (an empty list still clears the file's old rows)."""
    return ctx.write(record_type, frame(record_type, rows, ctx.source_file))


def write_markets_events(
    ctx: ImportContext, markets: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    """Write market and event rows of one file."""
    write_rows(ctx, MarketRecord, markets)
    write_rows(ctx, EventRecord, events)
