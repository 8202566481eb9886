"""Recorded WebSocket frames -> raw messages, book snapshots/deltas, trades, tickers.

* ``protocol_captures/cockpit_ws_orderbook_stream.json``: ``{captured_ms, note, tickers, counts,
  shape, frames: [{received_ms, frame}]}`` recorded off the socket (MLB markets, 2026-08-07).
* ``protocol_captures/ssmd_kalshi_{ticker,trade}.jsonl``: one bare frame per line (crypto
  markets, Feb 2026), carrying legacy cents and ``*_dollars``/``*_fp`` side by side.

Every frame becomes a :class:`RawMessageRecord` (``line_no``: the 1-based line of a JSONL file
or the 1-based position in ``frames``; 0 is the capture's own metadata; ``payload``: the line
verbatim, or the element re-serialised). In addition (kalshi-api.md 7.5-7.6):

* ``orderbook_snapshot`` -> :class:`BookLevelRecord` per level (``snapshot_id`` =
  ``sid<sid>:seq<seq>``, ``ts`` = the recorder's ``received_ms``, as snapshots carry no
  exchange time); levels from ``*_dollars_fp``, legacy ``*_dollars`` or integer-cent ``yes``/
  ``no`` (cross-checked when both are present). A side whose key is absent is empty.
* ``orderbook_delta`` -> :class:`BookDeltaRecord` (``ts`` = ``ts_ms``, else ``ts``, else
  ``received_ms``). Prices are stored as on the wire: the capture does not say whether
  ``use_yes_price`` was set, and Kalshi's default (false) means NO levels are NO prices.
  ``seq`` gaps within a ``sid`` are reported (frames are kept).
* ``trade`` and ``ticker`` frames of KXHIGH* markets -> :class:`TradeRecord` /
  :class:`BookTopRecord` (``no_bid`` = 100 - ``yes_ask``; a 0 bid or 100 ask is an empty side).
  Frames of other markets (the staged ones are crypto) stay raw messages only: trades and book
  tops need a settlement city. That is reported once per file.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.kalshi.ladders import write_rows
from kbayes.io.kalshi_wire import (
    SIDES,
    WireError,
    city_for,
    count_centi,
    parse_utc,
    parse_utc_opt,
    price_cc,
    require,
    taker_side,
    ticker_top,
)
from kbayes.market.cities import UnknownCityError
from kbayes.market.ladder import event_ticker_of
from kbayes.market.prices import (
    CC_PER_DOLLAR,
    PriceFormatError,
    cents_to_cc,
    dollars_to_cc,
    fp_to_centi,
)
from kbayes.market.records import (
    BookDeltaRecord,
    BookLevelRecord,
    BookTopRecord,
    RawMessageRecord,
    TradeRecord,
)


class _Sink:
    """Rows per table collected from one file's frames."""

    def __init__(self) -> None:
        self.raw: list[dict[str, Any]] = []
        self.levels: list[dict[str, Any]] = []
        self.deltas: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.tops: list[dict[str, Any]] = []
        self.foreign: Counter[str] = Counter()
        self.last_seq: dict[int, int] = {}

    def write(self, ctx: ImportContext) -> None:
        write_rows(ctx, RawMessageRecord, self.raw)
        write_rows(ctx, BookLevelRecord, self.levels)
        write_rows(ctx, BookDeltaRecord, self.deltas)
        write_rows(ctx, TradeRecord, self.trades)
        write_rows(ctx, BookTopRecord, self.tops)
        for kind, n in sorted(self.foreign.items()):
            ctx.issue(
                ctx.source_file,
                "market_ticker",
                n,
                f"{n} {kind} frame(s) are for non-KXHIGH markets; kept as raw messages only",
            )


