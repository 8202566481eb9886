"""The lean stream path against a plain reference: dict books in Decimal, the §7.5 rules.

Random streams of snapshots and deltas on one sid, with gaps, duplicates and late frames,
negative sizes, crossed and locked books: after every frame the stream's books, staleness,
counters and resync decisions equal those of :class:`Reference`, written from
kalshi-api.md §7.5 and the stream's policy (its module docstring) with none of its code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kbayes.io.kalshi.stream import MAX_SNAPSHOT_RESYNCS, BookStream

TICKERS = ("A", "B")
SUB = {"id": 1, "cmd": "subscribe",
       "params": {"channels": ["orderbook_delta"], "market_tickers": list(TICKERS)}}  # fmt: skip
SUBSCRIBED = {"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 1}}
METRICS = ("deltas", "snapshots", "gap", "duplicate", "out_of_order", "negative", "crossed",
           "locked", "dropped_stale", "resync_snapshot", "resync_resubscribe")  # fmt: skip


class Reference:
    """One sid, books as ``{side: {Decimal price: Decimal size}}``, the policy spelled out."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
        self.stale: set[str] = set()
        self.awaiting: set[str] = set()
        self.seen: set[int] = set()
        self.first = self.last = None  # type: int | None
        self.reanchor = self.retired = False
        self.resyncs = 0
        self.m: dict[str, int] = dict.fromkeys(METRICS, 0)

    def judge(self, seq: int) -> str:
        if self.last is None:
            status = "first"
        elif seq == self.last + 1:
            status = "ok"
        elif seq > self.last + 1:
            status = "gap"
        elif seq < self.first:  # type: ignore[operator]  # before the anchor: never seen
            return "out_of_order"
        else:  # a skipped seq arriving late, or one seen already
            status = "duplicate" if seq in self.seen else "out_of_order"
        if self.last is None:
            self.first = seq
        self.seen.add(seq)
        self.last = max(self.last or seq, seq)
        return status

    def forget_seq(self) -> None:
        self.seen, self.first, self.last = set(), None, None

    def resync(self, tickers: set[str], whole: bool) -> list[tuple[str, tuple[str, ...]]]:
        if not tickers:
            return []
        self.resyncs += 1
        if self.resyncs > MAX_SNAPSHOT_RESYNCS:
            return [self.resubscribe()]
        self.stale |= tickers
        self.awaiting |= tickers
        self.reanchor = self.reanchor or whole
        self.m["resync_snapshot"] += 1
        return [("snapshot", tuple(sorted(tickers)))]

    def resubscribe(self) -> tuple[str, tuple[str, ...]]:
        self.m["resync_resubscribe"] += 1
        everything = set(TICKERS) | set(self.books) | self.awaiting
        self.stale |= set(TICKERS) | set(self.books)
        self.retired = True
        self.forget_seq()
        return ("resubscribe", tuple(sorted(everything)))

    @staticmethod
    def tops(book: dict[str, dict[Decimal, Decimal]]) -> Decimal | None:
        yes, no = book["yes"], book["no"]
        return max(yes) + max(no) if yes and no else None

    def snapshot(self, seq: int, t: str, yes: dict, no: dict) -> list:
        if self.retired:
            return []
        actions: list = []
        if self.reanchor:
            self.forget_seq()
            self.judge(seq)
            self.reanchor = False
        else:
            status = self.judge(seq)
            if status == "gap":
                self.m["gap"] += 1
                # Today's policy: the in-order snapshot is applied even when this resync
                # escalated to a resubscribe (it is a whole book).
                actions = self.resync((set(TICKERS) | set(self.books)) - {t}, False)
            elif status in ("duplicate", "out_of_order"):
                self.m[status] += 1
                return self.resync(set(TICKERS) | set(self.books) | {t}, True)
        self.books[t] = {"yes": dict(yes), "no": dict(no)}
        self.stale.discard(t)
        self.awaiting.discard(t)
        self.m["snapshots"] += 1
        if self.tops(self.books[t]) == 1:
            self.m["locked"] += 1
            self.stale.add(t)
            return actions + self.resync({t}, False)
        return actions

    def delta(self, seq: int, t: str, side: str, price: Decimal, d: Decimal) -> list:
        if self.retired:
            return []
        status = self.judge(seq)
        if self.reanchor:
            if status not in ("first", "ok"):
                self.m[status] += 1
            self.m["dropped_stale"] += 1
            return []
        if status not in ("first", "ok"):
            self.m[status] += 1
            return self.resync(set(TICKERS) | set(self.books) | {t}, True)
        if t not in self.books or t in self.stale:
            self.m["dropped_stale"] += 1
            if t not in self.books and t not in self.awaiting:
                return self.resync({t}, False)
            return []
        book = self.books[t]
        new = book[side].get(price, Decimal(0)) + d
        if new < 0:
            self.m["negative"] += 1
            return self.resync({t}, False)
        trial = {"yes": dict(book["yes"]), "no": dict(book["no"])}
        trial[side][price] = new
        if not new:
            del trial[side][price]
        top = self.tops(trial)
        if top is not None and top > 1:
            self.m["crossed"] += 1
            return self.resync({t}, False)
        self.books[t] = trial
        self.m["deltas"] += 1
        if top == 1:
            self.m["locked"] += 1
            self.stale.add(t)
            return self.resync({t}, False)
        self.resyncs = 0
        return []


