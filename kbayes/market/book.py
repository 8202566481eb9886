"""One market's order book: YES bids and NO bids in exact integers, updated by signed changes.

Kalshi shows **bids only** (docs/kalshi-api.md §6): YES bids and NO bids, each keyed here by its
*own* price in centi-cents (``$1 = 10_000``) with sizes in centi-contracts. A NO bid at ``q`` is a
YES ask at ``1 − q``, so the implied YES ask is ``10_000 − best NO bid`` with the NO bid's size.
An empty side has no price: every derived quantity is ``None`` then, never 0 or $1.

Domain only: no wire format and no sequence numbers. The Kalshi payloads (REST and WebSocket,
current and legacy shapes) are parsed by :mod:`kbayes.io.kalshi.book_wire`, and the
per-subscription ``seq`` check is :mod:`kbayes.io.kalshi.seq`.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType

from kbayes.market.prices import CC_PER_DOLLAR, cc_to_dollars


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


def parse_side(value: object, where: str) -> Side:
    """``"yes"``/``"no"`` (any case) or a :class:`Side`; :class:`BookError` naming ``where``."""
    try:
        return Side(str(value).lower())
    except ValueError:
        raise BookError(f"{where}: side={value!r}, expected 'yes' or 'no'") from None


def check_price(cc: int, where: str) -> int:
    """``cc`` when it is a possible bid price, strictly inside (0, $1); else :class:`BookError`."""
    # A bid at $0 buys nothing and one at $1 cannot exist; either means a parsing mix-up.
    if not 0 < cc < CC_PER_DOLLAR:
        raise BookError(f"{where}: price {_fmt_price(cc)} outside (0, 1)")
    return cc


def _where(side: str, price_cc: int, seq: int | None) -> str:
    return f"{side} {_fmt_price(price_cc)} (seq {seq})"


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
    :attr:`is_locked` (from the best bids, which every mutation keeps: O(1) to read): on
    Kalshi those two bids would have matched, so a locked displayed book is out of sync
    (§7.5) and the stream (:mod:`kbayes.io.kalshi.stream`) marks it stale and resyncs it.

    Attributes:
        ticker: The market ticker.
        last_seq: The ``seq`` of the last snapshot or delta applied, when the caller gave one.
    """

    __slots__ = ("_best_no", "_best_yes", "_no", "_yes", "last_seq", "ticker")

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
        sides = [self._valid_side(levels, f"{ticker} init") for levels in (yes, no)]
        self._set_sides(sides[0], sides[1], "init")

    @staticmethod
    def _valid_side(
        levels: Mapping[int, int] | Iterable[tuple[int, int]], where: str
    ) -> dict[int, int]:
        items = levels.items() if isinstance(levels, Mapping) else levels
        side: dict[int, int] = {}
        for price, size in items:
            if size < 0:
                raise BookError(f"{where}: negative size at {_fmt_price(price)}")
            if size:
                side[check_price(price, where)] = size
        return side

    # --- construction and updates -------------------------------------------------------------

    def replace(
        self,
        yes: Mapping[int, int] | Iterable[tuple[int, int]],
        no: Mapping[int, int] | Iterable[tuple[int, int]],
        *,
        seq: int | None = None,
        where: str | None = None,
    ) -> None:
        """Replace both sides at once (a snapshot: a repeated snapshot replaces, §7.5).

        Args:
            yes: YES bids ``{own price_cc: size_centi}``; zero sizes are dropped.
            no: NO bids, keyed by the NO bid's own price.
            seq: The frame's ``seq``, kept as :attr:`last_seq`.
            where: Context for error messages (default ``"snapshot (seq N)"``).

        Raises:
            BookError: On a price outside (0, 1), a negative size, or a crossed book; the
                book is left unchanged.
        """
        where = where or f"snapshot (seq {seq})"
        sides = [self._valid_side(levels, f"{self.ticker} {where}") for levels in (yes, no)]
        self._set_sides(sides[0], sides[1], where)
        self.last_seq = seq

    def _set_sides(self, yes: dict[int, int], no: dict[int, int], where: str) -> None:
        """Install validated sides with their best bids, or raise on a crossed book."""
        best_yes, best_no = max(yes, default=None), max(no, default=None)
        if best_yes is not None and best_no is not None and best_yes + best_no > CC_PER_DOLLAR:
            raise BookError(_crossed_message(self.ticker, best_yes, best_no, where))
        self._yes, self._no, self._best_yes, self._best_no = yes, no, best_yes, best_no

    def change(
        self, side: Side | str, price_cc: int, delta_centi: int, *, seq: int | None = None
    ) -> None:
        """Add ``delta_centi`` (signed) to the bids of ``side`` at ``price_cc`` (own price).

        The hot path of every stream and replay: the best bid of each side is kept here
        (a new level above it is the new best; removing it rescans that side only), so a
        crossed or locked book is judged in O(1). Error texts are built only on an error.

        Raises:
            BookError: When the size would go negative or the book would cross; the book is
                left unchanged.
        """
        if side == "yes":
            yes, bids, best = True, self._yes, self._best_yes
        elif side == "no":
            yes, bids, best = False, self._no, self._best_no
        else:  # any case, or a Side: normalised (and refused) by parse_side
            side = parse_side(side, f"{self.ticker} (seq {seq})")
            self.change(side.value, price_cc, delta_centi, seq=seq)
            return
        if not 0 < price_cc < CC_PER_DOLLAR:
            check_price(price_cc, f"{self.ticker}: delta at {_where(side, price_cc, seq)}")
        old = bids.get(price_cc, 0)
        new = old + delta_centi
        if new < 0:
            raise BookError(
                f"{self.ticker}: delta {_fmt_size(delta_centi)} at {_where(side, price_cc, seq)} "
                f"would make the size negative (resting {_fmt_size(old)}); book out of sync"
            )
        if new:
            if best is None or price_cc > best:  # a new level above the touch (delta > 0)
                other = self._best_no if yes else self._best_yes
                if other is not None and price_cc + other > CC_PER_DOLLAR:
                    y, n = (price_cc, other) if yes else (other, price_cc)
                    where = f"delta at {_where(side, price_cc, seq)}"
                    raise BookError(_crossed_message(self.ticker, y, n, where))
                if yes:
                    self._best_yes = price_cc
                else:
                    self._best_no = price_cc
            bids[price_cc] = new
        elif old:
            del bids[price_cc]
            if price_cc == best:  # the touch went: the next best is the highest left
                if yes:
                    self._best_yes = max(bids, default=None)
                else:
                    self._best_no = max(bids, default=None)
        self.last_seq = seq

    # --- reading ------------------------------------------------------------------------------

    def bids(self, side: Side | str) -> Mapping[int, int]:
        """Read-only view of one side's bids, ``{own price_cc: size_centi}``."""
        return MappingProxyType(
            self._yes if parse_side(side, self.ticker) is Side.YES else self._no
        )

    def size_at(self, side: Side | str, price_cc: int) -> int:
        """Resting size (centi-contracts) of ``side`` bids at ``price_cc``; 0 when none."""
        return self.bids(side).get(price_cc, 0)

    def levels(self, side: Side | str, n: int | None = None) -> list[Level]:
        """Bid levels of one side, best (highest price) first; the top ``n`` when given."""
        bids = self.bids(side)
        if n is not None and n < len(bids) // 4:  # a few of many: a heap, not a full sort
            prices = heapq.nlargest(n, bids)
        else:
            prices = sorted(bids, reverse=True)[:n]
        return [Level(p, bids[p]) for p in prices]

    def ask_levels(self, side: Side | str, n: int | None = None) -> list[Level]:
        """Implied asks of ``side`` (from the other side's bids), best (lowest price) first.

        ``ask_levels("yes")`` walks the NO bids from the highest down: a NO bid at ``q`` with
        size ``s`` sells ``s`` YES contracts at ``1 − q`` (the executable cost to buy YES).
        """
        other = Side.NO if parse_side(side, self.ticker) is Side.YES else Side.YES
        return [Level(CC_PER_DOLLAR - lv.price_cc, lv.size_centi) for lv in self.levels(other, n)]

    def depth_centi(self, side: Side | str, n: int | None = None) -> int:
        """Total bid size on ``side`` over its top ``n`` levels (all levels when ``None``)."""
        return sum(lv.size_centi for lv in self.levels(side, n))

    def _best(self, side: Side) -> Level | None:
        p = self._best_yes if side is Side.YES else self._best_no
        return None if p is None else Level(p, (self._yes if side is Side.YES else self._no)[p])

    @property
    def best_bid_cc(self) -> tuple[int | None, int | None]:
        """``(best YES bid, best NO bid)`` prices in cc, kept incrementally (no search)."""
        return self._best_yes, self._best_no

    def top(self) -> tuple[int | None, int, int | None, int]:
        """``(best YES bid, its size, best NO bid, its size)`` (cc, centi; size 0 when none).

        The read of every top-of-book feature: O(1), no Level objects.
        """
        y, n = self._best_yes, self._best_no
        return y, 0 if y is None else self._yes[y], n, 0 if n is None else self._no[n]

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
        y, n = self._best_yes, self._best_no
        return y is not None and n is not None and y + n == CC_PER_DOLLAR

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
