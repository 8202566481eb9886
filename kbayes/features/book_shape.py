"""Book shape of one market: spread, top-``n`` depth per side, and time to close.

Read at ``t``, from the book in force just before ``t`` (the last book with ``t_book < t``:
strictly causal, like every event feature here):

    spread(t)        = a_1 - b_1                   (YES ask - YES bid, centi-cents)
    bid_depth(t; n)  = sum_{l <= n} s^yes_l        (the top n YES bid levels, centi-contracts)
    ask_depth(t; n)  = sum_{l <= n} s^no_l         (the top n NO bids = YES asks)
    time_to_close(t) = (close_ns - t) / 3.6e12     (hours; negative after the close)

with ``a_1 = $1 - `` the best NO bid. A side with fewer than ``n`` levels sums the levels it
has (an empty side has depth 0). Missing values are integers ``-1``: the spread when either
side is empty, and every book field before the first book has been seen (nothing known yet is
not the same as an empty book). The obs is :class:`BookLevels` (both sides' bids, best
first, as in :class:`~kbayes.market.events.BookSnapshot`); a :class:`~kbayes.features.ofi.
TopOfBook` is accepted as the one-level book it describes. Each book's shape is computed when
it is absorbed (O(max n)), so a read is O(1).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from jaxtyping import Bool, Float, Int

from kbayes.features.ofi import NO_PRICE, TopOfBook
from kbayes.market.book import OrderBook
from kbayes.market.events import Tick
from kbayes.market.prices import CC_PER_DOLLAR
from kbayes.step import StepAlgorithm

NS_PER_HOUR = 3_600_000_000_000
MISSING = -1
"""Integer fields that are not known (a one-sided spread, a book not yet seen)."""


class BookLevels(NamedTuple):
    """Both sides' bids of one market after an event, best (highest own price) first.

    Attributes:
        t_ns: time of the event.
        yes: YES bids ``((price_cc, size_centi), ...)``, at least the top ``max(n)`` levels.
        no: NO bids, same layout (NO bid ``q`` = YES ask ``10_000 - q``).
    """

    t_ns: int
    yes: tuple[tuple[int, int], ...]
    no: tuple[tuple[int, int], ...]


def book_levels(t_ns: int, book: OrderBook, n: int | None = None) -> BookLevels:
    """The top ``n`` levels (all when None) of a domain book as :class:`BookLevels`."""
    return BookLevels(
        t_ns,
        tuple((lv.price_cc, lv.size_centi) for lv in book.levels("yes", n)),
        tuple((lv.price_cc, lv.size_centi) for lv in book.levels("no", n)),
    )


def levels_from_top(top: TopOfBook) -> BookLevels:
    """A :class:`TopOfBook` as the one-level :class:`BookLevels` it describes."""
    yes = () if top.bid_cc == NO_PRICE else ((top.bid_cc, top.bid_size_centi),)
    no = () if top.ask_cc == NO_PRICE else ((CC_PER_DOLLAR - top.ask_cc, top.ask_size_centi),)
    return BookLevels(top.t_ns, yes, no)


class BookShapeParams(NamedTuple):
    """Attributes:
    depth_levels: the ``n`` of the top-``n`` depths, e.g. ``(1, 3, 5)``.
    close_ns: the market's close time (ns since the UTC epoch).
    """

    depth_levels: tuple[int, ...]
    close_ns: int


class Shape(NamedTuple):
    """The shape of one book (computed once, when it is absorbed)."""

    t_ns: int
    spread_cc: int
    bid_depth_centi: tuple[int, ...]
    ask_depth_centi: tuple[int, ...]


class BookShapeState(NamedTuple):
    """Online state: the last book's shape and the one in force just before its time."""

    last: Shape | None
    before: Shape | None


class BookShapeInfo(NamedTuple):
    """The shape read at ``t_ns`` (books strictly before it).

    Attributes:
        t_ns: read time (a book's own time for its update: its left limit).
        spread_cc: YES ask - YES bid (``-1``: a side is empty, or no book yet).
        bid_depth_centi / ask_depth_centi: top-``n`` depths per ``depth_levels`` (``-1``: no
            book yet).
        time_to_close_h: hours from ``t_ns`` to the close (negative after it).
        in_order: False when the event or read came before the last book's time (clamped).
    """

    t_ns: int
    spread_cc: int
    bid_depth_centi: tuple[int, ...]
    ask_depth_centi: tuple[int, ...]
    time_to_close_h: float
    in_order: bool


