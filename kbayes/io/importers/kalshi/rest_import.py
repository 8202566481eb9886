"""Verbatim REST captures: L2 order books, fills, and raw bodies kept for reference.

* ``ericzzhang_l2_sample/*.jsonl``: one ``GET /markets/{ticker}/orderbook?depth=20`` per line,
  wrapped by the recorder as ``{cycle_id, depth, event_ticker, fetched_at, payload, ticker}``
  -> :class:`BookLevelRecord` (``snapshot_id`` = ``<cycle_id>:<ticker>``, ``ts`` =
  ``fetched_at``). Payload shapes: ``orderbook_fp.{yes_dollars,no_dollars}`` (current) and the
  legacy ``orderbook.{yes,no}`` integer cents / ``{yes_dollars,...}`` with integer counts
  (kalshi-api.md 5.4). Both sides are bids; an empty list is an empty side.
* ``protocol_captures/jackpetersen_kalshi_fills_complete.json.xz``: one account's
  ``/portfolio/fills`` -> :class:`FillRecord` (``yes_price_fixed``/``yes_price_dollars`` or
  legacy cents, ``count_fp`` or ``count``, ``fee_cost`` dollars -> ``fee_cc``). The fills span
  20 KXHIGH/KXHIGHT series, including cities kbayes does not model; fills have no city column,
  so all are kept.
* ``protocol_captures/cockpit_markets_settled.json``, ``cockpit_market_single.json``: sports
  markets and HTTP error bodies captured to pin wire shapes -> :class:`RawMessageRecord` only
  (one row per returned market, per query, and per other top-level part).
"""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.json_lines import json_objects
from kbayes.io.importers.kalshi.ladders import write_rows
from kbayes.io.importers.kalshi.ws_import import snapshot_levels
from kbayes.io.kalshi_wire import (
    WireError,
    count_centi,
    parse_utc,
    parse_utc_opt,
    price_cc,
    require,
)
from kbayes.market.prices import PriceFormatError, dollars_to_cc
from kbayes.market.records import BookLevelRecord, FillRecord, RawMessageRecord


