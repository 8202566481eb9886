"""The WebSocket stream as a state machine: books per market, seq per sid, resync decisions.

No I/O: :class:`BookStream` is fed every command we send (:meth:`~BookStream.sent`) and every
frame we receive (:meth:`~BookStream.handle`), and answers with the :class:`Resync` actions
the connection must perform. The live client (:mod:`kbayes.io.kalshi.ws`) and the offline
tape replay (:mod:`kbayes.io.kalshi.replay`) share it, so a tape rebuilds exactly the books
the client had.

Policy (kalshi-api.md §7.4-7.7):

* ``seq`` is tracked per sid over every sequenced frame (snapshots, deltas, ``ok`` acks of
  ``update_subscription``, trades, lifecycle). On an ``orderbook_delta`` sid a gap, duplicate
  or out-of-order frame marks all the sid's books stale and asks for ``get_snapshot``; the
  first snapshot that answers re-anchors the sid's sequence, deltas of stale books are dropped
  until their snapshot arrives. A snapshot answering ``get_snapshot`` (it carries an ``id``)
  is applied even if its seq does not advance (whether it consumes a seq is undocumented).
* A delta that would make a size negative or cross the book (best YES bid + best NO bid > $1)
  is rejected whole; that market is resynced.
* A *locked* book (best YES bid + best NO bid exactly $1, after a delta or as a snapshot
  arrives) is out of sync too: those two bids would have matched on the exchange, so a delta
  was missed (§7.5). It is treated like a gap: the market is stale at once, ``get_snapshot``
  is requested (resubscribe as the fallback, as for every resync) and ``metrics["locked"]``
  counts it beside ``metrics["gap"]``. The snapshot that answers replaces the book and makes
  it fresh again (unless it is locked itself).
* Staleness is one flag per market, :meth:`BookStream.is_stale` (backed by
  :attr:`BookStream.stale`), whatever the reason (gap, duplicate, crossed, negative, locked,
  reconnect, no snapshot yet). Everything downstream (features, the paper and live brokers)
  reads that flag, or takes books through :meth:`BookStream.fresh_book`, and never quotes,
  fills or sends on a stale market. Offline replay (:mod:`kbayes.io.kalshi.replay`) runs this
  same state machine over the tape, so it flags the same markets stale at the same frames.
* Repeated resyncs without progress, an error answering ``get_snapshot``, and the terminal
  errors 10, 17, 25 escalate to unsubscribe + subscribe (a new sid and fresh snapshots).
* After a reconnect (:meth:`~BookStream.reset`) sids and seqs are meaningless: every book is
  stale until its new snapshot.

Typed events (``BookStream(emit=True)``): besides the resync actions, every applied snapshot
and delta, every trade, ticker and lifecycle message, and every change of a market's
staleness is appended to :attr:`BookStream.events` as a :mod:`kbayes.market.events` event
(drained by the caller after each :meth:`~BookStream.handle`), with ``available_ns`` the
frame's receive time and ``ts_ns`` the exchange's ``ts_ms`` when the message has one. A
rejected delta emits nothing but the market's :class:`~kbayes.market.events.BookStatus`
going stale, so a consumer that applies the emitted deltas to its own books rebuilds exactly
the books of this stream (tested). The live client and tape replay both run this, so the
pipeline gets the same events from either.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from kbayes.io.kalshi.book_wire import apply_delta, book_from_snapshot
from kbayes.io.kalshi.seq import SeqStatus, SeqTracker
from kbayes.io.kalshi_wire import count_centi, price_cc, taker_side, ticker_top
from kbayes.market.book import BookError, OrderBook
from kbayes.market.events import (
    BookDelta,
    BookSnapshot,
    BookStatus,
    Event,
    Lifecycle,
    Quote,
    TradePrint,
)
from kbayes.market.prices import CC_PER_DOLLAR, cc_to_dollars

ORDERBOOK = "orderbook_delta"
TERMINAL_ERRORS = frozenset({10, 17, 25})
SEQUENCED = frozenset(
    {"orderbook_snapshot", "orderbook_delta", "trade", "market_lifecycle_v2", "event_lifecycle",
     "event_fee_update", "ok", "unsubscribed", "order_group_updates", "communications"}
)  # fmt: skip
MAX_SNAPSHOT_RESYNCS = 3  # consecutive get_snapshot resyncs of a sid before resubscribing
NS_PER_MS = 1_000_000
# market_lifecycle_v2 event types that change what a market is (others carry metadata only).
LIFECYCLE_STATUS = {
    "activated": "open", "deactivated": "closed", "determined": "determined", "settled": "settled"
}  # fmt: skip

# The one frame decoder of the live client, the recorder's checks and replay: JSON text (str
# or bytes) to dicts, as ``json.loads`` gives them (ValueError on bad JSON), about 4x faster.
decode_frame: Callable[[str | bytes], Any] = orjson.loads


@dataclasses.dataclass(frozen=True, slots=True)
class Resync:
    """An action for the connection.

    Attributes:
        sid: The subscription.
        tickers: Markets to refresh.
        how: ``"snapshot"`` (``update_subscription`` ``get_snapshot``) or ``"resubscribe"``.
        reason: Why, for logs and metrics.
        channel: The sid's channel (to subscribe again).
        use_yes_price: The sid's ``use_yes_price`` flag (to subscribe again).
    """

    sid: int
    tickers: tuple[str, ...]
    how: str
    reason: str
    channel: str = ORDERBOOK
    use_yes_price: bool = False


@dataclasses.dataclass
class Subscription:
    """What we know about one sid."""

    sid: int
    channel: str
    tickers: set[str]
    use_yes_price: bool
    awaiting: set[str] = dataclasses.field(default_factory=set)
    reanchor: bool = False
    resyncs: int = 0  # consecutive resyncs without an applied delta in between


class BookStream:
    """Books and sequence state of one logical stream (across reconnects).

    Attributes:
        books: Order book per market ticker (possibly stale: see :attr:`stale`).
        stale: Tickers whose book must not be used until their next snapshot.
        subs: Live subscriptions by sid.
        metrics: Counters: frames, malformed, gap, duplicate, out_of_order, crossed, negative,
            locked, bad_delta, resync_snapshot, resync_resubscribe, dropped_stale,
            error_<code>, …
        tickers: Last ``ticker`` message per market.
        trades: Recent ``trade`` messages.
        lifecycle: Recent ``market_lifecycle_v2``/``event_lifecycle`` messages.
        seq_gaps: ``(channel, sid, expected, got)`` of gaps on non-book channels (trades can
            only be backfilled from REST).
    """

    def __init__(self, history: int = 10_000, emit: bool = False) -> None:
        """Start empty; ``history`` bounds the kept trades and lifecycle messages.

        With ``emit`` every handled frame appends its typed events to :attr:`events`.
        """
        self.emit = emit
        self.events: list[Event] = []
        self.now_ns = 0  # receive time of the frame being handled
        self.books: dict[str, OrderBook] = {}
        self.stale: set[str] = set()
        self.subs: dict[int, Subscription] = {}
        self.retired: set[int] = set()
        self.tracker = SeqTracker()
        self.metrics: collections.Counter[str] = collections.Counter()
        self.pending: dict[int, Mapping[str, Any]] = {}
        self.snapshot_requests: dict[int, int] = {}  # command id -> sid
        self.tickers: dict[str, Mapping[str, Any]] = {}
        self.trades: collections.deque[Mapping[str, Any]] = collections.deque(maxlen=history)
        self.lifecycle: collections.deque[Mapping[str, Any]] = collections.deque(maxlen=history)
        self.seq_gaps: list[tuple[str, int, int | None, int]] = []
        self.errors: list[Mapping[str, Any]] = []
        self.book_sid: dict[str, int] = {}  # which sid feeds each book

    # --- connection-level -------------------------------------------------------------------

    def reset(self) -> None:
        """A new connection: forget sids and seqs, mark every book stale."""
        self.subs.clear()
        self.retired.clear()
        self.pending.clear()
        self.snapshot_requests.clear()
        self.tracker.reset()
        self.book_sid.clear()
        self._mark_stale(set(self.books), "reconnect")

    def sent(self, cmd: Mapping[str, Any]) -> None:
        """Record an outgoing command (needed to map ``subscribed`` answers to their params)."""
        if isinstance(cmd.get("id"), int):
            self.pending[cmd["id"]] = cmd
            params = cmd.get("params") or {}
            if cmd.get("cmd") == "update_subscription" and params.get("action") == "get_snapshot":
                sids = params.get("sids") or [params.get("sid")]
                if sids and isinstance(sids[0], int):
                    self.snapshot_requests[cmd["id"]] = sids[0]

    def retire(self, sid: int) -> None:
        """Forget a sid we unsubscribed (its late frames are ignored)."""
        sub = self.subs.pop(sid, None)
        self.retired.add(sid)
        self.tracker.reset(sid)
        if sub is not None and sub.channel == ORDERBOOK:
            self._mark_stale(sub.tickers | self._books_of(sub), "unsubscribed")

    def _mark_stale(self, tickers: set[str], reason: str) -> None:
        if self.emit:
            for t in sorted(tickers - self.stale):
                self.events.append(BookStatus(self.now_ns, self.now_ns, t, True, reason))
        self.stale |= tickers

    def _mark_fresh(self, ticker: str) -> None:
        if self.emit and ticker in self.stale:
            self.events.append(BookStatus(self.now_ns, self.now_ns, ticker, False, "snapshot"))
        self.stale.discard(ticker)

    @property
    def fresh_books(self) -> dict[str, OrderBook]:
        """Books that are in sync now."""
        return {t: b for t, b in self.books.items() if t not in self.stale}

    def is_stale(self, ticker: str) -> bool:
        """The one staleness flag of a market: True while its book must not be used.

        True when the market has no book yet or is in :attr:`stale` (gap, duplicate, out of
        order, crossed, negative size, locked, reconnect), until its next snapshot is applied.
        """
        return ticker in self.stale or ticker not in self.books

    def fresh_book(self, ticker: str) -> OrderBook | None:
        """The market's book when it is in sync, else ``None`` (the gate for quoting/filling)."""
        return None if self.is_stale(ticker) else self.books[ticker]

    SYNC_METRICS = (
        "gap", "duplicate", "out_of_order", "locked", "crossed", "negative", "bad_snapshot",
        "resync_snapshot", "resync_resubscribe", "resync_timeout",
    )  # fmt: skip

    def sync_report(self) -> dict[str, int]:
        """Out-of-sync counters (gaps, locked books, ...) and how many markets are stale now."""
        out = {k: self.metrics[k] for k in self.SYNC_METRICS}
        out["stale_now"] = sum(self.is_stale(t) for t in self.books)
        return out

    # --- frames -------------------------------------------------------------------------------

    def handle(self, frame: Mapping[str, Any], received_ns: int | None = None) -> list[Resync]:
        """Apply one decoded frame; returns the resyncs the connection must perform.

        ``received_ns`` (ns since the UTC epoch) stamps the emitted events' ``available_ns``.
        """
        if received_ns is not None:
            self.now_ns = received_ns
        self.metrics["frames"] += 1
        kind = frame.get("type")
        msg = frame.get("msg")
        if not isinstance(kind, str):
            self.metrics["malformed"] += 1
            return []
        if msg.__class__ is not dict and not isinstance(msg, Mapping):
            msg = {}
        try:
            handler = _HANDLERS.get(kind)
            if handler is None:
                self.metrics[f"type_{kind}"] += 1
                return self._sequenced(frame) if "seq" in frame else []
            return handler(self, frame, msg)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed frame must not kill us
            self.metrics["malformed"] += 1
            self.errors.append({"frame": dict(frame), "error": str(exc)})
            return []

    def _sub(self, frame: Mapping[str, Any], channel: str) -> Subscription | None:
        sid = frame.get("sid")
        if not isinstance(sid, int) or sid in self.retired:
            self.metrics["retired_sid_frames" if sid in self.retired else "no_sid"] += 1
            return None
        sub = self.subs.get(sid)
        if sub is None:  # e.g. a tape whose 'subscribed' answer was cut off
            sub = self.subs[sid] = Subscription(sid, channel, set(), False)
            self.metrics["implicit_sid"] += 1
        return sub

    def _on_subscribed(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        sid, channel = int(msg["sid"]), str(msg["channel"])
        params = (self.pending.get(frame.get("id"), {}) or {}).get("params") or {}
        tickers = list(params.get("market_tickers") or [])
        if params.get("market_ticker"):
            tickers.append(params["market_ticker"])
        self.subs[sid] = Subscription(sid, channel, set(tickers), bool(params.get("use_yes_price")))
        self.retired.discard(sid)
        return []

    def _on_unsubscribed(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        if isinstance(frame.get("sid"), int):
            self.retire(frame["sid"])
        return []

    def _on_ok(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        self.pending.pop(frame.get("id"), None)  # type: ignore[arg-type]
        if "sid" not in frame:
            return []
        sub = self._sub(frame, ORDERBOOK)
        if sub is None:
            return []
        if isinstance(msg.get("market_tickers"), list):
            sub.tickers = set(msg["market_tickers"])  # the full list after the update
        return self._sequenced(frame, sub)

    def _on_error(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        code = msg.get("code")
        self.metrics[f"error_{code}"] += 1
        self.errors.append(dict(frame))
        sid = frame.get("sid")
        snap_sid = self.snapshot_requests.pop(frame.get("id"), None)  # type: ignore[arg-type]
        if snap_sid is not None and snap_sid in self.subs:
            return [self._resubscribe(self.subs[snap_sid], f"get_snapshot failed: {msg}")]
        if code in TERMINAL_ERRORS and isinstance(sid, int) and sid in self.subs:
            return [self._resubscribe(self.subs[sid], f"terminal error {code}: {msg.get('msg')}")]
        return []

    def _sequenced(self, frame: Mapping[str, Any], sub: Subscription | None = None) -> list[Resync]:
        """Seq-check a frame that changes no book (ok acks, trades, lifecycle)."""
        seq = frame.get("seq")
        sub = sub or self._sub(frame, str(frame.get("type")))
        if sub is None or not isinstance(seq, int):
            return []
        if sub.reanchor:
            return []
        result = self.tracker.observe(sub.sid, seq)
        if result.in_sync:
            return []
        self.metrics[str(result.status)] += 1
        if sub.channel == ORDERBOOK:
            return self._resync(
                sub, sub.tickers | set(self._books_of(sub)), str(result.status), True
            )
        if result.status is SeqStatus.GAP:
            self.seq_gaps.append((sub.channel, sub.sid, result.expected, seq))
        return []

    def _books_of(self, sub: Subscription) -> set[str]:
        return {t for t, sid in self.book_sid.items() if sid == sub.sid}

    def _on_orderbook_snapshot(
        self, frame: Mapping[str, Any], msg: Mapping[str, Any]
    ) -> list[Resync]:
        sub = self._sub(frame, ORDERBOOK)
        if sub is None:
            return []
        ticker = str(msg["market_ticker"])
        seq = frame.get("seq")
        actions: list[Resync] = []
        if isinstance(seq, int):
            if sub.reanchor:
                self.tracker.reset(sub.sid)
                self.tracker.observe(sub.sid, seq)
                sub.reanchor = False
            else:
                result = self.tracker.observe(sub.sid, seq)
                if result.status is SeqStatus.GAP:
                    self.metrics["gap"] += 1
                    others = (sub.tickers | self._books_of(sub)) - {ticker}
                    if others:
                        actions = self._resync(sub, others, "gap", False)
                elif not result.in_sync and "id" not in frame:
                    self.metrics[str(result.status)] += 1
                    everything = sub.tickers | self._books_of(sub) | {ticker}
                    return self._resync(sub, everything, str(result.status), True)
        try:
            book = book_from_snapshot(msg, seq=seq, use_yes_price=sub.use_yes_price)
        except BookError as exc:
            self.metrics["bad_snapshot"] += 1
            self.errors.append({"frame": dict(frame), "error": str(exc)})
            self._mark_stale({ticker}, "bad snapshot")
            sub.tickers.add(ticker)
            return [self._resubscribe(sub, f"bad snapshot: {exc}")]
        self.books[ticker] = book
        self.book_sid[ticker] = sub.sid
        if self.emit:
            now = self.now_ns
            yes = tuple((p, q) for p, q in sorted(book.bids("yes").items(), reverse=True))
            no = tuple((p, q) for p, q in sorted(book.bids("no").items(), reverse=True))
            self.events.append(
                BookSnapshot(now, now, ticker, yes, no, seq if isinstance(seq, int) else -1)
            )
        self._mark_fresh(ticker)
        sub.tickers.add(ticker)
        sub.awaiting.discard(ticker)
        self.metrics["snapshots"] += 1
        if book.is_locked:  # kept (it is what the exchange sent) but not trusted
            return actions + self._on_locked(sub, frame, book, f"snapshot (seq {seq})")
        return actions

    def _on_orderbook_delta(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        # The hot path (one frame in ~0.9 on a book day): the in-order seq is checked inline,
        # and every other case takes the general code below it.
        sid = frame.get("sid")
        sub = self.subs.get(sid) if sid.__class__ is int else None
        if sub is None:
            sub = self._sub(frame, ORDERBOOK)
            if sub is None:
                return []
        ticker = msg["market_ticker"]
        if ticker.__class__ is not str:
            ticker = str(ticker)
        seq = frame.get("seq")
        if sub.reanchor:  # waiting for the snapshot that restarts this sid's sequence
            if isinstance(seq, int):  # still judged, for the counts only
                result = self.tracker.observe(sub.sid, seq)
                if not result.in_sync:
                    self.metrics[str(result.status)] += 1
            self.metrics["dropped_stale"] += 1
            return []
        if seq.__class__ is int and self.tracker.last.get(sid) == seq - 1:
            self.tracker.last[sid] = seq  # what observe() does for last + 1, without a result
            self.tracker.counts[SeqStatus.OK] += 1
        elif isinstance(seq, int):
            result = self.tracker.observe(sub.sid, seq)
            if not result.in_sync:
                self.metrics[str(result.status)] += 1
                everything = sub.tickers | self._books_of(sub) | {ticker}
                return self._resync(sub, everything, str(result.status), True)
        book = self.books.get(ticker)
        if book is None or ticker in self.stale:
            self.metrics["dropped_stale"] += 1
            if book is None and ticker not in sub.awaiting:
                return self._resync(sub, {ticker}, "delta for a market without snapshot", False)
            return []
        try:
            side, price, delta = apply_delta(book, msg, seq=seq, use_yes_price=sub.use_yes_price)
        except BookError as exc:
            text = str(exc)
            key = (
                "crossed"
                if "crossed" in text
                else "negative"
                if "negative" in text
                else "bad_delta"
            )
            self.metrics[key] += 1
            self.errors.append({"frame": dict(frame), "error": text})
            return self._resync(sub, {ticker}, f"{key}: {text}", False)
        self.metrics["deltas"] += 1
        if self.emit:
            now = self.now_ns
            ts_ms = msg.get("ts_ms")
            ts = ts_ms * NS_PER_MS if ts_ms.__class__ is int else now
            self.events.append(BookDelta(now, ts, ticker, side, price, delta, seq))
        if book.is_locked:
            return self._on_locked(sub, frame, book, f"delta (seq {seq})")
        sub.resyncs = 0
        return []

    def _on_locked(
        self, sub: Subscription, frame: Mapping[str, Any], book: OrderBook, where: str
    ) -> list[Resync]:
        """A locked book (bests sum to $1) is out of sync: stale now, resync like a gap."""
        yes, no = (book.levels(side, 1)[0].price_cc for side in ("yes", "no"))  # both exist
        text = (
            f"{book.ticker}: locked book after {where}: best YES bid {cc_to_dollars(yes):.4f}"
            f" + best NO bid {cc_to_dollars(no):.4f} = 1 (those bids would have matched)"
        )
        self.metrics["locked"] += 1
        self.errors.append({"frame": dict(frame), "error": text})
        self._mark_stale({book.ticker}, "locked")  # at once, even when the resync escalates
        return self._resync(sub, {book.ticker}, f"locked: {text}", False)

    def _exchange_ns(self, msg: Mapping[str, Any]) -> int:
        """The message's exchange time (``ts_ms``, else ``ts`` in s), else the receive time."""
        ts_ms, ts_s = msg.get("ts_ms"), msg.get("ts")
        if isinstance(ts_ms, int) and not isinstance(ts_ms, bool):
            return ts_ms * NS_PER_MS
        if isinstance(ts_s, int) and not isinstance(ts_s, bool):
            return ts_s * 1000 * NS_PER_MS
        return self.now_ns

    def _on_ticker(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        if msg.get("market_ticker"):
            self.tickers[str(msg["market_ticker"])] = msg
            if self.emit:
                top = ticker_top(msg)  # the importer's reading: no 0 bid, no $1 ask
                self.events.append(
                    Quote(
                        self.now_ns,
                        self._exchange_ns(msg),
                        str(msg["market_ticker"]),
                        top.yes_bid_cc,
                        top.yes_ask_cc,
                        top.yes_bid_size_centi,
                        top.yes_ask_size_centi,
                        top.last_price_cc,
                        top.volume_centi,
                    )
                )
        return []

    def _on_trade(self, frame: Mapping[str, Any], msg: Mapping[str, Any]) -> list[Resync]:
        self.trades.append(msg)
        actions = self._sequenced(frame)
        if self.emit:
            ticker = msg.get("market_ticker") or msg.get("ticker")
            yes = price_cc(msg, "yes_price", required=False)
            if yes is None:  # some frames carry only the NO leg
                yes = CC_PER_DOLLAR - price_cc(msg, "no_price")  # type: ignore[operator]
            side = taker_side(msg)
            self.events.append(
                TradePrint(
                    self.now_ns,
                    self._exchange_ns(msg),
                    str(ticker),
                    yes,
                    count_centi(msg, "count"),  # type: ignore[arg-type]
                    side,
                    str(msg.get("trade_id") or ""),
                )
            )
        return actions

    def _on_market_lifecycle_v2(
        self, frame: Mapping[str, Any], msg: Mapping[str, Any]
    ) -> list[Resync]:
        self.lifecycle.append(msg)
        actions = self._sequenced(frame)
        status = LIFECYCLE_STATUS.get(str(msg.get("event_type")))
        if self.emit and status is not None and msg.get("market_ticker"):
            result = msg.get("result")
            self.events.append(
                Lifecycle(
                    self.now_ns,
                    self._exchange_ns(msg),
                    str(msg["market_ticker"]),
                    status,
                    result if result in ("yes", "no") else "",
                )
            )
        return actions

    _on_event_lifecycle = _on_market_lifecycle_v2

    # --- resync decisions -----------------------------------------------------------------------

    def _resync(
        self, sub: Subscription, tickers: set[str], reason: str, whole_sid: bool
    ) -> list[Resync]:
        tickers = set(tickers)
        if not tickers:
            return []
        sub.resyncs += 1
        if sub.resyncs > MAX_SNAPSHOT_RESYNCS:
            return [self._resubscribe(sub, f"{reason} (after {sub.resyncs - 1} resyncs)")]
        self._mark_stale(tickers, reason.split(":", 1)[0])
        sub.awaiting |= tickers
        if whole_sid:
            sub.reanchor = True
        self.metrics["resync_snapshot"] += 1
        return [Resync(sub.sid, tuple(sorted(tickers)), "snapshot", reason)]

    def _resubscribe(self, sub: Subscription, reason: str) -> Resync:
        self.metrics["resync_resubscribe"] += 1
        tickers = tuple(sorted(sub.tickers | self._books_of(sub) | sub.awaiting))
        self.retire(sub.sid)
        return Resync(sub.sid, tickers, "resubscribe", reason, sub.channel, sub.use_yes_price)

    def channel_of(self, sid: int) -> str | None:
        """The channel of a live sid."""
        sub = self.subs.get(sid)
        return None if sub is None else sub.channel


# Frame type -> handler (a fixed table: a frame's type names no other method).
_HANDLERS: dict[str, Callable[[BookStream, Mapping[str, Any], Mapping[str, Any]], list[Resync]]] = {
    "subscribed": BookStream._on_subscribed,
    "unsubscribed": BookStream._on_unsubscribed,
    "ok": BookStream._on_ok,
    "error": BookStream._on_error,
    "orderbook_snapshot": BookStream._on_orderbook_snapshot,
    "orderbook_delta": BookStream._on_orderbook_delta,
    "ticker": BookStream._on_ticker,
    "trade": BookStream._on_trade,
    "market_lifecycle_v2": BookStream._on_market_lifecycle_v2,
    "event_lifecycle": BookStream._on_event_lifecycle,
}