class BookArrays(NamedTuple):
    """Books stacked over ``N`` events, ``L`` levels, padded with price ``-1`` and size 0."""

    t_ns: Int[np.ndarray, " N"]
    yes_cc: Int[np.ndarray, "N L"]
    yes_size_centi: Int[np.ndarray, "N L"]
    no_cc: Int[np.ndarray, "N L"]
    no_size_centi: Int[np.ndarray, "N L"]


class BookShapeBatch(NamedTuple):
    """:class:`BookShapeInfo` stacked over ``Q`` reads (``M`` depth levels)."""

    t_ns: Int[np.ndarray, " Q"]
    spread_cc: Int[np.ndarray, " Q"]
    bid_depth_centi: Int[np.ndarray, "Q M"]
    ask_depth_centi: Int[np.ndarray, "Q M"]
    time_to_close_h: Float[np.ndarray, " Q"]
    in_order: Bool[np.ndarray, " Q"]


def _check_params(params: BookShapeParams) -> tuple[int, ...]:
    levels = tuple(params.depth_levels)
    if not levels:
        raise ValueError(f"depth_levels = {levels!r}: need at least one n")
    for i, n in enumerate(levels):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"depth_levels[{i}] = {n!r}: must be an integer >= 1")
    c = params.close_ns
    if isinstance(c, bool) or not isinstance(c, numbers.Integral) or c <= 0:
        raise ValueError(f"close_ns = {c!r}: must be a positive integer (ns since the epoch)")
    return tuple(int(n) for n in levels)


def _check_side(levels: tuple[tuple[int, int], ...], side: str, upto: int) -> None:
    prev = CC_PER_DOLLAR
    for i, (p, s) in enumerate(levels[:upto]):
        if not 0 < p < prev:
            raise ValueError(
                f"{side}[{i}] price_cc = {p!r}: not in (0, 10000) below the level above it"
            )
        if s <= 0:
            raise ValueError(f"{side}[{i}] size_centi = {s!r}: must be positive")
        prev = p


def _depths(levels: tuple[tuple[int, int], ...], ns: tuple[int, ...], upto: int) -> tuple[int, ...]:
    cum = [0]  # cum[l] = size of the top l levels
    for _, s in levels[:upto]:
        cum.append(cum[-1] + s)
    last = len(cum) - 1
    return tuple(cum[n if n < last else last] for n in ns)


def shape_of(book: BookLevels, ns: tuple[int, ...]) -> Shape:
    """The :class:`Shape` of one book (validating the levels it reads)."""
    upto = max(ns)
    _check_side(book.yes, "yes", upto)
    _check_side(book.no, "no", upto)
    spread = CC_PER_DOLLAR - book.no[0][0] - book.yes[0][0] if book.yes and book.no else MISSING
    return Shape(book.t_ns, spread, _depths(book.yes, ns, upto), _depths(book.no, ns, upto))


