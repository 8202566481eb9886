"""The stream state machine on hand-made tapes: a locked book is out of sync, like a gap.

A locked book (best YES bid + best NO bid exactly $1) cannot rest on Kalshi (the two bids
would have matched), so it means a missed delta (kalshi-api.md §7.5). Each case writes a tape
(the recorder's format), replays it frame by frame, and checks the one staleness flag that
features and the paper broker gate on (:meth:`BookStream.is_stale` / ``fresh_book``), the
resync the live client would send, and the ``locked`` metric.

There is no paper broker yet: "no fill of a resting paper order at the locked price while
stale" is tested here at the level of the flag the broker will read (``fresh_book`` is
``None``, so there is no book to fill against); the broker's own test waits for the broker.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from kbayes.io.kalshi.replay import book_at, replay
from kbayes.io.kalshi.stream import BookStream, Resync
from kbayes.io.tape import TapeWriter

T = "KXHIGHNY-26AUG07-B78.5"
OTHER = "KXHIGHNY-26AUG07-B80.5"
SUB = {
    "id": 1,
    "cmd": "subscribe",
    "params": {
        "channels": ["orderbook_delta"],
        "market_tickers": [T, OTHER],
        "use_yes_price": False,
    },
}
SUBSCRIBED = {"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 1}}


def snapshot(seq: int, yes: list[list[str]], no: list[list[str]], ticker: str = T, **extra: Any):
    msg: dict[str, Any] = {"market_ticker": ticker, "market_id": f"id-{ticker}"}
    if yes:
        msg["yes_dollars_fp"] = yes
    if no:
        msg["no_dollars_fp"] = no
    return {"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg, **extra}


def delta(seq: int, side: str, price: str, size: str, ticker: str = T) -> dict[str, Any]:
    return {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": seq,
        "msg": {"market_ticker": ticker, "market_id": f"id-{ticker}", "price_dollars": price,
                "delta_fp": size, "side": side, "ts_ms": 1786085300000 + seq},
    }  # fmt: skip


OPEN = [
    SUBSCRIBED,
    snapshot(1, [["0.3800", "10.00"]], [["0.6000", "5.00"]]),  # YES 0.38 bid / 0.40 ask
    snapshot(2, [["0.2000", "3.00"]], [["0.7000", "4.00"]], ticker=OTHER),
]


def run(lines: list[tuple[str, dict[str, Any]]]) -> tuple[BookStream, list[Any]]:
    """Feed ``("out"|"in", obj)`` lines to a stream; per frame: (resyncs, stale, locked)."""
    stream = BookStream()
    log = []
    for d, obj in lines:
        if d == "out":
            stream.sent(obj)
        else:
            actions = stream.handle(obj)
            log.append((actions, stream.is_stale(T), stream.metrics["locked"]))
    return stream, log


def write_tape(path: Path, lines: list[tuple[str, dict[str, Any]]]) -> Path:
    t0 = 1_786_000_000 * 10**9
    with TapeWriter(path) as tape:
        tape.write_event("connect", t0, url="ws://test")
        for i, (d, obj) in enumerate(lines, start=1):
            write = tape.write_out if d == "out" else tape.write_in
            write(json.dumps(obj), t0 + i * 10**6)
    return path


def replay_log(path: Path) -> list[tuple[bool, int]]:
    out: list[tuple[bool, int]] = []
    replay(path, on_frame=lambda f, s: out.append((s.is_stale(T), s.metrics["locked"])))
    return out


def check_replay_agrees(tmp_path: Path, lines: list[tuple[str, dict[str, Any]]], log: list[Any]):
    """The tape, replayed offline, gives the same staleness and counts at the same frames."""
    assert replay_log(write_tape(tmp_path / "tape", lines)) == [(s, n) for _, s, n in log]


def test_a_delta_that_locks_the_book_makes_it_stale_and_asks_a_snapshot(tmp_path: Path) -> None:
    lines = [("out", SUB)] + [("in", f) for f in OPEN]
    lines += [
        ("in", delta(3, "yes", "0.3900", "2.00")),  # a valid improvement: fresh
        ("in", delta(4, "yes", "0.4000", "1.00")),  # YES 0.40 + NO 0.60 = $1: locked
        ("in", delta(5, "yes", "0.3800", "-1.00")),  # arrives before the snapshot: dropped
    ]
    stream, log = run(lines)
    assert [stale for _, stale, _ in log] == [True, False, False, False, True, True]
    assert log[3] == ([], False, 0)
    actions, stale, locked = log[4]
    assert stale and locked == 1
    assert actions == [Resync(1, (T,), "snapshot", actions[0].reason)]
    assert actions[0].reason.startswith(f"locked: {T}: locked book after delta (seq 4)")
    assert stream.books[T].is_locked  # kept as received, but gated
    assert stream.fresh_book(T) is None and T not in stream.fresh_books
    # A paper YES bid resting at 0.40 must not fill against the locked 0.40 ask: the only book
    # the broker may read is the fresh one, and there is none while the market is stale.
    assert stream.fresh_book(OTHER) is stream.books[OTHER]  # the other market is not in doubt
    assert stream.metrics["dropped_stale"] == 1 and stream.books[T].size_at("yes", 3800) == 1000
    report = stream.sync_report()
    assert report["locked"] == 1 and report["gap"] == 0 and report["stale_now"] == 1
    assert report["resync_snapshot"] == 1
    check_replay_agrees(tmp_path, lines, log)


def test_a_snapshot_that_arrives_locked_is_stale_at_once(tmp_path: Path) -> None:
    lines = [("out", SUB), ("in", SUBSCRIBED)]
    lines += [("in", snapshot(1, [["0.4500", "10.00"]], [["0.5500", "5.00"]]))]  # $1: locked
    lines += [("in", delta(2, "no", "0.5000", "1.00"))]  # stale: dropped, not applied
    stream, log = run(lines)
    actions, stale, locked = log[1]
    assert stale and locked == 1
    assert [(a.sid, a.tickers, a.how) for a in actions] == [(1, (T,), "snapshot")]
    assert "locked book after snapshot (seq 1)" in actions[0].reason
    assert log[2][1] and stream.fresh_book(T) is None
    assert stream.books[T].size_at("no", 5000) == 0 and stream.metrics["dropped_stale"] == 1
    check_replay_agrees(tmp_path, lines, log)


def test_locked_then_repaired_by_the_snapshot_answer_is_fresh(tmp_path: Path) -> None:
    get_snapshot = {
        "id": 2,
        "cmd": "update_subscription",
        "params": {"sids": [1], "market_tickers": [T], "action": "get_snapshot"},
    }
    lines = [("out", SUB)] + [("in", f) for f in OPEN]
    lines += [
        ("in", delta(3, "yes", "0.4000", "1.00")),  # locked
        ("out", get_snapshot),  # what the live client sent on the Resync
        ("in", snapshot(4, [["0.3800", "10.00"]], [["0.5900", "5.00"]], id=2)),  # the answer
        ("in", delta(5, "yes", "0.3900", "2.00")),  # applies again
    ]
    stream, log = run(lines)
    assert [stale for _, stale, _ in log] == [True, False, False, True, False, False]
    assert [n for _, _, n in log] == [0, 0, 0, 1, 1, 1]
    assert all(not actions for actions, _, _ in log[4:])
    book = stream.fresh_book(T)
    assert book is not None and not book.is_locked
    assert dict(book.bids("yes")) == {3800: 1000, 3900: 200}
    assert dict(book.bids("no")) == {5900: 500}
    assert stream.sync_report()["stale_now"] == 0 and stream.metrics["deltas"] == 2
    check_replay_agrees(tmp_path, lines, log)


def test_repeated_locked_snapshots_escalate_to_resubscribe() -> None:
    """The snapshot answer itself locked, again and again: fall back to resubscribe."""
    locked = [["0.4500", "10.00"]], [["0.5500", "5.00"]]
    stream = BookStream()
    stream.sent(SUB)
    stream.handle(SUBSCRIBED)
    hows = [[a.how for a in stream.handle(snapshot(s, *locked, id=s))] for s in range(1, 6)]
    assert hows[:3] == [["snapshot"]] * 3 and hows[3] == ["resubscribe"]
    assert stream.is_stale(T) and stream.metrics["resync_resubscribe"] == 1


def test_kbayes_book_reports_the_locked_book(tmp_path: Path) -> None:
    """What ``kbayes book`` prints for a market whose last delta locked it."""
    lines = [("out", SUB)] + [("in", f) for f in OPEN]
    lines += [("in", delta(3, "yes", "0.4000", "1.00"))]
    tape = write_tape(tmp_path / "tape", lines)
    out = book_at(tape, T, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert out["stale"] is True and out["locked"] is True and out["spread"] == "0.0000"
    assert out["sync"]["locked"] == 1 and out["sync"]["stale_now"] == 1
    other = book_at(tape, OTHER, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert other["stale"] is False and other["locked"] is False