# YES bids at 0.10-0.50 and NO bids at 0.10-0.60: most books are valid, some lock (0.40 +
# 0.60, 0.50 + 0.50) or cross (0.50 + 0.60).
PRICES = {
    "yes": [Decimal(c) / 100 for c in (10, 20, 30, 40, 50)],
    "no": [Decimal(c) / 100 for c in (10, 20, 30, 40, 50, 60)],
}
sizes = st.sampled_from([Decimal(x) for x in ("1", "2", "3", "0.5", "2.25")])
changes = st.sampled_from([Decimal(x) for x in ("-3", "-2", "-1", "-0.5", "0", "0.5", "1", "2")])
yes_levels = st.dictionaries(st.sampled_from(PRICES["yes"]), sizes, max_size=3)
no_levels = st.dictionaries(st.sampled_from(PRICES["no"]), sizes, max_size=3)
# Opening books that neither cross nor lock (best YES <= 0.40, best NO <= 0.50).
open_yes = st.dictionaries(st.sampled_from(PRICES["yes"][:4]), sizes, min_size=1, max_size=3)
open_no = st.dictionaries(st.sampled_from(PRICES["no"][:5]), sizes, min_size=1, max_size=3)
seq_moves = st.sampled_from([1] * 30 + [2, 4, 0, -1, -3])  # next, gaps, duplicate, late
delta_sides = st.sampled_from(["yes", "no"]).flatmap(
    lambda side: st.tuples(st.just(side), st.sampled_from(PRICES[side]))
)
deltas = st.tuples(st.just("delta"), st.sampled_from(TICKERS), delta_sides, changes, seq_moves)
events = st.one_of(  # one snapshot in five events
    st.tuples(st.just("snap"), st.sampled_from(TICKERS), yes_levels, no_levels, seq_moves),
    deltas, deltas, deltas, deltas,
)  # fmt: skip


def wire(levels: dict[Decimal, Decimal]) -> list[list[str]]:
    return [[f"{p:.4f}", f"{s:.2f}"] for p, s in sorted(levels.items())]


def legal(yes: dict, no: dict) -> bool:  # a snapshot that crosses is resubscribed at once
    return not (yes and no and max(yes) + max(no) > 1)


@settings(max_examples=600, deadline=None)
@given(open_yes, open_no, open_yes, open_no, st.lists(events, min_size=10, max_size=80))
def test_lean_stream_equals_the_reference_book(
    yes_a: dict, no_a: dict, yes_b: dict, no_b: dict, evs: list[tuple[Any, ...]]
) -> None:
    stream, ref = BookStream(), Reference()
    stream.sent(SUB)
    stream.handle(SUBSCRIBED)
    seq = 0
    opening = [("snap", "A", yes_a, no_a, 1), ("snap", "B", yes_b, no_b, 1)]
    for ev in opening + evs:
        seq = max(1, seq + ev[-1])
        if ev[0] == "snap":
            _, t, yes, no, _ = ev
            if not legal(yes, no):
                continue
            msg: dict[str, Any] = {"market_ticker": t}
            for key, side in (("yes_dollars_fp", yes), ("no_dollars_fp", no)):
                if side:
                    msg[key] = wire(side)
            frame = {"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg}
            want = ref.snapshot(seq, t, yes, no)
        else:
            _, t, (side, price), d, _ = ev
            frame = {"type": "orderbook_delta", "sid": 1, "seq": seq,
                     "msg": {"market_ticker": t, "price_dollars": f"{price:.4f}",
                             "delta_fp": f"{d:.2f}", "side": side}}  # fmt: skip
            want = ref.delta(seq, t, side, price, d)
        got = [(r.how, r.tickers) for r in stream.handle(frame)]
        assert got == want, frame
        for t in TICKERS:
            assert stream.is_stale(t) == (t in ref.stale or t not in ref.books), (t, frame)
            if t in ref.books:
                for side in ("yes", "no"):
                    expect = {int(p * 10_000): int(s * 100) for p, s in ref.books[t][side].items()}
                    assert dict(stream.books[t].bids(side)) == expect, (t, side, frame)
                book = stream.books[t]
                best = [max(ref.books[t][s], default=None) for s in ("yes", "no")]
                assert book.best_bid_cc == tuple(
                    None if b is None else int(b * 10_000) for b in best
                )
                assert book.is_locked == (Reference.tops(ref.books[t]) == 1)
        assert {k: stream.metrics[k] for k in METRICS} == ref.m, frame
