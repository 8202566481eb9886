"""The domain order book: exact integer levels, signed changes, derived top of book.

Wire payloads (REST/WS, legacy shapes) are tested in tests/io/kalshi/test_book_wire.py.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbayes.market.book import BookError, Level, OrderBook, Side

# The §5.4 REST example in centi-cents / centi-contracts.
YES = {
    100: 20_000,
    1500: 10_000,
    2000: 5000,
    2500: 2000,
    3000: 1100,
    3100: 1000,
    3200: 1000,
    3300: 1100,
    3400: 900,
    3500: 1100,
    4100: 1000,
    4200: 1300,
}
NO = {100: 10_000, 1600: 300, 2500: 5000, 2800: 1900, 3600: 500, 3700: 5000, 3800: 30_000,
      4400: 2900, 4500: 2000, 5600: 1700}  # fmt: skip


def test_top_of_book_and_derived_quantities() -> None:
    book = OrderBook("X", YES, NO)
    assert book.best_yes_bid == Level(4200, 1300)
    assert book.best_no_bid == Level(5600, 1700)
    assert book.best_yes_ask == Level(4400, 1700)  # 1 − 0.56, size of the best NO bid
    assert book.best_no_ask == Level(5800, 1300)
    assert book.spread_cc == 200
    assert book.mid_cc == 4300
    # Microprice leans to the smaller queue: (0.42·17 + 0.44·13) / 30.
    assert book.microprice_cc == Fraction(4200 * 1700 + 4400 * 1300, 3000)
    assert book.imbalance == Fraction(1300 - 1700, 3000)
    assert book.levels(Side.YES, 2) == [Level(4200, 1300), Level(4100, 1000)]
    assert book.ask_levels("yes", 3) == [Level(4400, 1700), Level(5500, 2000), Level(5600, 2900)]
    assert book.depth_centi("no") == 59_300 and book.depth_centi("yes", 2) == 2300
    assert not book.is_locked


def test_empty_sides_are_missing_not_zero() -> None:
    only_no = OrderBook("T", {}, {9400: 500})
    assert only_no.best_yes_bid is None and only_no.best_no_ask is None
    assert only_no.best_yes_ask == Level(600, 500)
    for value in (only_no.mid_cc, only_no.microprice_cc, only_no.spread_cc, only_no.imbalance):
        assert value is None
    empty = OrderBook("T")
    assert empty.is_empty and empty.best_yes_ask is None and empty.levels("no") == []
    assert OrderBook("T", {800: 0}).is_empty  # a zero size is no level


def test_change_is_atomic_and_names_the_market() -> None:
    book = OrderBook("T", {800: 30_000}, {5400: 2000}, seq=2)
    before = book.copy()
    with pytest.raises(BookError, match=r"T: delta -54\.00 at yes 0\.9600 \(seq 3\).*negative"):
        book.change("yes", 9600, -5400, seq=3)
    assert book == before and book.last_seq == 2
    with pytest.raises(BookError, match="side"):
        book.change("maybe", 800, 1)
    with pytest.raises(BookError, match="outside"):
        book.change("no", 10_000, 1)
    book.change(Side.YES, 800, -30_000, seq=4)
    assert book.bids("yes") == {} and book.last_seq == 4


def test_replace_is_a_whole_new_book() -> None:
    book = OrderBook("T", {800: 300, 2200: 333}, {5600: 146}, seq=2)
    book.replace({1000: 100}, {}, seq=7)
    assert book.bids("yes") == {1000: 100} and book.bids("no") == {} and book.last_seq == 7
    with pytest.raises(BookError, match=r"T snapshot \(seq 8\): negative size"):
        book.replace({1000: -1}, {}, seq=8)
    with pytest.raises(BookError, match="outside"):
        book.replace({0: 1}, {}, seq=8)
    assert book.bids("yes") == {1000: 100} and book.last_seq == 7


def test_crossed_book_raises_and_locked_is_flagged() -> None:
    book = OrderBook("KXHIGHNY-26AUG24-B82.5", {6000: 100}, {3000: 100})
    with pytest.raises(BookError, match=r"KXHIGHNY-26AUG24-B82\.5: crossed.*no 0\.4500 \(seq 9\)"):
        book.change("no", 4500, 1000, seq=9)
    assert book.best_no_bid == Level(3000, 100)  # reverted
    book.change("no", 4000, 500, seq=10)  # 0.60 + 0.40 = $1: locked, not crossed
    assert book.is_locked and book.spread_cc == 0
    book.change("no", 3000, -100)  # removing a level below the touch keeps it locked
    assert book.is_locked
    book.change("yes", 6000, -50)  # part of the best YES bid: still locked
    assert book.is_locked
    book.change("yes", 6000, -50)  # the best YES bid gone: unlocked (and YES side empty)
    assert not book.is_locked and book.spread_cc is None
    book.change("yes", 5900, 10)
    assert not book.is_locked and book.spread_cc == 100
    book.change("yes", 6000, 10)  # locked again by an added bid
    assert book.is_locked and book.copy().is_locked
    assert OrderBook("T", {6000: 1}, {4000: 1}).is_locked
    before = book.copy()
    with pytest.raises(BookError, match=r"crossed book after snapshot \(seq 11\)"):
        book.replace({7000: 100}, {3100: 100}, seq=11)
    assert book == before and book.is_locked  # atomic
    with pytest.raises(BookError, match="crossed"):
        OrderBook("T", {7000: 1}, {3100: 1})


# --- property: deltas then their inverses ------------------------------------------------------


@st.composite
def book_and_deltas(draw: st.DrawFn) -> tuple[OrderBook, list[tuple[Side, int, int]]]:
    split = draw(st.integers(2, 9_998))  # YES bids below split, NO bids at or below 10_000 − split
    yes = draw(st.dictionaries(st.integers(1, split - 1), st.integers(1, 10**8), max_size=8))
    no = draw(st.dictionaries(st.integers(1, 10_000 - split), st.integers(1, 10**8), max_size=8))
    book = OrderBook("T", yes, no)
    work = book.copy()
    deltas: list[tuple[Side, int, int]] = []
    for _ in range(draw(st.integers(0, 30))):
        side = draw(st.sampled_from(Side))
        levels = work.bids(side)
        if levels and draw(st.booleans()):  # remove part or all of an existing level
            price = draw(st.sampled_from(sorted(levels)))
            delta = -draw(st.integers(1, levels[price]))
        else:  # add anywhere that keeps the book uncrossed
            other = work.best_no_bid if side is Side.YES else work.best_yes_bid
            hi = 9_999 if other is None else 10_000 - other.price_cc
            if hi < 1:
                continue
            price, delta = draw(st.integers(1, hi)), draw(st.integers(1, 10**6))
        work.change(side, price, delta)
        deltas.append((side, price, delta))
    return book, deltas


@given(book_and_deltas())
def test_deltas_then_inverses_restore_the_book(
    case: tuple[OrderBook, list[tuple[Side, int, int]]],
) -> None:
    original, deltas = case
    book = original.copy()
    for seq, (side, price, delta) in enumerate(deltas, start=1):
        book.change(side, price, delta, seq=seq)
        assert book.is_locked == (book.spread_cc == 0)
    for side, price, delta in reversed(deltas):
        book.change(side, price, -delta)  # every intermediate state was valid going forward
        assert book.is_locked == (book.spread_cc == 0)  # the kept flag equals its definition
    assert book == original
    assert (
        book.best_yes_ask == original.best_yes_ask and book.microprice_cc == original.microprice_cc
    )
