"""Kalshi order-book payloads (REST, WS, legacy) to books, on spec examples and real captures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from kbayes.io.kalshi.book_wire import (
    apply_delta,
    apply_snapshot,
    book_from_snapshot,
    parse_delta,
    parse_snapshot,
)
from kbayes.io.kalshi.seq import SeqStatus, SeqTracker
from kbayes.market.book import BookError, Level, OrderBook, Side
from tests.market.test_book import NO, YES, book_and_deltas

WS_CAPTURE = Path("kalshi/protocol_captures/cockpit_ws_orderbook_stream.json")
L2_DIR = Path("kalshi/ericzzhang_l2_sample")

# §7.5 spec examples (they are NOT one sequence: the delta removes a level that isn't there).
SPEC_SNAPSHOT = {
    "market_ticker": "FED-23DEC-T3.00",
    "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
    "yes_dollars_fp": [["0.0800", "300.00"], ["0.2200", "333.00"]],
    "no_dollars_fp": [["0.5400", "20.00"], ["0.5600", "146.00"]],
}
SPEC_DELTA = {
    "market_ticker": "FED-23DEC-T3.00",
    "price_dollars": "0.9600",
    "delta_fp": "-54.00",
    "side": "yes",
    "ts_ms": 1669149841000,
}
# §5.4 REST example.
REST_EXAMPLE = {
    "orderbook_fp": {
        "yes_dollars": [
            ["0.0100", "200.00"], ["0.1500", "100.00"], ["0.2000", "50.00"], ["0.2500", "20.00"],
            ["0.3000", "11.00"], ["0.3100", "10.00"], ["0.3200", "10.00"], ["0.3300", "11.00"],
            ["0.3400", "9.00"], ["0.3500", "11.00"], ["0.4100", "10.00"], ["0.4200", "13.00"],
        ],
        "no_dollars": [
            ["0.0100", "100.00"], ["0.1600", "3.00"], ["0.2500", "50.00"], ["0.2800", "19.00"],
            ["0.3600", "5.00"], ["0.3700", "50.00"], ["0.3800", "300.00"], ["0.4400", "29.00"],
            ["0.4500", "20.00"], ["0.5600", "17.00"],
        ],
    }
}  # fmt: skip


def test_rest_example_is_the_domain_book() -> None:
    # Its top of book and derived quantities are tested on the same levels in
    # tests/market/test_book.py; here the wire must give exactly those levels.
    assert book_from_snapshot(REST_EXAMPLE, ticker="X") == OrderBook("X", YES, NO)


def test_snapshot_shapes_agree() -> None:
    """Current REST/WS and legacy integer-cent shapes give the same book."""
    ws = book_from_snapshot(SPEC_SNAPSHOT)
    legacy_ws = {"yes": [[8, 300], [22, 333]], "no": [[54, 20], [56, 146]]}
    legacy_rest = {
        "orderbook": {
            "yes": [[8, 300], [22, 333]],
            "no": [[54, 20], [56, 146]],
            "yes_dollars": [["0.080", 300], ["0.220", 333]],
            "no_dollars": [["0.540", 20], ["0.560", 146]],
        }
    }
    rest = {
        "orderbook_fp": {
            "yes_dollars": SPEC_SNAPSHOT["yes_dollars_fp"],
            "no_dollars": SPEC_SNAPSHOT["no_dollars_fp"],
        }
    }
    ticker = "FED-23DEC-T3.00"
    for payload in (legacy_ws, legacy_rest, rest, rest["orderbook_fp"]):
        assert book_from_snapshot(payload, ticker=ticker) == ws
    assert ws.bids("yes") == {800: 30_000, 2200: 33_300}
    # JSON numbers instead of strings are accepted too (3rd-party reports).
    numeric = {
        "yes_dollars_fp": [[0.08, 300], [0.22, 333]],
        "no_dollars_fp": [[0.54, 20], [0.56, 146.0]],
    }
    assert book_from_snapshot(numeric, ticker=ticker) == ws


def test_empty_sides_are_missing_not_zero() -> None:
    only_no = book_from_snapshot({"market_ticker": "T", "no_dollars_fp": [["0.9400", "5.00"]]})
    assert only_no.best_yes_bid is None and only_no.best_no_ask is None
    assert only_no.best_yes_ask == Level(600, 500)
    for value in (only_no.mid_cc, only_no.microprice_cc, only_no.spread_cc, only_no.imbalance):
        assert value is None
    empty = OrderBook("T")
    assert empty.is_empty and empty.best_yes_ask is None and empty.levels("no") == []
    assert book_from_snapshot({"yes": None, "no": []}, ticker="T").is_empty


def test_deltas_current_and_legacy() -> None:
    book = book_from_snapshot(SPEC_SNAPSHOT, seq=2)
    apply_delta(
        book,
        {
            "market_ticker": "FED-23DEC-T3.00",
            "price_dollars": "0.2200",
            "delta_fp": "-33.00",
            "side": "yes",
        },
        seq=3,
    )
    assert book.size_at("yes", 2200) == 30_000 and book.last_seq == 3
    apply_delta(book, {"price": 22, "delta": -300, "side": "yes"}, seq=4)  # legacy cents / count
    assert book.best_yes_bid == Level(800, 30_000)
    apply_delta(book, {"price_dollars": "0.0300", "delta": 1079, "side": "yes"}, seq=5)  # ssmd mix
    assert book.size_at(Side.YES, 300) == 107_900
    apply_delta(book, {"price_dollars": "0.5600", "delta_fp": "74.77", "side": "no"}, seq=6)
    assert book.size_at("no", 5600) == 14_600 + 7_477  # fractional sizes stay exact


def test_parse_delta_gives_side_own_price_and_signed_change() -> None:
    assert parse_delta(SPEC_DELTA) == (Side.YES, 9600, -5400)
    no = {"price_dollars": "0.7000", "delta_fp": "2.50", "side": "NO"}
    assert parse_delta(no) == (Side.NO, 7000, 250)
    assert parse_delta(no, use_yes_price=True) == (Side.NO, 3000, 250)  # YES-leg price on wire
    assert parse_delta({"price": 7, "delta": -3, "side": "yes"}) == (Side.YES, 700, -300)
    with pytest.raises(BookError, match=r"T delta \(seq 4\): .*delta_fp"):
        parse_delta({**no, "delta_fp": "x"}, where="T delta (seq 4)")


def test_spec_delta_on_spec_snapshot_is_negative() -> None:
    book = book_from_snapshot(SPEC_SNAPSHOT, seq=2)
    before = book.copy()
    with pytest.raises(BookError, match=r"FED-23DEC-T3\.00.*yes 0\.9600 \(seq 3\).*negative"):
        apply_delta(book, SPEC_DELTA, seq=3)
    assert book == before  # atomic: nothing changed


def test_malformed_messages() -> None:
    book = book_from_snapshot(SPEC_SNAPSHOT)
    with pytest.raises(BookError, match="side"):
        apply_delta(book, {"price_dollars": "0.10", "delta_fp": "1", "side": "maybe"})
    with pytest.raises(BookError, match="finer"):
        apply_delta(book, {"price_dollars": "0.12345", "delta_fp": "1", "side": "yes"})
    with pytest.raises(BookError, match="is for"):
        apply_delta(book, {**SPEC_DELTA, "market_ticker": "OTHER"})
    with pytest.raises(BookError, match="outside"):
        parse_snapshot({"yes_dollars_fp": [["1.0000", "1"]]})
    with pytest.raises(BookError, match="twice"):
        parse_snapshot({"yes_dollars_fp": [["0.10", "1"], ["0.1000", "2"]]})
    with pytest.raises(BookError, match="ticker"):
        book_from_snapshot({"yes_dollars_fp": []})


def test_use_yes_price_no_side() -> None:
    # With use_yes_price, a NO level at 0.70 is a NO bid at 0.30, i.e. a YES ask at 0.70.
    book = book_from_snapshot(
        {"market_ticker": "T", "no_dollars_fp": [["0.7000", "5.00"]]}, use_yes_price=True
    )
    assert book.best_no_bid == Level(3000, 500) and book.best_yes_ask == Level(7000, 500)
    apply_delta(
        book, {"price_dollars": "0.7000", "delta_fp": "-5.00", "side": "no"}, use_yes_price=True
    )
    assert book.is_empty


def test_resnapshot_replaces() -> None:
    book = book_from_snapshot(SPEC_SNAPSHOT, seq=2)
    apply_snapshot(
        book, {"market_ticker": "FED-23DEC-T3.00", "yes_dollars_fp": [["0.1000", "1.00"]]}, seq=7
    )
    assert book.bids("yes") == {1000: 100} and book.bids("no") == {} and book.last_seq == 7


# --- real captures -----------------------------------------------------------------------------


@pytest.mark.realdata
def test_rest_l2_sample(shared_data: Path) -> None:
    files = sorted((shared_data / L2_DIR).glob("*.jsonl"))
    assert files
    books = {}
    for line in files[0].read_text().splitlines():
        rec = json.loads(line)
        books[rec["ticker"]] = book_from_snapshot(rec["payload"], ticker=rec["ticker"])
    assert len(books) == 6
    b = books["KXHIGHNY-26AUG24-B82.5"]
    assert b.best_yes_bid is not None and b.best_yes_bid.price_cc == 400  # 0.04
    assert b.best_no_bid is not None and b.best_no_bid.price_cc == 9400  # 0.94
    assert b.best_yes_ask is not None and b.best_yes_ask.price_cc == 600  # 0.06
    assert b.best_yes_bid.size_centi == 19_921  # "199.21": fractional, exact
    t85 = books["KXHIGHNY-26AUG24-T85"]  # no YES bids at all
    assert t85.best_yes_bid is None and t85.mid_cc is None and t85.best_yes_ask is not None


def _reference_replay(frames: list[dict[str, Any]]) -> dict[str, dict[str, dict[Decimal, Decimal]]]:
    """Independent Decimal replay of the §7.5 algorithm, for comparison."""
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    for fr in frames:
        f, m = fr["frame"], fr["frame"].get("msg")
        if f["type"] == "orderbook_snapshot":
            books[m["market_ticker"]] = {
                s: {Decimal(p): Decimal(q) for p, q in m.get(f"{s}_dollars_fp", [])}
                for s in ("yes", "no")
            }
        elif f["type"] == "orderbook_delta":
            lvl = books[m["market_ticker"]][m["side"]]
            new = lvl.get(Decimal(m["price_dollars"]), Decimal(0)) + Decimal(m["delta_fp"])
            if new:
                lvl[Decimal(m["price_dollars"])] = new
            else:
                lvl.pop(Decimal(m["price_dollars"]))
    return books


@pytest.mark.realdata
def test_ws_capture_replay(shared_data: Path) -> None:
    capture = json.loads((shared_data / WS_CAPTURE).read_text())
    frames: list[dict[str, Any]] = capture["frames"]
    received = [fr["received_ms"] for fr in frames]
    assert received == sorted(received)

    tracker = SeqTracker()
    books: dict[str, OrderBook] = {}
    types: dict[str, int] = {}
    for fr in frames:
        f = fr["frame"]
        types[f["type"]] = types.get(f["type"], 0) + 1
        if "seq" in f:  # every sequenced frame, ``ok`` acks included, consumes a seq
            result = tracker.observe(f["sid"], f["seq"])
            if not result.in_sync:
                print("seq problem:", result)
        msg = f.get("msg")
        if f["type"] == "orderbook_snapshot":
            books[msg["market_ticker"]] = book_from_snapshot(msg, seq=f["seq"])
        elif f["type"] == "orderbook_delta":
            apply_delta(books[msg["market_ticker"]], msg, seq=f["seq"])  # raises on negative

    assert types == {"subscribed": 1, "orderbook_snapshot": 12, "ok": 11, "orderbook_delta": 245}
    assert len(books) == 12 and set(books) == set(capture["tickers"])
    # One sid, seq 1..268 without a hole: 12 snapshots + 11 ok + 245 deltas. Zero gaps found.
    assert tracker.counts == {SeqStatus.FIRST: 1, SeqStatus.OK: 267}
    assert tracker.gaps == 0 and tracker.missing_total == 0 and tracker.last_seq(1) == 268
    reference = _reference_replay(frames)
    for ticker, book in books.items():
        for side in ("yes", "no"):
            assert all(size > 0 for size in book.bids(side).values())
            expected = {int(p * 10_000): int(q * 100) for p, q in reference[ticker][side].items()}
            assert dict(book.bids(side)) == expected, (ticker, side)
        assert book.spread_cc is not None and book.spread_cc > 0  # never crossed nor locked

    # Dropping one delta frame is reported as exactly one gap of one seq.
    t = SeqTracker()
    for fr in frames[:100] + frames[101:]:
        if "seq" in fr["frame"]:
            t.observe(fr["frame"]["sid"], fr["frame"]["seq"])
    assert t.gaps == 1 and t.missing_total == 1


# --- property: wire deltas are the domain's changes ------------------------------------------


@given(book_and_deltas())
def test_wire_deltas_apply_exactly_the_domain_changes(
    case: tuple[OrderBook, list[tuple[Side, int, int]]],
) -> None:
    """Deltas written as the 2026 wire strings land exactly like ``OrderBook.change``."""
    original, deltas = case
    book, twin = original.copy(), original.copy()
    for seq, (side, price, delta) in enumerate(deltas, start=1):
        msg = {
            "side": side.value,
            "price_dollars": f"{Decimal(price) / 10_000:.4f}",
            "delta_fp": f"{Decimal(delta) / 100:.2f}",
        }
        apply_delta(book, msg, seq=seq)
        twin.change(side, price, delta, seq=seq)
        assert book == twin and book.last_seq == seq and book.is_locked == twin.is_locked
