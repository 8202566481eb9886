"""Rebuild books offline from a tape, with the same :class:`BookStream` the live client uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kbayes.io.kalshi.stream import BookStream, decode_frame
from kbayes.io.tape import read_tape
from kbayes.market.book import OrderBook
from kbayes.market.events import utc_to_ns
from kbayes.market.prices import CC_PER_DOLLAR, cc_to_dollars


def replay(
    tape: str | Path,
    until: dt.datetime | int | None = None,
    on_frame: Callable[[Mapping[str, Any], BookStream], None] | None = None,
) -> BookStream:
    """Feed a tape (folder or file) to a fresh :class:`BookStream`, up to receive time ``until``.

    The live client runs the same state machine on the same frames in the same order (its
    commands are on the tape too), so books, metrics and the staleness flag of every market
    after each frame are the live ones.

    Args:
        tape: Tape folder or file.
        until: Aware datetime or UTC ns; lines received later are not applied.
        on_frame: Called with each decoded frame and the stream after the stream handled it
            (where the live client calls its ``on_frame`` hook).

    Returns:
        The stream state at ``until`` (books, stale set, metrics).
    """
    until_ns = until if isinstance(until, int) or until is None else utc_to_ns(until)
    stream = BookStream()
    for frame, received_ns in tape_frames(tape, stream, until_ns):
        stream.handle(frame, received_ns)  # resyncs are what the live client did next: ignored
        if on_frame is not None:
            on_frame(frame, stream)
    return stream


def tape_frames(
    tape: str | Path, stream: BookStream, until_ns: int | None = None
) -> Iterator[tuple[Mapping[str, Any], int]]:
    """The decoded incoming frames of a tape with their receive times (ns).

    Outgoing commands are fed to ``stream.sent`` and reconnects to ``stream.reset`` on the
    way (the live client's order), malformed lines are counted in ``stream.metrics``; lines
    received after ``until_ns`` end it.
    """
    for e in read_tape(tape, strict=False):
        if until_ns is not None and e.t_ns > until_ns:
            return
        if e.d == "ev":
            if e.fields.get("ev") == "connect":
                stream.now_ns = e.t_ns
                stream.reset()
            continue
        try:
            obj = decode_frame(e.raw or "")
        except ValueError:
            stream.metrics["malformed"] += 1
            continue
        if not isinstance(obj, dict):
            stream.metrics["malformed"] += 1
        elif e.d == "out":
            stream.sent(obj)
        elif e.d == "in":
            yield obj, e.t_ns


def _d(cc: int) -> str:
    return f"{cc_to_dollars(cc):.4f}"


def _size(centi: int) -> str:
    return f"{centi / 100:.2f}"


def book_json(book: OrderBook | None, ticker: str, *, stale: bool, at: str) -> dict[str, Any]:
    """A JSON-ready view of a book: levels best first, top of book, derived quantities.

    Missing sides are ``null`` (never 0 or 1).
    """
    if book is None:
        return {"ticker": ticker, "at": at, "found": False}

    def lv(level: Any) -> list[str] | None:
        return None if level is None else [_d(level.price_cc), _size(level.size_centi)]

    mid, micro = book.mid_cc, book.microprice_cc
    return {
        "ticker": ticker,
        "at": at,
        "found": True,
        "stale": stale,
        "locked": book.is_locked,
        "seq": book.last_seq,
        "yes_bids": [[_d(x.price_cc), _size(x.size_centi)] for x in book.levels("yes")],
        "no_bids": [[_d(x.price_cc), _size(x.size_centi)] for x in book.levels("no")],
        "best_yes_bid": lv(book.best_yes_bid),
        "best_yes_ask": lv(book.best_yes_ask),
        "spread": None if book.spread_cc is None else _d(book.spread_cc),
        "mid": None if mid is None else f"{float(mid) / CC_PER_DOLLAR:.6f}",
        "microprice": None if micro is None else f"{float(micro) / CC_PER_DOLLAR:.6f}",
        "imbalance": None if book.imbalance is None else f"{float(book.imbalance):.6f}",
    }


def book_at(tape: str | Path, ticker: str, at: dt.datetime) -> dict[str, Any]:
    """The JSON view of ``ticker``'s book rebuilt from ``tape`` as of ``at``."""
    stream = replay(tape, at)
    book = stream.books.get(ticker)
    out = book_json(book, ticker, stale=stream.is_stale(ticker), at=at.isoformat())
    out["sync"] = stream.sync_report()  # gaps, locked books, resyncs over the tape so far
    return out
