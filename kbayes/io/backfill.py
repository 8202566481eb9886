"""Backfill from the Kalshi REST API into the store, resumable page by page (``kbayes fetch``).

It sits beside :mod:`kbayes.io.ingest` (files into the store), not in the live client
:mod:`kbayes.io.kalshi`: it writes rows through the importers' row builders.

Every page is written under its own ``source_file`` (``kalshi_api/<kind>/<key>/p00012``), so a
re-run replaces rather than duplicates, and a checkpoint (cursor and tier for trades and
markets, last finished window for candles) is saved after each page in a JSON file next to the
store. An interrupted fetch resumes after the last page written; a finished one is skipped
unless forced. Records that cannot be typed (e.g. a non-weather ticker) are logged to the
store's ``import_issues`` table, never dropped silently.

``fetch markets`` also writes the parent ``events`` rows. A page may split an event's ladder,
so events are built once the job's last page is in, from every market row the job wrote (all
its pages, those of an interrupted earlier run included), under ``kalshi_api/<key>/events``.
Everything an event row holds (city, station, climate-day window, close time, ladder size,
outcome) follows from the markets and the city table, so no ``/events`` request is needed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kbayes.io.frames import frame_to_records
from kbayes.io.importers.base import ImportContext
from kbayes.io.importers.kalshi.candles import rest_candles
from kbayes.io.importers.kalshi.ladders import (
    ParsedMarket,
    build_event,
    markets_and_events,
    write_rows,
)
from kbayes.io.kalshi.rest import KalshiClient
from kbayes.io.kalshi.schema import Trade
from kbayes.io.kalshi_wire import city_for
from kbayes.io.store import DuckDBStore
from kbayes.market.bracket import Bracket
from kbayes.market.cities import UnknownCityError
from kbayes.market.ladder import event_ticker_of
from kbayes.market.records import CandleRecord, EventRecord, MarketRecord, TradeRecord

Progress = Callable[[int, str], None]  # (rows just written, description)


class Checkpoints:
    """A JSON file of ``{job key: state}``, rewritten atomically after every page."""

    def __init__(self, path: str | Path) -> None:
        """Load the file if it exists."""
        self.path = Path(path)
        self.state: dict[str, dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.is_file() else {}
        )

    @classmethod
    def beside(cls, store_path: str | Path) -> Checkpoints:
        """The checkpoint file of a store: ``<store>.fetch.json``."""
        return cls(str(store_path) + ".fetch.json")

    def get(self, key: str) -> dict[str, Any] | None:
        """The saved state of a job."""
        return self.state.get(key)

    def put(self, key: str, state: dict[str, Any]) -> None:
        """Save a job's state (write to a temp file, then rename: never a torn checkpoint)."""
        self.state[key] = state
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def _ctx(store: DuckDBStore, source_file: str) -> ImportContext:
    return ImportContext(Path("."), store, source_file)


def _finish(store: DuckDBStore, ctx: ImportContext) -> None:
    store.log_issues(ctx.source_file, [(i.record, i.field, i.value, i.message) for i in ctx.issues])


def trade_row(t: Trade) -> dict[str, Any]:
    """A :class:`TradeRecord` row of a REST trade.

    Raises:
        UnknownCityError, ValueError: The ticker is not a KXHIGH* market.
    """
    return {
        "trade_id": t.trade_id,
        "ticker": t.ticker,
        "event_ticker": event_ticker_of(t.ticker),
        "city": city_for(t.ticker).key,
        "ts": t.ts,
        "yes_price_cc": t.yes_price_cc,
        "count_centi": t.count_centi,
        "taker_side": t.taker_outcome_side,
        "source": "kalshi_api_trades",
    }


def fetch_trades(
    client: KalshiClient,
    store: DuckDBStore,
    tickers: Sequence[str],
    min_ts: int | None,
    max_ts: int | None,
    checkpoints: Checkpoints,
    progress: Progress = lambda n, d: None,
    force: bool = False,
) -> int:
    """Public trades of each ticker in ``[min_ts, max_ts]`` (historical tier included)."""
    total = 0
    for ticker in tickers:
        key = f"trades/{ticker}/{min_ts}-{max_ts}"
        state = checkpoints.get(key) or {}
        if state.get("done") and not force:
            continue
        if force:
            state = {}
        page_no, cursor, tier = state.get("page", 0), state.get("cursor"), state.get("tier")
        for page in client.trade_pages(ticker, min_ts, max_ts, cursor=cursor, tier=tier):
            ctx = _ctx(store, f"kalshi_api/{key}/p{page_no:05d}")
            rows = []
            for trade in page.items:
                try:
                    rows.append(trade_row(trade))
                except (UnknownCityError, ValueError) as exc:
                    ctx.issue(trade.trade_id, "ticker", trade.ticker, f"trade skipped: {exc}")
            write_rows(ctx, TradeRecord, rows)
            _finish(store, ctx)
            page_no += 1
            # After the last historical page the next run starts the live tier.
            nxt_tier = (
                "live" if page.cursor is None and page.endpoint == "historical" else page.endpoint
            )
            checkpoints.put(
                key, {"page": page_no, "cursor": page.cursor, "tier": nxt_tier, "done": False}
            )
            total += len(rows)
            progress(len(rows), f"trades {ticker} page {page_no}")
        checkpoints.put(key, {"page": page_no, "cursor": None, "tier": None, "done": True})
    return total


