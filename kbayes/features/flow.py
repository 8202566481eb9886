"""Aggressive order flow of one market over rolling windows, from its trade prints.

A Kalshi print carries the taker's side: ``taker_side = "yes"`` is an aggressive buy of YES
(the taker lifted the YES ask), ``"no"`` an aggressive buy of NO, i.e. an aggressive sell of
YES (the taker hit the YES bid) (:mod:`models.flow_hawkes.dims`). Read at time ``t``, a window
of length ``W`` covers the half-open interval ``[t - W, t)``:

    n_buy(t; W)        = #{k : t - W <= t_k < t, side_k = buy}
    buy_centi(t; W)    = sum_{k in window, buy} q_k                     (centi-contracts)
    buy_notional(t; W) = sum_{k in window, buy} p_k q_k                 (cc x centi-contracts)

and the same for sells; ``volume(t; V) = sum_{t - V <= t_k < t} q_k`` over the (longer)
volume windows. The window is **strictly causal**: a trade at exactly ``t`` is *not* in the
window read at ``t`` (the clock's rule that a decision at ``t`` sees the events before ``t``;
it also keeps a sweep's prints, which share a timestamp, out of each other's window). Times are
the prints' exchange times ``ts_ns``. Notional is exact: ``p_k q_k`` in centi-cents times
centi-contracts (divide by 100 for centi-cents; fractional contracts make that division inexact,
so it is left to the reader). Notional is valued at the YES price for both sides.

Everything is integer arithmetic on Python ints, so the online fold and the batch twin agree
exactly. The online state keeps a log of cumulative sums ``C(t_k)`` over the last ``max(W)``
(:class:`RollingLog`): a window sum is ``C(t-) - C((t - W)-)``, two binary searches, and an
update appends one row and drops the rows older than the longest window (cost O(rows kept)
for the tuple copy, a memcpy; the state stays an immutable value). The batch twin is
``np.searchsorted`` on cumulative sums of the whole tape.

Prints must arrive in non-decreasing ``ts_ns``; an earlier one is applied as if it arrived at
the last time and flagged (``in_order = False``), as the online Hawkes intensity does
(:mod:`kbayes.pointprocess.online`). A read (a :class:`~kbayes.market.events.Tick`) before the
last print time is likewise read at that time and flagged.
"""

from __future__ import annotations

import numbers
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from jaxtyping import Bool, Int

from kbayes.market.events import NS_PER_S, Tick, TradePrint
from kbayes.step import StepAlgorithm

BUY = "yes"
SELL = "no"


# -- the rolling log of cumulative sums (shared with the OFI feature) -------------------------


class RollingLog(NamedTuple):
    """Cumulative sums of event quantities over a trailing horizon (an immutable value).

    Attributes:
        rows: ``((t_ns, c_1, ..., c_Q), ...)`` in time order: each event's time and the
            cumulative sums *including* it.
        base: ``(c_1, ..., c_Q)`` cumulative sums before ``rows[0]`` (rows dropped so far).
        t_last: time of the last event (``-1`` before any).
    """

    rows: tuple[tuple[int, ...], ...]
    base: tuple[int, ...]
    t_last: int


def empty_log(num_quantities: int) -> RollingLog:
    """A log with no events."""
    return RollingLog(rows=(), base=(0,) * num_quantities, t_last=-1)


def log_totals(log: RollingLog) -> tuple[int, ...]:
    """Cumulative sums over every event absorbed."""
    return log.rows[-1][1:] if log.rows else log.base


def log_append(
    log: RollingLog, t_ns: int, increments: Sequence[int], horizon_ns: int
) -> RollingLog:
    """Absorb one event at ``t_ns >= log.t_last``, keeping the rows with ``t >= t_ns - horizon``.

    Reads at ``t >= t_ns`` with windows ``<= horizon_ns`` only need those rows: a dropped row
    has ``t_k < t_ns - horizon <= t - W``, so it counts in both ``C(t-)`` and ``C((t-W)-)``.
    """
    totals = log_totals(log)
    row = (t_ns, *(c + d for c, d in zip(totals, increments, strict=True)))
    rows = log.rows
    cut = bisect_left(rows, (t_ns - horizon_ns,))
    if cut:
        return RollingLog(rows=(*rows[cut:], row), base=rows[cut - 1][1:], t_last=t_ns)
    return RollingLog(rows=(*rows, row), base=log.base, t_last=t_ns)


def log_before(log: RollingLog, t_ns: int) -> tuple[int, ...]:
    """Cumulative sums of the events with ``t_k < t_ns`` (strictly before)."""
    # (t,) sorts before every row (t, ...): bisect_left finds the first row with t_k >= t
    i = bisect_left(log.rows, (t_ns,))
    return log.rows[i - 1][1:] if i else log.base


