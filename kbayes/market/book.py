"""One market's order book from a snapshot plus deltas, and a per-subscription seq tracker.

Kalshi shows **bids only** (docs/kalshi-api.md §6): YES bids and NO bids, each keyed here by its
*own* price in centi-cents (``$1 = 10_000``) with sizes in centi-contracts. A NO bid at ``q`` is a
YES ask at ``1 − q``, so the implied YES ask is ``10_000 − best NO bid`` with the NO bid's size.
An empty side has no price: every derived quantity is ``None`` then, never 0 or $1.

Wire formats accepted (§5.4, §7.5, §11):

* REST ``{"orderbook_fp": {"yes_dollars": [[price, count_fp], …], "no_dollars": …}}`` (or the
  inner object); legacy REST ``{"orderbook": {"yes": [[cents, n]], …, "yes_dollars": …}}``;
* WS ``orderbook_snapshot`` ``msg`` with ``yes_dollars_fp`` / ``no_dollars_fp`` (a key is absent
  when that side is empty); legacy ``{"yes": [[8, 300]], "no": …}`` in integer cents;
* WS ``orderbook_delta`` ``msg`` with ``price_dollars``, ``delta_fp`` (signed change), ``side``;
  legacy ``price`` (cents) / ``delta`` (integer count).

Pure Python, no I/O: the WebSocket client owns the frames and feeds ``msg`` and ``seq`` in.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType

from kbayes.market.prices import (
    CC_PER_DOLLAR,
    PriceFormatError,
    cc_to_dollars,
    cents_to_cc,
    dollars_to_cc,
    fp_to_centi,
)


class BookError(ValueError):
    """The book is out of sync: a negative size, a crossed book or a malformed message."""


class Side(StrEnum):
    """Which bids a level belongs to."""

    YES = "yes"
    NO = "no"


@dataclasses.dataclass(frozen=True, slots=True)
class Level:
    """One price level: price in centi-cents, size in centi-contracts."""

    price_cc: int
    size_centi: int


def _fmt_price(cc: int) -> str:
    return f"{cc_to_dollars(cc):.4f}"


def _fmt_size(centi: int) -> str:
    return f"{Decimal(centi) / 100:.2f}"


def _side(value: object, where: str) -> Side:
    try:
        return Side(str(value).lower())
    except ValueError:
        raise BookError(f"{where}: side={value!r}, expected 'yes' or 'no'") from None


def _check_price(cc: int, where: str) -> int:
    # A bid at $0 buys nothing and one at $1 cannot exist; either means a parsing mix-up.
    if not 0 < cc < CC_PER_DOLLAR:
        raise BookError(f"{where}: price {_fmt_price(cc)} outside (0, 1)")
    return cc


def _levels(
    raw: object, side: Side, cents: bool, use_yes_price: bool, where: str
) -> dict[int, int]:
    if raw is None:
        return {}
    if not isinstance(raw, list | tuple):
        raise BookError(f"{where}: {side} levels must be a list, got {type(raw).__name__}")
    out: dict[int, int] = {}
    for level in raw:
        if not isinstance(level, list | tuple) or len(level) != 2:
            raise BookError(f"{where}: {side} level {level!r} is not [price, size]")
        price, size = level
        try:
            cc = cents_to_cc(price) if cents else dollars_to_cc(price)
            centi = fp_to_centi(size)
        except PriceFormatError as exc:
            raise BookError(f"{where}: {side} level {level!r}: {exc}") from exc
        if side is Side.NO and use_yes_price:
            cc = CC_PER_DOLLAR - cc  # wire gave the YES-leg price; store the NO bid's own price
        _check_price(cc, where)
        if centi < 0:
            raise BookError(f"{where}: {side} {_fmt_price(cc)} has negative size {size!r}")
        if cc in out:
            raise BookError(f"{where}: {side} price {_fmt_price(cc)} listed twice")
        if centi:
            out[cc] = centi
    return out


def parse_snapshot(
    payload: Mapping[str, object], *, use_yes_price: bool = False, where: str = "snapshot"
) -> tuple[dict[int, int], dict[int, int]]:
    """Parse any snapshot shape into ``(yes_bids, no_bids)``: ``{price_cc: size_centi}``.

    Args:
        payload: A REST response (``orderbook_fp`` or legacy ``orderbook`` wrapper, or the inner
            object), or a WS ``orderbook_snapshot`` ``msg`` (current or legacy).
        use_yes_price: The WS subscription's ``use_yes_price`` flag: NO levels on the wire are
            then YES-leg prices (``1 − no_price``). Never true for REST.
        where: Context for error messages (ticker, seq).

    Returns:
        YES bids and NO bids, each keyed by its own price.

    Raises:
        BookError: On a malformed level, a price outside (0, 1), a negative size or a duplicate.
    """
    inner: Mapping[str, object] = payload
    for wrapper in ("orderbook_fp", "orderbook"):
        candidate = payload.get(wrapper)
        if isinstance(candidate, Mapping):
            inner = candidate
            break
    sides: list[dict[int, int]] = []
    for side in (Side.YES, Side.NO):
        # Newest field first: *_dollars_fp (WS), *_dollars (REST; legacy with integer counts),
        # then the legacy integer-cent field. A missing key means an empty side.
        for key, cents in ((f"{side}_dollars_fp", False), (f"{side}_dollars", False), (side, True)):
            if inner.get(key) is not None:
                sides.append(_levels(inner[key], side, cents, use_yes_price, where))
                break
        else:
            sides.append({})
    return sides[0], sides[1]


def _crossed_message(ticker: str, yes: int, no: int, where: str) -> str:
    return (
        f"{ticker}: crossed book after {where}: best YES bid {_fmt_price(yes)} + "
        f"best NO bid {_fmt_price(no)} = {_fmt_price(yes + no)} > 1"
    )


class OrderBook:
    """The order book of one market: YES bids and NO bids keyed by their own price.

    Mutations are atomic: a delta or snapshot that would leave a negative size or a crossed
    book (best YES bid + best NO bid > $1) raises :class:`BookError` and changes nothing. A
    *locked* book (sum exactly $1) is a valid state of this class but flagged by
    :attr:`is_locked` (kept up to date on every mutation, O(1) to read): on Kalshi those two
    bids would have matched, so a locked displayed book is out of sync (§7.5) and the stream
    (:mod:`kbayes.io.kalshi.stream`) marks it stale and resyncs it.

    Attributes:
        ticker: The market ticker.
        last_seq: The ``seq`` of the last snapshot or delta applied, when the caller gave one.
    """

    __slots__ = ("_locked", "_no", "_yes", "last_seq", "ticker")

    def __init__(
        self,
        ticker: str,
        yes: Mapping[int, int] | Iterable[tuple[int, int]] = (),
        no: Mapping[int, int] | Iterable[tuple[int, int]] = (),
        *,
        seq: int | None = None,
    ) -> None:
        """Build a book from YES and NO bids given as ``{price_cc: size_centi}``.

        Raises:
            BookError: On a price outside (0, 1), a negative size, or a crossed book.
        """
        self.ticker = ticker
        self.last_seq = seq
        where = f"{ticker} init"
        sides = []
        for levels in (yes, no):
            items = levels.items() if isinstance(levels, Mapping) else levels
            side: dict[int, int] = {}
            for price, size in items:
                if size < 0:
                    raise BookError(f"{where}: negative size at {_fmt_price(price)}")
                if size:
                    side[_check_price(price, where)] = size
            sides.append(side)
        self._locked = self._check_crossed(sides[0], sides[1], "init")
        self._yes, self._no = sides

    # --- construction and updates -------------------------------------------------------------

    @classmethod
    def from_snapshot(
        cls,
        payload: Mapping[str, object],
        *,
        ticker: str | None = None,
        seq: int | None = None,
        use_yes_price: bool = False,
    ) -> OrderBook:
        """Build a book from any snapshot shape (see :func:`parse_snapshot`).

        Args:
            payload: REST response or WS ``msg``.
            ticker: Required when the payload does not name its market (REST responses).
            seq: The frame's ``seq``, for error messages and :attr:`last_seq`.
            use_yes_price: The WS subscription's ``use_yes_price`` flag.
        """
        named = payload.get("market_ticker") or payload.get("ticker")
        if ticker is None and not isinstance(named, str):
            raise BookError("snapshot names no market_ticker: pass ticker=")
        if ticker is not None and named is not None and named != ticker:
            raise BookError(f"snapshot for {named!r} given as {ticker!r}")
        book = cls(ticker or str(named))
        book.apply_snapshot(payload, seq=seq, use_yes_price=use_yes_price)
        return book

    def apply_snapshot(
        self, payload: Mapping[str, object], *, seq: int | None = None, use_yes_price: bool = False
    ) -> None:
        """Replace the whole book with a snapshot (a repeated snapshot replaces, §7.5)."""
        where = f"snapshot (seq {seq})"
        self._check_ticker(payload, where)
        yes, no = parse_snapshot(
            payload, use_yes_price=use_yes_price, where=f"{self.ticker} {where}"
        )
        self._locked = self._check_crossed(yes, no, where)
        self._yes, self._no = yes, no
        self.last_seq = seq

    def apply_delta(
        self, msg: Mapping[str, object], *, seq: int | None = None, use_yes_price: bool = False
    ) -> None:
        """Apply one ``orderbook_delta`` ``msg`` (current or legacy fields).

        Args:
            msg: ``{"price_dollars", "delta_fp", "side", …}`` or legacy ``{"price", "delta", …}``.
            seq: The frame's ``seq``, named in errors and kept as :attr:`last_seq`.
            use_yes_price: The subscription's ``use_yes_price`` flag (NO prices are YES-leg).

        Raises:
            BookError: On a negative resulting size, a crossed book, or a malformed message.
        """
        where = f"{self.ticker} delta (seq {seq})"
        self._check_ticker(msg, f"delta (seq {seq})")
        side = _side(msg.get("side"), where)
        try:
            if msg.get("price_dollars") is not None:
                price = dollars_to_cc(msg["price_dollars"], "price_dollars")
            else:
                price = cents_to_cc(msg.get("price"), "price")
            if msg.get("delta_fp") is not None:
                delta = fp_to_centi(msg["delta_fp"], "delta_fp")
            else:
                delta = fp_to_centi(msg.get("delta"), "delta")
        except PriceFormatError as exc:
            raise BookError(f"{where}: {exc}") from exc
        if side is Side.NO and use_yes_price:
            price = CC_PER_DOLLAR - price
        self.change(side, price, delta, seq=seq)

    def change(
        self, side: Side | str, price_cc: int, delta_centi: int, *, seq: int | None = None
    ) -> None:
        """Add ``delta_centi`` (signed) to the bids of ``side`` at ``price_cc`` (own price).

        Raises:
            BookError: When the size would go negative or the book would cross; the book is
                left unchanged.
        """
        side = _side(side, f"{self.ticker} (seq {seq})")
        where = f"{side} {_fmt_price(price_cc)} (seq {seq})"
        _check_price(price_cc, f"{self.ticker}: delta at {where}")
        bids = self._yes if side is Side.YES else self._no
        old = bids.get(price_cc, 0)
        new = old + delta_centi
        if new < 0:
            raise BookError(
                f"{self.ticker}: delta {_fmt_size(delta_centi)} at {where} would make the size "
                f"negative (resting {_fmt_size(old)}); book out of sync"
            )
        if new:
            bids[price_cc] = new
        else:
            bids.pop(price_cc, None)
        if delta_centi > 0:  # only an added bid can cross or lock the book
            try:
                self._locked = self._check_crossed(self._yes, self._no, f"delta at {where}")
            except BookError:
                if old:
                    bids[price_cc] = old
                else:
                    bids.pop(price_cc, None)
                raise
        elif self._locked:  # a removal can only lower a best bid: it may unlock, never lock
            self._locked = self._sum_of_bests() == CC_PER_DOLLAR
        self.last_seq = seq

    def _check_ticker(self, payload: Mapping[str, object], where: str) -> None:
        named = payload.get("market_ticker")
        if named is not None and named != self.ticker:
            raise BookError(f"{self.ticker}: {where} is for {named!r}")

    def _check_crossed(self, yes: Mapping[int, int], no: Mapping[int, int], where: str) -> bool:
        """Raise on a crossed book; return whether it is locked (bests sum to exactly $1)."""
        if yes and no:
            best_yes, best_no = max(yes), max(no)
            if best_yes + best_no > CC_PER_DOLLAR:
                raise BookError(_crossed_message(self.ticker, best_yes, best_no, where))
            return best_yes + best_no == CC_PER_DOLLAR
        return False

    def _sum_of_bests(self) -> int | None:
        return max(self._yes) + max(self._no) if self._yes and self._no else None

    # --- reading ------------------------------------------------------------------------------

    def bids(self, side: Side | str) -> Mapping[int, int]:
        """Read-only view of one side's bids, ``{own price_cc: size_centi}``."""
        return MappingProxyType(self._yes if _side(side, self.ticker) is Side.YES else self._no)

    def size_at(self, side: Side | str, price_cc: int) -> int:
        """Resting size (centi-contracts) of ``side`` bids at ``price_cc``; 0 when none."""
        return self.bids(side).get(price_cc, 0)

    def levels(self, side: Side | str, n: int | None = None) -> list[Level]:
        """Bid levels of one side, best (highest price) first; the top ``n`` when given."""
        bids = self.bids(side)
        prices = sorted(bids, reverse=True)[:n]
        return [Level(p, bids[p]) for p in prices]

    def ask_levels(self, side: Side | str, n: int | None = None) -> list[Level]:
        """Implied asks of ``side`` (from the other side's bids), best (lowest price) first.

        ``ask_levels("yes")`` walks the NO bids from the highest down: a NO bid at ``q`` with
        size ``s`` sells ``s`` YES contracts at ``1 − q`` (the executable cost to buy YES).
        """
        other = Side.NO if _side(side, self.ticker) is Side.YES else Side.YES
        return [Level(CC_PER_DOLLAR - lv.price_cc, lv.size_centi) for lv in self.levels(other, n)]

    def depth_centi(self, side: Side | str, n: int | None = None) -> int:
        """Total bid size on ``side`` over its top ``n`` levels (all levels when ``None``)."""
        return sum(lv.size_centi for lv in self.levels(side, n))

    def _best(self, side: Side) -> Level | None:
        bids = self._yes if side is Side.YES else self._no
        if not bids:
            return None
        p = max(bids)
        return Level(p, bids[p])

    @property
    def best_yes_bid(self) -> Level | None:
        """Highest YES bid, or ``None`` when there are no YES bids."""
        return self._best(Side.YES)

    @property
    def best_no_bid(self) -> Level | None:
        """Highest NO bid, or ``None`` when there are no NO bids."""
        return self._best(Side.NO)

    @property
    def best_yes_ask(self) -> Level | None:
        """Implied YES ask: ``10_000 − best NO bid`` with its size; ``None`` without NO bids."""
        no = self._best(Side.NO)
        return None if no is None else Level(CC_PER_DOLLAR - no.price_cc, no.size_centi)

    @property
    def best_no_ask(self) -> Level | None:
        """Implied NO ask: ``10_000 − best YES bid`` with its size; ``None`` without YES bids."""
        yes = self._best(Side.YES)
        return None if yes is None else Level(CC_PER_DOLLAR - yes.price_cc, yes.size_centi)

    def _top(self) -> tuple[Level, Level] | None:
        bid, ask = self.best_yes_bid, self.best_yes_ask
        return None if bid is None or ask is None else (bid, ask)

    @property
    def spread_cc(self) -> int | None:
        """YES ask − YES bid in centi-cents (0 when locked); ``None`` if a side is empty."""
        top = self._top()
        return None if top is None else top[1].price_cc - top[0].price_cc

    @property
    def mid_cc(self) -> Fraction | None:
        """Midpoint of the YES bid and ask, exact, in centi-cents; ``None`` if a side is empty."""
        top = self._top()
        return None if top is None else Fraction(top[0].price_cc + top[1].price_cc, 2)

    @property
    def microprice_cc(self) -> Fraction | None:
        """Size-weighted mid ``(bid·ask_size + ask·bid_size) / (bid_size + ask_size)``, in cc.

        It leans toward the side with the smaller queue (the price more likely to move next).
        ``None`` if a side is empty.
        """
        top = self._top()
        if top is None:
            return None
        bid, ask = top
        total = bid.size_centi + ask.size_centi
        return Fraction(bid.price_cc * ask.size_centi + ask.price_cc * bid.size_centi, total)

    @property
    def imbalance(self) -> Fraction | None:
        """Top-of-book queue imbalance ``(bid_size − ask_size) / (bid_size + ask_size)``.

        In [−1, 1]: positive when the YES bid queue outweighs the YES ask queue (the best NO
        bid). ``None`` if a side is empty.
        """
        top = self._top()
        if top is None:
            return None
        bid, ask = top
        return Fraction(bid.size_centi - ask.size_centi, bid.size_centi + ask.size_centi)

    @property
    def is_locked(self) -> bool:
        """Best YES bid + best NO bid exactly $1 (zero spread): cannot rest on Kalshi.

        Those two bids would have matched, so a locked book means a missed delta: the stream
        treats it as out of sync (stale, resynced), like a seq gap.
        """
        return self._locked

    @property
    def is_empty(self) -> bool:
        """No bids on either side."""
        return not self._yes and not self._no

    def copy(self) -> OrderBook:
        """An independent copy."""
        return OrderBook(self.ticker, dict(self._yes), dict(self._no), seq=self.last_seq)

    def __eq__(self, other: object) -> bool:
        """Same market and same levels (``last_seq`` is bookkeeping and not compared)."""
        if not isinstance(other, OrderBook):
            return NotImplemented
        return (self.ticker, self._yes, self._no) == (other.ticker, other._yes, other._no)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        """Ticker, top of book and level counts."""
        bid, ask = self.best_yes_bid, self.best_yes_ask
        top = " ".join(
            f"{name}={_fmt_price(lv.price_cc)}x{_fmt_size(lv.size_centi)}" if lv else f"{name}=None"
            for name, lv in (("bid", bid), ("ask", ask))
        )
        return f"OrderBook({self.ticker} {top} levels={len(self._yes)}/{len(self._no)})"