def snapshot_levels(msg: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``(side, price_cc, size_centi)`` of an order-book snapshot, any wire generation.

    Raises:
        WireError: a level that cannot be parsed, or legacy cents contradicting dollars.
    """
    out = []
    for side in SIDES:
        parsed: dict[str, list[tuple[int, int]]] = {}
        for key, to_cc in (
            (f"{side}_dollars_fp", dollars_to_cc),
            (f"{side}_dollars", dollars_to_cc),
            (side, cents_to_cc),
        ):
            levels = msg.get(key)
            if levels is None:
                continue
            if not isinstance(levels, list):
                raise WireError(key, levels, "levels are not a list")
            rows = []
            for lvl in levels:
                if not isinstance(lvl, list | tuple) or len(lvl) != 2:
                    raise WireError(key, lvl, "level is not [price, size]")
                try:
                    rows.append((to_cc(lvl[0], key), fp_to_centi(lvl[1], key)))
                except PriceFormatError as exc:
                    raise WireError(key, lvl, str(exc)) from exc
            parsed[key] = sorted(rows)
        if len({tuple(v) for v in parsed.values()}) > 1:
            raise WireError(side, sorted(parsed), "the wire generations disagree on the levels")
        if parsed:
            out.extend((side, p, s) for p, s in next(iter(parsed.values())))
    return out


def _weather(ticker: str | None) -> tuple[str, str] | None:
    """``(event_ticker, city)`` of a KXHIGH* market ticker, else ``None``."""
    if not ticker:
        return None
    try:
        return event_ticker_of(ticker), city_for(ticker).key
    except (ValueError, UnknownCityError):
        return None


def _frame(
    ctx: ImportContext, sink: _Sink, label: str, received: Any, frame: dict[str, Any]
) -> None:
    """Typed rows of one frame (the raw row is added by the caller)."""
    kind = frame.get("type")
    msg = frame.get("msg") if isinstance(frame.get("msg"), dict) else {}
    sid, seq = frame.get("sid"), frame.get("seq")
    if isinstance(sid, int) and isinstance(seq, int) and kind != "subscribed":
        last = sink.last_seq.get(sid)
        if last is not None and seq != last + 1:
            ctx.issue(label, "seq", seq, f"sequence gap on sid {sid}: previous seq {last}")
        sink.last_seq[sid] = seq
    if kind == "orderbook_snapshot":
        ticker = require(msg, "market_ticker")
        ts = parse_utc(received if received is not None else msg.get("ts"), "received_ms")
        for side, price, size in snapshot_levels(msg):
            sink.levels.append(
                {
                    "ts": ts,
                    "ticker": ticker,
                    "snapshot_id": f"sid{sid}:seq{seq}",
                    "side": side,
                    "price_cc": price,
                    "size_centi": size,
                    "source": "kalshi_ws",
                }
            )
    elif kind == "orderbook_delta":
        side = require(msg, "side")
        if side not in SIDES:
            raise WireError("side", side, "expected 'yes' or 'no'")
        ts_raw = msg.get("ts_ms") or msg.get("ts") or received
        sink.deltas.append(
            {
                "ts": parse_utc(ts_raw, "ts_ms"),
                "ticker": require(msg, "market_ticker"),
                "sid": int(require(frame, "sid")),
                "seq": int(require(frame, "seq")),
                "side": side,
                "price_cc": price_cc(msg, "price"),
                "delta_centi": count_centi(msg, "delta"),
                "source": "kalshi_ws",
            }
        )
    elif kind == "trade":
        ticker = require(msg, "market_ticker")
        where = _weather(ticker)
        if where is None:
            sink.foreign["trade"] += 1
            return
        side = taker_side(msg)
        sink.trades.append(
            {
                "trade_id": str(require(msg, "trade_id")),
                "ticker": ticker,
                "event_ticker": where[0],
                "city": where[1],
                "ts": parse_utc(require(msg, "ts"), "ts"),
                "yes_price_cc": price_cc(msg, "yes_price"),
                "count_centi": count_centi(msg, "count"),
                "taker_side": side,
                "source": "kalshi_ws",
            }
        )
    elif kind == "ticker":
        ticker = require(msg, "market_ticker")
        where = _weather(ticker)
        if where is None:
            sink.foreign["ticker"] += 1
            return
        top = ticker_top(msg)
        sink.tops.append(
            {
                "ts": parse_utc(require(msg, "ts"), "ts"),
                "ticker": ticker,
                "event_ticker": where[0],
                "city": where[1],
                "yes_bid_cc": top.yes_bid_cc,
                "no_bid_cc": None if top.yes_ask_cc is None else CC_PER_DOLLAR - top.yes_ask_cc,
                "yes_bid_size_centi": top.yes_bid_size_centi,
                "yes_ask_size_centi": top.yes_ask_size_centi,
                "last_price_cc": top.last_price_cc,
                "volume_centi": top.volume_centi,
                "open_interest_centi": top.open_interest_centi,
                "source": "kalshi_ws",
            }
        )


def ingest_frame(
    ctx: ImportContext,
    sink: _Sink,
    line_no: int,
    received: Any,
    frame: Any,
    payload: str,
) -> None:
    """Raw row plus typed rows of one frame; a bad frame is reported and kept raw."""
    label = f"frame {line_no}"
    if not isinstance(frame, dict):
        ctx.issue(label, "", type(frame).__name__, "frame skipped: not a JSON object")
        return
    msg = frame.get("msg") if isinstance(frame.get("msg"), dict) else {}
    try:
        received_ts = parse_utc_opt(received, "received_ms")
    except WireError as exc:
        ctx.issue(label, exc.field, exc.value, f"received time dropped: {exc.reason}")
        received, received_ts = None, None
    sink.raw.append(
        {
            "line_no": line_no,
            "received_ts": received_ts,
            "msg_type": str(frame.get("type") or "unknown"),
            "ticker": msg.get("market_ticker"),
            "payload": payload,
        }
    )
    label = f"frame {line_no}:{frame.get('type')}:{msg.get('market_ticker', '')}"
    try:
        _frame(ctx, sink, label, received, frame)
    except WireError as exc:
        ctx.issue(label, exc.field, exc.value, f"typed rows skipped (raw kept): {exc.reason}")
    except (TypeError, ValueError) as exc:
        ctx.issue(label, "", "", f"typed rows skipped (raw kept): {exc}")


def load_ws_capture(path: Path, ctx: ImportContext) -> None:
    """Import a recorded ``{..., frames: [{received_ms, frame}]}`` capture (see docstring)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    frames = doc.get("frames") if isinstance(doc, dict) else doc
    if not isinstance(frames, list):
        raise ValueError("no 'frames' list in the capture")
    sink = _Sink()
    if isinstance(doc, dict):
        meta = {k: v for k, v in doc.items() if k != "frames"}
        sink.raw.append(
            {
                "line_no": 0,
                "received_ts": parse_utc_opt(doc.get("captured_ms"), "captured_ms"),
                "msg_type": "capture_meta",
                "ticker": None,
                "payload": json.dumps(meta, ensure_ascii=False),
            }
        )
    kinds: Counter[str] = Counter()
    for i, item in enumerate(frames, start=1):
        wrapped = isinstance(item, dict) and "frame" in item
        frame = item["frame"] if wrapped else item
        received = item.get("received_ms") if wrapped else None
        if isinstance(frame, dict):
            kinds[str(frame.get("type"))] += 1
        ingest_frame(ctx, sink, i, received, frame, json.dumps(item, ensure_ascii=False))
    counts = doc.get("counts") if isinstance(doc, dict) else None
    if isinstance(counts, dict) and dict(kinds) != counts:
        ctx.issue(ctx.source_file, "counts", counts, f"capture says {counts}, found {kinds}")
    sink.write(ctx)


def load_ws_jsonl(path: Path, ctx: ImportContext) -> None:
    """Import a JSONL file of bare (or ``{received_ms, frame}``-wrapped) frames."""
    sink = _Sink()
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            text = line.rstrip("\n")
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                ctx.issue(f"line {i}", "", text[:80], f"line skipped: malformed JSON ({exc})")
                continue
            wrapped = isinstance(item, dict) and "frame" in item
            frame = item["frame"] if wrapped else item
            received = item.get("received_ms") if wrapped else None
            ingest_frame(ctx, sink, i, received, frame, text)
    sink.write(ctx)


register(
    Importer(
        "kalshi.ws_capture",
        ("kalshi/protocol_captures/cockpit_ws_orderbook_stream.json",),
        load_ws_capture,
        "recorded orderbook_delta stream -> raw_messages, book_levels, book_deltas",
    )
)
register(
    Importer(
        "kalshi.ws_jsonl",
        ("kalshi/protocol_captures/ssmd_*.jsonl",),
        load_ws_jsonl,
        "WebSocket frames, one per line -> raw_messages (+ trades/book_top for KXHIGH*)",
    )
)