def check_windows(name: str, windows_s: Sequence[float]) -> tuple[int, ...]:
    """Windows in seconds -> positive integer ns, or ValueError naming ``name`` and the value."""
    values = tuple(windows_s)
    if not values:
        raise ValueError(f"{name} = {values!r}: need at least one window")
    out = []
    for i, w in enumerate(values):
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w) or w <= 0:
            raise ValueError(f"{name}[{i}] = {w!r}: a window must be a positive number of seconds")
        ns = round(w * NS_PER_S)
        if ns <= 0:
            raise ValueError(f"{name}[{i}] = {w!r}: shorter than 1 ns")
        out.append(ns)
    return tuple(out)


def searchsorted_window_sums(
    times: Int[np.ndarray, " N"],
    values: Int[np.ndarray, " N"],
    query_ns: Int[np.ndarray, " Q"],
    windows_ns: Sequence[int],
) -> Int[np.ndarray, "Q W"]:
    """Batch ``sum_{t - W <= t_k < t} v_k`` for every query ``t`` and window (exact int64)."""
    cum = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
    now = cum[np.searchsorted(times, query_ns, side="left")]
    cols = [now - cum[np.searchsorted(times, query_ns - w, side="left")] for w in windows_ns]
    return np.stack(cols, axis=-1) if cols else np.zeros((len(query_ns), 0), np.int64)


# -- the flow feature -------------------------------------------------------------------------


class FlowParams(NamedTuple):
    """Windows of the flow feature.

    Attributes:
        windows_s: windows (seconds) of the buy/sell counts and notional, e.g. ``(5, 15, 60)``.
        volume_windows_s: windows (seconds) of the total volume, e.g. ``(600, 1200)``.
    """

    windows_s: tuple[float, ...] = (5.0, 15.0, 30.0, 60.0)
    volume_windows_s: tuple[float, ...] = (600.0, 1200.0)


class FlowState(NamedTuple):
    """Online state: the rolling log of ``(n_buy, n_sell, buy_centi, sell_centi,
    buy_notional, sell_notional)`` cumulative sums."""

    log: RollingLog


class FlowInfo(NamedTuple):
    """The flow read at ``t_ns`` (events strictly before it); tuples run over the windows.

    Attributes:
        t_ns: the read time (the event time for a print: its left limit).
        n_buy, n_sell: aggressive buy / sell prints per window.
        buy_centi, sell_centi: contracts bought / sold aggressively per window (centi).
        buy_notional, sell_notional: ``sum p q`` per window (cc x centi-contracts).
        volume_centi: contracts traded per volume window (centi).
        in_order: False when the print or read came before the last print time.
    """

    t_ns: int
    n_buy: tuple[int, ...]
    n_sell: tuple[int, ...]
    buy_centi: tuple[int, ...]
    sell_centi: tuple[int, ...]
    buy_notional: tuple[int, ...]
    sell_notional: tuple[int, ...]
    volume_centi: tuple[int, ...]
    in_order: bool


class FlowBatch(NamedTuple):
    """:class:`FlowInfo` stacked over ``Q`` reads (``W`` windows, ``V`` volume windows)."""

    t_ns: Int[np.ndarray, " Q"]
    n_buy: Int[np.ndarray, "Q W"]
    n_sell: Int[np.ndarray, "Q W"]
    buy_centi: Int[np.ndarray, "Q W"]
    sell_centi: Int[np.ndarray, "Q W"]
    buy_notional: Int[np.ndarray, "Q W"]
    sell_notional: Int[np.ndarray, "Q W"]
    volume_centi: Int[np.ndarray, "Q V"]
    in_order: Bool[np.ndarray, " Q"]


class TradeArrays(NamedTuple):
    """A tape of one market's prints as arrays (the batch twin's input).

    Attributes:
        t_ns: exchange times (non-decreasing, or flagged and clamped as online).
        yes_price_cc: YES price of each print.
        count_centi: size (positive).
        buy: True for ``taker_side = "yes"``.
    """

    t_ns: Int[np.ndarray, " N"]
    yes_price_cc: Int[np.ndarray, " N"]
    count_centi: Int[np.ndarray, " N"]
    buy: Bool[np.ndarray, " N"]


_N_BUY, _N_SELL, _BUY_C, _SELL_C, _BUY_N, _SELL_N = range(6)


def _check_params(params: FlowParams) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return (
        check_windows("windows_s", params.windows_s),
        check_windows("volume_windows_s", params.volume_windows_s),
    )


def trade_increments(trade: TradePrint) -> tuple[int, int, int, int, int, int]:
    """One print's ``(n_buy, n_sell, buy_centi, sell_centi, buy_notional, sell_notional)``.

    Raises:
        ValueError: on a side that is neither ``"yes"`` nor ``"no"`` or a non-positive count.
    """
    q = trade.count_centi
    if q <= 0:
        raise ValueError(f"count_centi = {q!r} must be positive ({trade.ticker})")
    notional = trade.yes_price_cc * q
    side = trade.taker_side
    if side == BUY:
        return (1, 0, q, 0, notional, 0)
    if side == SELL:
        return (0, 1, 0, q, 0, notional)
    raise ValueError(f"taker_side = {side!r}: expected 'yes' (buy) or 'no' (sell)")


