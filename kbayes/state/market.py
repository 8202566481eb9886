"""Market state of one event (a ladder of bracket markets), updated event by event.

Per bracket ``k`` it keeps the order book (:class:`~kbayes.market.book.OrderBook`, rebuilt
from the emitted snapshots and deltas), the last quote (``ticker`` messages or a stored best
bid/ask log: the top of book when no full book is known), the last trade, cumulative and
per-bin volume, the last candle and the lifecycle status. Its :meth:`MarketState.top` is the
one top-of-book every feature reads:

* the book's best YES bid and ask (``$1 -`` best NO bid) with their sizes, when the book is
  present and in sync;
* else the last quote, unless it is crossed (bid above ask: flagged in
  :attr:`BracketState.crossed`);
* else ``None``: no price, never 0 or $1. A stale book (seq gap, locked, reconnect: a
  :class:`~kbayes.market.events.BookStatus` said so) gives ``None`` until its snapshot.

The state is a mutable object rather than a NamedTuple folded by a pure ``update``: an
order book is a pair of dicts with hundreds of levels, and copying it per event would cost
more than everything else on the hot path. Its inputs are still only the events, applied in
clock order by :meth:`MarketState.apply`, in replay and live alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jaxtyping import Float

from kbayes.market.book import OrderBook
from kbayes.market.events import (
    BookDelta,
    BookSnapshot,
    BookStatus,
    Candle,
    Event,
    Lifecycle,
    Quote,
    TradePrint,
)
from kbayes.market.prices import CC_PER_DOLLAR, CENTI_PER_CONTRACT


class TopOfBook(NamedTuple):
    """The executable top of one market (YES leg), integers; a missing side is ``-1``.

    Attributes:
        t_ns: when it became known (the event's ``available_ns``).
        bid_cc / bid_size_centi: best YES bid and its size.
        ask_cc / ask_size_centi: best YES ask (``$1 -`` best NO bid) and its size.
    """

    t_ns: int
    bid_cc: int
    bid_size_centi: int
    ask_cc: int
    ask_size_centi: int

    @property
    def two_sided(self) -> bool:
        """Both sides present."""
        return self.bid_cc >= 0 and self.ask_cc >= 0

    @property
    def mid(self) -> float:
        """``(bid + ask) / 2`` in probability units, ``nan`` when a side is missing."""
        if self.bid_cc < 0 or self.ask_cc < 0:
            return float("nan")
        return (self.bid_cc + self.ask_cc) / (2 * CC_PER_DOLLAR)

    @property
    def microprice(self) -> float:
        """Size-weighted mid (leans to the thinner queue), ``nan`` without two sizes."""
        b, a = self.bid_size_centi, self.ask_size_centi
        if self.bid_cc < 0 or self.ask_cc < 0 or b <= 0 or a <= 0:
            return self.mid if b == a == 0 and self.two_sided else float("nan")
        return (self.bid_cc * a + self.ask_cc * b) / ((a + b) * CC_PER_DOLLAR)


class BracketState:
    """What is known about one bracket market (see the module docstring)."""

    __slots__ = (
        "bin_trades", "bin_volume_centi", "book", "candle", "crossed", "last_trade",
        "n_trades", "quote", "result", "stale", "stale_reason", "status", "ticker",
        "top_ns", "volume_centi",
    )  # fmt: skip

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self.book: OrderBook | None = None
        self.stale = True  # no snapshot yet
        self.stale_reason = "no snapshot yet"
        self.quote: Quote | None = None
        self.crossed = False  # the last quote had bid > ask
        self.top_ns = -1  # available_ns of the last event that could move the top
        self.last_trade: TradePrint | None = None
        self.n_trades = 0
        self.volume_centi = 0
        self.bin_volume_centi = 0  # since the last roll_bins()
        self.bin_trades = 0
        self.candle: Candle | None = None
        self.status = ""
        self.result = ""


class MarketState:
    """The state of one ladder (``tickers`` in bracket order).

    Attributes:
        tickers: the markets, in bracket order.
        brackets: one :class:`BracketState` per market.
        now_ns: ``available_ns`` of the last applied event.
        n_events: events applied.
    """

    def __init__(self, tickers: Sequence[str]) -> None:
        if not tickers or len(set(tickers)) != len(tickers):
            raise ValueError(f"tickers must be non-empty and distinct, got {list(tickers)}")
        self.tickers = tuple(tickers)
        self.index = {t: k for k, t in enumerate(self.tickers)}
        self.brackets = [BracketState(t) for t in self.tickers]
        self.now_ns = -(2**63)
        self.n_events = 0
        self._apply = {
            BookDelta: self._delta,
            BookSnapshot: self._snapshot,
            BookStatus: self._status,
            TradePrint: self._trade,
            Quote: self._quote,
            Candle: self._candle,
            Lifecycle: self._lifecycle,
        }

    def __len__(self) -> int:
        return len(self.tickers)

    def apply(self, ev: Event) -> int:
        """Apply one market event of this ladder; returns the bracket index it touched.

        Raises:
            KeyError: for a ticker outside the ladder (the runner routes events by ladder).
            TypeError: for an event type a market state does not take.
        """
        fn = self._apply.get(type(ev))
        if fn is None:
            raise TypeError(f"MarketState does not take {type(ev).__name__} events")
        k = self.index[ev.ticker]  # type: ignore[union-attr]
        self.now_ns = ev.available_ns
        self.n_events += 1
        fn(self.brackets[k], ev)
        return k

    # --- per event type -----------------------------------------------------------------------

    @staticmethod
    def _delta(b: BracketState, ev: BookDelta) -> None:
        if b.book is None:
            raise ValueError(f"{ev.ticker}: delta (seq {ev.seq}) before any snapshot")
        b.book.change(ev.side, ev.price_cc, ev.delta_centi, seq=ev.seq)
        b.top_ns = ev.available_ns

    @staticmethod
    def _snapshot(b: BracketState, ev: BookSnapshot) -> None:
        book = OrderBook(ev.ticker, ev.yes, ev.no, seq=ev.seq)
        b.book = book
        b.stale, b.stale_reason = book.is_locked, "locked snapshot" if book.is_locked else ""
        b.top_ns = ev.available_ns

    @staticmethod
    def _status(b: BracketState, ev: BookStatus) -> None:
        b.stale, b.stale_reason = ev.stale, ev.reason
        b.top_ns = ev.available_ns

    @staticmethod
    def _trade(b: BracketState, ev: TradePrint) -> None:
        b.last_trade = ev
        b.n_trades += 1
        b.volume_centi += ev.count_centi
        b.bin_volume_centi += ev.count_centi
        b.bin_trades += 1

    @staticmethod
    def _quote(b: BracketState, ev: Quote) -> None:
        b.quote = ev
        bid, ask = ev.yes_bid_cc, ev.yes_ask_cc
        b.crossed = bid is not None and ask is not None and bid > ask
        b.top_ns = ev.available_ns

    @staticmethod
    def _candle(b: BracketState, ev: Candle) -> None:
        b.candle = ev

    @staticmethod
    def _lifecycle(b: BracketState, ev: Lifecycle) -> None:
        b.status, b.result = ev.status, ev.result

    # --- reading ------------------------------------------------------------------------------

    def top(self, k: int) -> TopOfBook | None:
        """Bracket ``k``'s top of book (see the module docstring), ``None`` when unknown."""
        b = self.brackets[k]
        book = b.book
        if book is not None and not b.stale:
            y, ys, n, ns = book.top()
            return TopOfBook(
                b.top_ns, -1 if y is None else y, ys, -1 if n is None else CC_PER_DOLLAR - n, ns
            )
        q = b.quote
        if q is None or b.crossed or book is not None:  # a stale book is not replaced by quotes
            return None
        return TopOfBook(
            b.top_ns,
            -1 if q.yes_bid_cc is None else q.yes_bid_cc,
            q.yes_bid_size_centi or 0,
            -1 if q.yes_ask_cc is None else q.yes_ask_cc,
            q.yes_ask_size_centi or 0,
        )

    def mids(self) -> Float[np.ndarray, " K"]:
        """Every bracket's mid (probability units), ``nan`` without a two-sided top."""
        out = np.full(len(self.tickers), np.nan)
        for k in range(len(self.tickers)):
            top = self.top(k)
            if top is not None:
                out[k] = top.mid
        return out

    def roll_bins(self) -> tuple[list[float], list[float]]:
        """Per-bracket (contracts, trades) since the last roll, and start a new bin."""
        vol, n = [], []
        for b in self.brackets:
            vol.append(b.bin_volume_centi / CENTI_PER_CONTRACT)
            n.append(float(b.bin_trades))
            b.bin_volume_centi = 0
            b.bin_trades = 0
        return vol, n

    def flags(self) -> dict[str, list[bool]]:
        """Per-bracket trust flags: ``stale`` (book not in sync), ``crossed`` (quote),
        ``no_price`` (no two-sided top)."""
        return {
            "stale": [b.stale and b.book is not None for b in self.brackets],
            "crossed": [b.crossed for b in self.brackets],
            "no_price": [
                (t := self.top(k)) is None or not t.two_sided for k in range(len(self.tickers))
            ],
        }
