"""Order-flow imbalance and queue imbalance of one market's top of book.

Order-flow imbalance (Cont, Kukanov & Stoikov 2014, "The price impact of order book events",
J. Financial Econometrics 12(1), 47-88, eq. 2): for consecutive tops ``n - 1, n`` with best
bid ``P^b``, its size ``q^b``, best ask ``P^a`` and its size ``q^a``,

    e_n = 1{P^b_n >= P^b_{n-1}} q^b_n - 1{P^b_n <= P^b_{n-1}} q^b_{n-1}
        - 1{P^a_n <= P^a_{n-1}} q^a_n + 1{P^a_n >= P^a_{n-1}} q^a_{n-1},

positive when demand grows (bids join or improve, asks are taken or cancelled). The feature
read at ``t`` is ``OFI(t; W) = sum_{t - W <= t_n < t} e_n`` for each window ``W``, exact
integers in centi-contracts (strictly causal, as in :mod:`kbayes.features.flow`, whose rolling
log it uses), and the queue imbalance of the top in force just before ``t``,

    I(t) = (q^b - q^a) / (q^b + q^a)      in [-1, 1].

On Kalshi the YES bid is the best YES bid and the YES ask is ``$1 -`` the best NO bid, with
the NO bid's size (:mod:`kbayes.market.book`).

**A missing side** (no YES bids, or no NO bids) is a bid at price ``-inf`` (an ask at
``+inf``) with size 0. Then ``e_n`` is the natural limit: a bid side that appears adds its
size (the bid "rose"), one that empties subtracts its last size (it "fell"), an empty side
that stays empty adds nothing; likewise for the ask. The queue imbalance is NaN (missing)
unless both sides are present. The first top absorbed has no predecessor and contributes
``e = 0``: it is where the feature starts, not flow. After a resync (a stale book, a new
snapshot) the runner should start the feature afresh (``init``), or the jump between the
last trusted top and the new one would be counted as flow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from jaxtyping import Bool, Float, Int

from kbayes.features.flow import (
    RollingLog,
    check_windows,
    empty_log,
    log_append,
    log_before,
    searchsorted_window_sums,
)
from kbayes.market.book import OrderBook
from kbayes.market.events import Tick
from kbayes.market.prices import CC_PER_DOLLAR
from kbayes.state.market import TopOfBook  # the one top-of-book type (the state makes it)
from kbayes.step import StepAlgorithm

NO_PRICE = -1
"""``bid_cc`` / ``ask_cc`` of a missing side (its size is 0)."""
_ASK_INF = CC_PER_DOLLAR + 1  # a missing ask compares above every real ask


def top_of_book(t_ns: int, book: OrderBook) -> TopOfBook:
    """The :class:`TopOfBook` of a domain book at ``t_ns``."""
    yes, yes_size, no, no_size = book.top()
    return TopOfBook(
        t_ns,
        NO_PRICE if yes is None else yes,
        yes_size,
        NO_PRICE if no is None else CC_PER_DOLLAR - no,
        no_size,
    )


def check_top(top: TopOfBook) -> None:
    """Raise ValueError naming the field when ``top`` is not a possible top of book."""
    for price, size, side in (
        (top.bid_cc, top.bid_size_centi, "bid"),
        (top.ask_cc, top.ask_size_centi, "ask"),
    ):
        if price == NO_PRICE:
            if size != 0:
                raise ValueError(f"{side}_size_centi = {size!r} but {side}_cc = -1 (missing)")
        elif not 0 < price < CC_PER_DOLLAR:
            raise ValueError(f"{side}_cc = {price!r}: not a price in (0, 10000) or -1")
        elif size <= 0:
            raise ValueError(f"{side}_size_centi = {size!r}: a present side needs a size > 0")


def ofi_increment(prev: TopOfBook, cur: TopOfBook) -> int:
    """``e_n`` of Cont, Kukanov & Stoikov (2014) between two tops (missing sides at +-inf)."""
    pb0, pb1 = prev.bid_cc, cur.bid_cc  # NO_PRICE = -1 is below every bid
    pa0 = _ASK_INF if prev.ask_cc == NO_PRICE else prev.ask_cc
    pa1 = _ASK_INF if cur.ask_cc == NO_PRICE else cur.ask_cc
    e = 0
    if pb1 >= pb0:
        e += cur.bid_size_centi
    if pb1 <= pb0:
        e -= prev.bid_size_centi
    if pa1 <= pa0:
        e -= cur.ask_size_centi
    if pa1 >= pa0:
        e += prev.ask_size_centi
    return e


def queue_imbalance(top: TopOfBook | None) -> float:
    """``(q^b - q^a) / (q^b + q^a)``; NaN when a side (or the whole top) is missing."""
    if top is None or top.bid_cc == NO_PRICE or top.ask_cc == NO_PRICE:
        return math.nan
    qb, qa = top.bid_size_centi, top.ask_size_centi
    return (qb - qa) / (qb + qa)


class OfiParams(NamedTuple):
    """Attributes: windows_s: OFI windows in seconds, e.g. ``(10, 30, 60)``."""

    windows_s: tuple[float, ...] = (10.0, 30.0, 60.0)


class OfiState(NamedTuple):
    """Online state.

    Attributes:
        log: rolling log of the cumulative OFI ``sum e_n``.
        last: the last top absorbed (None before any).
        before: the last top absorbed with a time before ``last.t_ns`` (the top in force
            just before ``last``'s time; None when there is none).
    """

    log: RollingLog
    last: TopOfBook | None
    before: TopOfBook | None


class OfiInfo(NamedTuple):
    """The features read at ``t_ns`` from the tops strictly before it.

    Attributes:
        t_ns: read time (a top change's own time for its update: its left limit).
        ofi: ``OFI(t; W)`` per window (centi-contracts).
        queue_imbalance: of the top in force just before ``t_ns`` (NaN: missing side).
        in_order: False when the event or read came before the last top's time (clamped).
    """

    t_ns: int
    ofi: tuple[int, ...]
    queue_imbalance: float
    in_order: bool


class TopArrays(NamedTuple):
    """Tops stacked over ``N`` events (the batch twin's input); fields as :class:`TopOfBook`."""

    t_ns: Int[np.ndarray, " N"]
    bid_cc: Int[np.ndarray, " N"]
    bid_size_centi: Int[np.ndarray, " N"]
    ask_cc: Int[np.ndarray, " N"]
    ask_size_centi: Int[np.ndarray, " N"]


class OfiBatch(NamedTuple):
    """:class:`OfiInfo` stacked over ``Q`` reads and ``W`` windows."""

    t_ns: Int[np.ndarray, " Q"]
    ofi: Int[np.ndarray, "Q W"]
    queue_imbalance: Float[np.ndarray, " Q"]
    in_order: Bool[np.ndarray, " Q"]


def ofi(params: OfiParams) -> StepAlgorithm[OfiState, OfiInfo]:
    """OFI and queue imbalance of one market as a step.

    ``update(state, obs)`` takes a :class:`TopOfBook` (absorbed; the info is read at its time,
    excluding it) or a :class:`~kbayes.market.events.Tick` (a read; the state is unchanged).

    Raises:
        ValueError: naming the bad window (and, on update, the bad top-of-book field).
        TypeError: on update, an obs of another type (a wiring error, not a read).
    """
    windows = check_windows("windows_s", params.windows_s)
    horizon = max(windows)

    def read(state: OfiState, t_ns: int) -> OfiInfo:
        log, last = state.log, state.last
        in_order = last is None or t_ns >= last.t_ns
        t = t_ns if in_order else last.t_ns
        now = log_before(log, t)[0]
        top = last if last is not None and last.t_ns < t else state.before
        return OfiInfo(
            t_ns=t,
            ofi=tuple(now - log_before(log, t - w)[0] for w in windows),
            queue_imbalance=queue_imbalance(top),
            in_order=in_order,
        )

    def init(key: Any = None) -> OfiState:
        del key  # deterministic
        return OfiState(log=empty_log(1), last=None, before=None)

    def update(state: OfiState, obs: Any, key: Any = None) -> tuple[OfiState, OfiInfo]:
        del key
        kind = type(obs)
        if kind is Tick:
            return state, read(state, obs.ts_ns)
        if kind is not TopOfBook:
            raise TypeError(f"ofi update takes a TopOfBook or a Tick, got {kind.__name__}")
        check_top(obs)
        info = read(state, obs.t_ns)
        last = state.last
        if info.t_ns != obs.t_ns:  # out of order: absorbed at the last time
            obs = obs._replace(t_ns=info.t_ns)
        e = 0 if last is None else ofi_increment(last, obs)
        before = state.before if last is None or last.t_ns == obs.t_ns else last
        log = log_append(state.log, obs.t_ns, (e,), horizon)
        return OfiState(log=log, last=obs, before=before), info

    return StepAlgorithm(init=init, update=update)


def top_arrays(tops: Sequence[TopOfBook]) -> TopArrays:
    """Stack tops into :class:`TopArrays` (validating each)."""
    for top in tops:
        check_top(top)
    cols = list(zip(*tops, strict=True)) if tops else [()] * 5
    return TopArrays(*(np.array(c, np.int64) for c in cols))


def ofi_increments(tops: TopArrays) -> Int[np.ndarray, " N"]:
    """``e_n`` for every top, vectorised (``e_0 = 0``)."""
    pb = np.asarray(tops.bid_cc, np.int64)
    pa = np.where(tops.ask_cc == NO_PRICE, _ASK_INF, tops.ask_cc)
    qb, qa = np.asarray(tops.bid_size_centi), np.asarray(tops.ask_size_centi)
    e = np.zeros(len(pb), np.int64)
    e[1:] = (
        np.where(pb[1:] >= pb[:-1], qb[1:], 0)
        - np.where(pb[1:] <= pb[:-1], qb[:-1], 0)
        - np.where(pa[1:] <= pa[:-1], qa[1:], 0)
        + np.where(pa[1:] >= pa[:-1], qa[:-1], 0)
    )
    return e


def ofi_batch(params: OfiParams, tops: TopArrays, query_ns: Int[np.ndarray, " Q"]) -> OfiBatch:
    """The batch twin: OFI and queue imbalance read at each ``query_ns`` from all tops.

    Equals the online fold for reads made after absorbing every top with ``t_n < query``
    (out-of-order tops clamped to the running maximum time, as online).
    """
    windows = check_windows("windows_s", params.windows_s)
    times = np.maximum.accumulate(np.asarray(tops.t_ns, np.int64))
    q = np.asarray(query_ns, np.int64)
    e = ofi_increments(tops)
    idx = np.searchsorted(times, q, side="left") - 1  # the top in force just before q
    ok = idx >= 0
    j = np.where(ok, idx, 0)
    qb = np.asarray(tops.bid_size_centi, np.float64)[j]
    qa = np.asarray(tops.ask_size_centi, np.float64)[j]
    two_sided = ok & (tops.bid_cc[j] != NO_PRICE) & (tops.ask_cc[j] != NO_PRICE)
    with np.errstate(invalid="ignore", divide="ignore"):
        qi = np.where(two_sided, (qb - qa) / (qb + qa), np.nan)
    return OfiBatch(
        t_ns=q,
        ofi=searchsorted_window_sums(times, e, q, windows),
        queue_imbalance=qi,
        in_order=np.ones(len(q), bool),
    )


def stack_infos(infos: Sequence[OfiInfo]) -> OfiBatch:
    """Online infos stacked as an :class:`OfiBatch`."""
    return OfiBatch(
        t_ns=np.array([i.t_ns for i in infos], np.int64),
        ofi=np.array([i.ofi for i in infos], np.int64),
        queue_imbalance=np.array([i.queue_imbalance for i in infos], np.float64),
        in_order=np.array([i.in_order for i in infos], bool),
    )