def fetch_markets(
    client: KalshiClient,
    store: DuckDBStore,
    series: str,
    status: str | None,
    checkpoints: Checkpoints,
    progress: Progress = lambda n, d: None,
    force: bool = False,
    historical: bool = False,
) -> int:
    """Every market of a series (``status`` filter: open, closed, settled …) into ``markets``."""
    key = f"markets/{'historical/' if historical else ''}{series}/{status or 'any'}"
    state = checkpoints.get(key) or {}
    if state.get("done") and not force:
        # Cheap and idempotent: gives events to stores fetched before events were written.
        write_job_events(store, key)
        return 0
    page_no, cursor = (0, None) if force else (state.get("page", 0), state.get("cursor"))
    total = 0
    filters = {"series_ticker": series, "status": status}
    for page in client.market_pages(cursor=cursor, historical=historical, **filters):
        ctx = _ctx(store, f"kalshi_api/{key}/p{page_no:05d}")
        items = [(f"{m.ticker}", m.raw) for m in page.items]
        # A page may split an event's ladder: events are built after the last page.
        rows, _ = markets_and_events(ctx, items, source="kalshi_api", make_events=False)
        write_rows(ctx, MarketRecord, rows)
        _finish(store, ctx)
        page_no += 1
        checkpoints.put(key, {"page": page_no, "cursor": page.cursor, "done": False})
        total += len(rows)
        progress(len(rows), f"markets {series} page {page_no}")
    n_events = write_job_events(store, key)
    progress(0, f"markets {series}: {n_events} events")
    checkpoints.put(key, {"page": page_no, "cursor": None, "done": True})
    return total


def write_job_events(store: DuckDBStore, key: str) -> int:
    """Event rows for the ladders of every market a markets job wrote (all its pages).

    A ticker seen on two pages (the listing shifted between requests) counts once, from the
    later page. An event whose ladder does not tile gets no row and an ``import_issues``
    entry; its markets stay (the policy of :mod:`kbayes.io.importers.kalshi.ladders`).

    Returns:
        The number of event rows written.
    """
    ctx = _ctx(store, f"kalshi_api/{key}/events")
    df = store.read("markets", "starts_with(source_file, ?)", [f"kalshi_api/{key}/p"])
    by_event: dict[str, list[ParsedMarket]] = {}
    if not df.empty:
        df = df.sort_values("source_file").drop_duplicates("ticker", keep="last")
        for rec in frame_to_records(MarketRecord, df.sort_values("ticker")):
            row = dataclasses.asdict(rec)  # typed back: NA -> None, aware datetimes, ints
            try:
                bracket = Bracket(
                    row["lo_f"], row["hi_f"], row["ticker"], row["yes_sub_title"] or ""
                )
            except ValueError as exc:  # not expected: the row was written from a valid bracket
                ctx.issue(row["ticker"], "bracket", f"{row['lo_f']}..{row['hi_f']}", str(exc))
                continue
            by_event.setdefault(row["event_ticker"], []).append(ParsedMarket(row, bracket))
    events = []
    for ev, markets in sorted(by_event.items()):
        try:
            events.append(
                build_event(
                    ev, markets, source="kalshi_api",
                    note=lambda f, v, msg, e=ev: ctx.issue(e, f, v, msg),
                )
            )  # fmt: skip
        except ValueError as exc:  # LadderError: a gap, an overlap, a missing tail
            tickers = ",".join(m.row["ticker"] for m in markets)
            ctx.issue(ev, "ladder", tickers, f"event skipped (markets kept): {exc}")
    write_rows(ctx, EventRecord, events)
    _finish(store, ctx)
    return len(events)


def fetch_candles(
    client: KalshiClient,
    store: DuckDBStore,
    tickers: Sequence[str],
    start: int,
    end: int,
    period_minutes: int,
    checkpoints: Checkpoints,
    progress: Progress = lambda n, d: None,
    force: bool = False,
    window_periods: int = 5000,
) -> int:
    """Candles of each ticker over ``[start, end]`` in windows of ``window_periods`` periods."""
    total = 0
    step = window_periods * period_minutes * 60
    for ticker in tickers:
        key = f"candles/{ticker}/{period_minutes}m/{start}-{end}"
        state = checkpoints.get(key) or {}
        if state.get("done") and not force:
            continue
        lo = start if force else state.get("next", start)
        while lo <= end:
            hi = min(end, lo + step - 1)
            candles = client.candlesticks(ticker.split("-")[0], ticker, lo, hi, period_minutes)
            ctx = _ctx(store, f"kalshi_api/{key}/{lo}")
            rows = rest_candles(ctx, ticker, [c.raw for c in candles], period_minutes)
            write_rows(ctx, CandleRecord, rows)
            _finish(store, ctx)
            checkpoints.put(key, {"next": hi + 1, "done": False})
            total += len(rows)
            progress(
                len(rows), f"candles {ticker} to {dt.datetime.fromtimestamp(hi, dt.UTC):%Y-%m-%d}"
            )
            lo = hi + 1
        checkpoints.put(key, {"next": end + 1, "done": True})
    return total