def book_shape(params: BookShapeParams) -> StepAlgorithm[BookShapeState, BookShapeInfo]:
    """Spread, depths and time to close of one market as a step.

    ``update(state, obs)`` takes a :class:`BookLevels` or :class:`~kbayes.features.ofi.
    TopOfBook` (absorbed; the info is read at its time, excluding it) or a
    :class:`~kbayes.market.events.Tick` (a read; the state is unchanged).

    Raises:
        ValueError: naming the bad parameter (and, on update, the bad level).
        TypeError: on update, an obs of another type (a wiring error, not a read).
    """
    ns = _check_params(params)
    close_ns = int(params.close_ns)
    unknown = (MISSING,) * len(ns)

    def read(state: BookShapeState, t_ns: int) -> BookShapeInfo:
        last = state.last
        in_order = last is None or t_ns >= last.t_ns
        t = t_ns if in_order else last.t_ns
        shape = last if last is not None and last.t_ns < t else state.before
        ttc = (close_ns - t) / NS_PER_HOUR
        if shape is None:
            return BookShapeInfo(t, MISSING, unknown, unknown, ttc, in_order)
        return BookShapeInfo(
            t, shape.spread_cc, shape.bid_depth_centi, shape.ask_depth_centi, ttc, in_order
        )

    def init(key: Any = None) -> BookShapeState:
        del key  # deterministic
        return BookShapeState(last=None, before=None)

    def update(
        state: BookShapeState, obs: Any, key: Any = None
    ) -> tuple[BookShapeState, BookShapeInfo]:
        del key
        kind = type(obs)
        if kind is TopOfBook:
            obs, kind = levels_from_top(obs), BookLevels
        if kind is Tick:
            return state, read(state, obs.ts_ns)
        if kind is not BookLevels:
            raise TypeError(
                f"book_shape update takes BookLevels, TopOfBook or a Tick, got {kind.__name__}"
            )
        info = read(state, obs.t_ns)
        shape = shape_of(obs, ns)._replace(t_ns=info.t_ns)  # clamped when out of order
        last = state.last
        before = state.before if last is None or last.t_ns == shape.t_ns else last
        return BookShapeState(last=shape, before=before), info

    return StepAlgorithm(init=init, update=update)


def book_arrays(books: Sequence[BookLevels], num_levels: int) -> BookArrays:
    """Stack the top ``num_levels`` of each book, padded with price -1 and size 0."""
    n = len(books)
    out = [np.full((n, num_levels), MISSING, np.int64) for _ in range(2)]
    sizes = [np.zeros((n, num_levels), np.int64) for _ in range(2)]
    for i, b in enumerate(books):
        for k, side in enumerate((b.yes, b.no)):
            for j, (p, s) in enumerate(side[:num_levels]):
                out[k][i, j], sizes[k][i, j] = p, s
    return BookArrays(
        np.array([b.t_ns for b in books], np.int64), out[0], sizes[0], out[1], sizes[1]
    )


def book_shape_batch(
    params: BookShapeParams, books: BookArrays, query_ns: Int[np.ndarray, " Q"]
) -> BookShapeBatch:
    """The batch twin: the shape read at each ``query_ns`` from all books at once.

    ``books`` must hold at least ``max(depth_levels)`` levels (or every level a book has).
    Validation of the levels is the online update's (:func:`shape_of`); here sizes are summed.
    """
    ns = _check_params(params)
    times = np.maximum.accumulate(np.asarray(books.t_ns, np.int64))
    q = np.asarray(query_ns, np.int64)
    idx = np.searchsorted(times, q, side="left") - 1
    seen = idx >= 0
    j = np.where(seen, idx, 0)
    yes_cc, no_cc = books.yes_cc[:, 0], books.no_cc[:, 0]
    two_sided = (yes_cc != MISSING) & (no_cc != MISSING)
    spread = np.where(two_sided, CC_PER_DOLLAR - no_cc - yes_cc, MISSING)
    width = books.yes_cc.shape[1]
    cols = [min(n, width) - 1 for n in ns]
    bid = np.cumsum(books.yes_size_centi, axis=1)[:, cols]
    ask = np.cumsum(books.no_size_centi, axis=1)[:, cols]
    return BookShapeBatch(
        t_ns=q,
        spread_cc=np.where(seen, spread[j], MISSING),
        bid_depth_centi=np.where(seen[:, None], bid[j], MISSING),
        ask_depth_centi=np.where(seen[:, None], ask[j], MISSING),
        time_to_close_h=(params.close_ns - q) / NS_PER_HOUR,
        in_order=np.ones(len(q), bool),
    )


def stack_infos(infos: Sequence[BookShapeInfo]) -> BookShapeBatch:
    """Online infos stacked as a :class:`BookShapeBatch`."""
    cols = list(zip(*infos, strict=True))
    dtypes = (np.int64, np.int64, np.int64, np.int64, np.float64, bool)
    return BookShapeBatch(*(np.array(c, d) for c, d in zip(cols, dtypes, strict=True)))