def flow(params: FlowParams) -> StepAlgorithm[FlowState, FlowInfo]:
    """Rolling aggressive flow of one market as a step.

    ``update(state, obs)`` takes a :class:`~kbayes.market.events.TradePrint` (absorbed; the
    info is the flow at its time, *excluding* it) or a :class:`~kbayes.market.events.Tick`
    (a read, the state is unchanged).

    Raises:
        ValueError: naming the bad window; on update, a bad print.
        TypeError: on update, an obs of another type (a wiring error, not a read).
    """
    windows, vol_windows = _check_params(params)
    horizon = max(*windows, *vol_windows)

    def read(state: FlowState, t_ns: int) -> FlowInfo:
        log = state.log
        in_order = t_ns >= log.t_last
        t = t_ns if in_order else log.t_last
        a = log_before(log, t)
        win = []
        for w in windows:  # explicit tuples: a zip-generator per window costs 4x more
            b = log_before(log, t - w)
            win.append(
                (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4], a[5] - b[5])
            )
        n_buy, n_sell, buy_c, sell_c, buy_n, sell_n = zip(*win, strict=True)
        vol = a[_BUY_C] + a[_SELL_C]
        volume = []
        for w in vol_windows:
            b = log_before(log, t - w)
            volume.append(vol - b[_BUY_C] - b[_SELL_C])
        return FlowInfo(
            t, n_buy, n_sell, buy_c, sell_c, buy_n, sell_n, tuple(volume), in_order=in_order
        )

    def init(key: Any = None) -> FlowState:
        del key  # deterministic
        return FlowState(log=empty_log(6))

    def update(state: FlowState, obs: Any, key: Any = None) -> tuple[FlowState, FlowInfo]:
        del key
        kind = type(obs)
        if kind is not TradePrint and kind is not Tick:
            raise TypeError(f"flow update takes a TradePrint or a Tick, got {kind.__name__}")
        info = read(state, obs.ts_ns)
        if kind is TradePrint:
            inc = trade_increments(obs)
            state = FlowState(log=log_append(state.log, info.t_ns, inc, horizon))
        return state, info

    return StepAlgorithm(init=init, update=update)


def trade_arrays(trades: Sequence[TradePrint]) -> TradeArrays:
    """Stack prints into :class:`TradeArrays` (validating sides and counts)."""
    inc = [trade_increments(tr) for tr in trades]
    return TradeArrays(
        t_ns=np.array([tr.ts_ns for tr in trades], np.int64),
        yes_price_cc=np.array([tr.yes_price_cc for tr in trades], np.int64),
        count_centi=np.array([tr.count_centi for tr in trades], np.int64),
        buy=np.array([i[_N_BUY] == 1 for i in inc], bool),
    )


def flow_batch(
    params: FlowParams, trades: TradeArrays, query_ns: Int[np.ndarray, " Q"]
) -> FlowBatch:
    """The batch twin: the flow read at each ``query_ns`` from the whole tape at once.

    Equals the online fold for a read at ``query_ns[i]`` made after absorbing every print with
    ``t_k < query_ns[i]`` (a read at a print's time: its update's info). Out-of-order prints
    are clamped to the running maximum time, as online; a query before the clamped time of the
    prints absorbed before it cannot be told apart here and is flagged only online.
    """
    windows, vol_windows = _check_params(params)
    times = np.maximum.accumulate(np.asarray(trades.t_ns, np.int64))
    q = np.asarray(query_ns, np.int64)
    qty = np.asarray(trades.count_centi, np.int64)
    if (bad := np.flatnonzero(qty <= 0)).size:
        raise ValueError(f"count_centi[{bad[0]}] = {qty[bad[0]]} must be positive")
    buy = np.asarray(trades.buy, bool)
    notional = np.asarray(trades.yes_price_cc, np.int64) * qty

    def sums(v: np.ndarray, ws: tuple[int, ...]) -> np.ndarray:
        return searchsorted_window_sums(times, v, q, ws)

    zero = np.zeros_like(qty)
    return FlowBatch(
        t_ns=q,
        n_buy=sums(buy.astype(np.int64), windows),
        n_sell=sums((~buy).astype(np.int64), windows),
        buy_centi=sums(np.where(buy, qty, zero), windows),
        sell_centi=sums(np.where(buy, zero, qty), windows),
        buy_notional=sums(np.where(buy, notional, zero), windows),
        sell_notional=sums(np.where(buy, zero, notional), windows),
        volume_centi=sums(qty, vol_windows),
        in_order=np.ones(len(q), bool),
    )


def stack_infos(infos: Sequence[FlowInfo]) -> FlowBatch:
    """Online infos stacked as a :class:`FlowBatch` (to compare with :func:`flow_batch`)."""
    cols = list(zip(*infos, strict=True))
    return FlowBatch(*(np.array(c, dtype=bool if i == 8 else np.int64) for i, c in enumerate(cols)))