def orderbook_levels(payload: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``(side, price_cc, size_centi)`` from a REST order-book body of either generation.

    Raises:
        WireError: no order book in the body, or a level that cannot be parsed.
    """
    for key in ("orderbook_fp", "orderbook"):
        if isinstance(payload.get(key), dict):
            return snapshot_levels(payload[key])
    if any(k in payload for k in ("yes", "no", "yes_dollars", "no_dollars")):
        return snapshot_levels(payload)  # unwrapped legacy shape seen in third-party clients
    raise WireError("orderbook_fp", None, "no orderbook_fp/orderbook object in the payload")


def load_l2_jsonl(path: Path, ctx: ImportContext) -> None:
    """Import recorded REST order books, one per line (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for i, rec in json_objects(fh, ctx):
            label = f"line {i}:{rec.get('ticker')}"
            try:
                ticker = str(require(rec, "ticker"))
                ts = parse_utc(rec.get("fetched_at"), "fetched_at")
                payload = require(rec, "payload")
                if not isinstance(payload, dict):
                    raise WireError("payload", type(payload).__name__, "not an object")
                levels = orderbook_levels(payload)
            except WireError as exc:
                ctx.issue(label, exc.field, exc.value, f"book skipped: {exc.reason}")
                continue
            snap = f"{rec.get('cycle_id') or ts.strftime('%Y%m%dT%H%M%SZ')}:{ticker}"
            rows.extend(
                {
                    "ts": ts,
                    "ticker": ticker,
                    "snapshot_id": snap,
                    "side": side,
                    "price_cc": price,
                    "size_centi": size,
                    "source": "kalshi_rest_orderbook",
                }
                for side, price, size in levels
            )
    write_rows(ctx, BookLevelRecord, rows)


def fill_row(f: dict[str, Any]) -> dict[str, Any]:
    """A :class:`FillRecord` row from a ``/portfolio/fills`` object of either generation.

    Raises:
        WireError: a missing or unparseable required field.
    """
    side, action = require(f, "side"), require(f, "action")
    if side not in ("yes", "no"):
        raise WireError("side", side, "expected 'yes' or 'no'")
    if action not in ("buy", "sell"):
        raise WireError("action", action, "expected 'buy' or 'sell'")
    taker = require(f, "is_taker")
    if not isinstance(taker, bool):
        raise WireError("is_taker", taker, "expected a boolean")
    ts_raw = f.get("created_time") if f.get("created_time") else f.get("ts")
    fee_raw = f.get("fee_cost")
    if fee_raw is None:
        fee_raw = f.get("fee_cost_dollars")
    try:
        fee = dollars_to_cc(require({"fee_cost": fee_raw}, "fee_cost"), "fee_cost")
    except PriceFormatError as exc:
        raise WireError("fee_cost", fee_raw, str(exc)) from exc
    return {
        "fill_id": str(require(f, "fill_id")),
        "ticker": str(f.get("ticker") or require(f, "market_ticker")),
        "ts": parse_utc(ts_raw, "created_time"),
        "side": side,
        "action": action,
        "is_taker": taker,
        "yes_price_cc": price_cc(f, "yes_price"),
        "count_centi": count_centi(f, "count"),
        "fee_cc": fee,
    }


def load_fills(path: Path, ctx: ImportContext) -> None:
    """Import a ``/portfolio/fills`` capture (plain or ``.xz``; see the module docstring)."""
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    fills = doc.get("fills") if isinstance(doc, dict) else doc
    if not isinstance(fills, list):
        raise ValueError("no list of fills in the capture")
    rows, seen = [], set()
    for i, f in enumerate(fills):
        label = f"fills[{i}]:{f.get('fill_id') if isinstance(f, dict) else ''}"
        if not isinstance(f, dict):
            ctx.issue(label, "", type(f).__name__, "fill skipped: not an object")
            continue
        try:
            row = fill_row(f)
        except WireError as exc:
            ctx.issue(label, exc.field, exc.value, f"fill skipped: {exc.reason}")
            continue
        if row["fill_id"] in seen:
            ctx.issue(label, "fill_id", row["fill_id"], "duplicate fill; kept the first")
            continue
        seen.add(row["fill_id"])
        rows.append(row)
    write_rows(ctx, FillRecord, rows)


def _raw(line_no: int, ts: Any, kind: str, ticker: Any, obj: Any) -> dict[str, Any]:
    return {
        "line_no": line_no,
        "received_ts": ts,
        "msg_type": kind,
        "ticker": ticker if isinstance(ticker, str) else None,
        "payload": json.dumps(obj, ensure_ascii=False),
    }


def load_rest_raw(path: Path, ctx: ImportContext) -> None:
    """Keep a REST capture document as raw messages (see the module docstring)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        raise ValueError("REST capture is not a JSON object")
    try:
        ts = parse_utc_opt(doc.get("captured_at"), "captured_at")
    except WireError as exc:
        ctx.issue(ctx.source_file, exc.field, exc.value, f"capture time dropped: {exc.reason}")
        ts = None
    rows: list[dict[str, Any]] = []
    rest: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "markets" and isinstance(value, list):
            for m in value:
                ticker = m.get("ticker") if isinstance(m, dict) else None
                rows.append(_raw(len(rows) + 1, ts, "rest_market", ticker, m))
        elif key == "queries" and isinstance(value, list):
            for q in value:
                kind = "http_error" if isinstance(q, dict) and q.get("error") else "rest_query"
                rows.append(_raw(len(rows) + 1, ts, kind, None, q))
        elif key in ("nested", "single", "orderbook") and isinstance(value, dict):
            ticker = value.get("ticker") or doc.get("ticker")
            if key == "single" and isinstance(value.get("market"), dict):
                ticker = value["market"].get("ticker", ticker)
            rows.append(_raw(len(rows) + 1, ts, f"rest_{key}", ticker, value))
        else:
            rest[key] = value
    rows.append(_raw(0, ts, "capture_meta", doc.get("ticker"), rest))
    write_rows(ctx, RawMessageRecord, rows)


register(
    Importer(
        "kalshi.rest_orderbooks",
        ("kalshi/ericzzhang_l2_sample/*.jsonl",),
        load_l2_jsonl,
        "recorded REST order books (depth 20) -> book_levels",
    )
)
register(
    Importer(
        "kalshi.rest_fills",
        ("kalshi/protocol_captures/jackpetersen_kalshi_fills_complete.json*",),
        load_fills,
        "/portfolio/fills capture -> fills",
    )
)
register(
    Importer(
        "kalshi.rest_raw",
        (
            "kalshi/protocol_captures/cockpit_markets_settled.json",
            "kalshi/protocol_captures/cockpit_market_single.json",
        ),
        load_rest_raw,
        "REST captures of sports markets and HTTP errors -> raw_messages",
    )
)