# --- sequence tracking ----------------------------------------------------------------------


class SeqStatus(StrEnum):
    """How one ``seq`` relates to the last one seen on its subscription."""

    FIRST = "first"  # first seq seen on this sid: anchors the sequence
    OK = "ok"  # exactly last + 1
    GAP = "gap"  # jumped ahead: ``missing`` messages were skipped; the sid's books are stale
    DUPLICATE = "duplicate"  # already seen (e.g. a repeated frame); ignore it
    OUT_OF_ORDER = "out_of_order"  # older than the last one and never seen (late or pre-anchor)


@dataclasses.dataclass(frozen=True, slots=True)
class SeqResult:
    """The verdict on one sequenced frame.

    Attributes:
        sid: Subscription id.
        seq: The frame's seq.
        status: See :class:`SeqStatus`.
        expected: The seq that was expected (last + 1), ``None`` for the first one.
        missing: For a gap, how many seqs were skipped; 0 otherwise.
    """

    sid: int
    seq: int
    status: SeqStatus
    expected: int | None
    missing: int = 0

    @property
    def in_sync(self) -> bool:
        """True when the frame continues the sequence (first or last + 1)."""
        return self.status in (SeqStatus.FIRST, SeqStatus.OK)


class SeqTracker:
    """Checks that ``seq`` grows by exactly 1 per subscription id (``sid``).

    Feed it **every** sequenced frame of a sid in arrival order, not just deltas: snapshots
    and ``ok`` acks of ``update_subscription`` consume a seq too (kalshi-samples.md §1.2).
    ``seq`` counts messages per sid across all its markets (§7.5).

    A gap re-anchors at the new seq (so later frames are judged against it) and is counted;
    the caller marks the sid's books stale and resyncs. Skipped seqs are remembered so that a
    late arrival is reported as out of order rather than as a duplicate.

    Attributes:
        counts: How many frames got each status, over all sids.
        missing_total: Total seqs skipped by gaps.
    """

    MAX_HOLES = 1024  # per sid; older holes are forgotten (late frames then read as duplicates)

    def __init__(self) -> None:
        """Start with no subscriptions."""
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._holes: dict[int, collections.deque[tuple[int, int]]] = {}
        self.counts: collections.Counter[SeqStatus] = collections.Counter()
        self.missing_total = 0

    def observe(self, sid: int, seq: int) -> SeqResult:
        """Judge one frame's ``seq`` on subscription ``sid`` and update the state."""
        last = self._last.get(sid)
        if last is None:
            self._first[sid] = self._last[sid] = seq
            self._holes[sid] = collections.deque(maxlen=self.MAX_HOLES)
            result = SeqResult(sid, seq, SeqStatus.FIRST, None)
        elif seq == last + 1:
            self._last[sid] = seq
            result = SeqResult(sid, seq, SeqStatus.OK, last + 1)
        elif seq > last + 1:
            self._last[sid] = seq
            self._holes[sid].append((last + 1, seq - 1))
            self.missing_total += seq - last - 1
            result = SeqResult(sid, seq, SeqStatus.GAP, last + 1, seq - last - 1)
        elif seq < self._first[sid] or self._fill_hole(sid, seq):
            result = SeqResult(sid, seq, SeqStatus.OUT_OF_ORDER, last + 1)
        else:
            result = SeqResult(sid, seq, SeqStatus.DUPLICATE, last + 1)
        self.counts[result.status] += 1
        return result

    def _fill_hole(self, sid: int, seq: int) -> bool:
        holes = self._holes[sid]
        for i, (lo, hi) in enumerate(holes):
            if lo <= seq <= hi:
                del holes[i]
                # Keep whatever is still missing on either side of the late arrival.
                for part in ((lo, seq - 1), (seq + 1, hi)):
                    if part[0] <= part[1]:
                        holes.append(part)
                return True
        return False

    def last_seq(self, sid: int) -> int | None:
        """The highest seq seen on ``sid``, or ``None`` before its first frame."""
        return self._last.get(sid)

    @property
    def gaps(self) -> int:
        """How many gaps were seen (not how many seqs they skipped: see ``missing_total``)."""
        return self.counts[SeqStatus.GAP]

    def reset(self, sid: int | None = None) -> None:
        """Forget one sid (after unsubscribe/resubscribe) or all of them (after a reconnect).

        Counts are kept: they describe the whole session.
        """
        sids = list(self._last) if sid is None else [sid]
        for s in sids:
            self._first.pop(s, None)
            self._last.pop(s, None)
            self._holes.pop(s, None)
