"""Close-location value (CLV) of each bracket's latest trade candle: an event feature.

Where the bar closed inside its range (the "close location value" of the accumulation /
distribution line, Chaikin; see e.g. Achelis, "Technical Analysis from A to Z", 2000):

    CLV = ((close - low) - (high - close)) / (high - low) = (2 close - high - low) / (high - low)

in ``[-1, 1]``: +1 closed at the high (buyers had the last word), -1 at the low, and 0 when
``high == low`` (a one-price bar carries no location; defined 0 rather than 0/0). The prices
are integer centi-cents, so the numerator and denominator are exact integers and the one
division is correctly rounded, in Python and NumPy alike: fold and batch agree bit for bit.

Updated on each :class:`kbayes.market.events.Candle` of a ladder bracket and read at tick times
from the state (``state.clv``, the latest CLV per bracket; NaN before the bracket's first
candle). A bar without trades (all of open/high/low/close ``None``) sets the bracket's CLV to
NaN: the latest bar says nothing, and an older bar's location is not carried as if current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int

from kbayes.market.events import Candle
from kbayes.step import StepAlgorithm


class CandleState(NamedTuple):
    """Per bracket.

    Attributes:
        clv: CLV of the bracket's latest candle (NaN: none yet, or a bar without trades).
        ts_ns: end time of that candle (-1: none yet).
    """

    clv: Float[np.ndarray, " K"]
    ts_ns: Int[np.ndarray, " K"]


class CandleInfo(NamedTuple):
    """What one candle reports (the batch twin stacks a leading ``N`` axis).

    Attributes:
        bracket: index of the candle's bracket in the ladder.
        clv: its CLV (NaN for a bar without trades).
        ladder: ``(K,)`` the state's CLV of every bracket after this candle.
    """

    bracket: int | Int[np.ndarray, " N"]
    clv: float | Float[np.ndarray, " N"]
    ladder: Float[np.ndarray, "*N K"]


class CandleBatch(NamedTuple):
    """Candles stacked over ``N`` events (time order); prices as floats, NaN for ``None``.

    Attributes:
        ts_ns: end time of each candle.
        ticker: market ticker of each candle.
        high_cc, low_cc, close_cc: prices in cc (exact integers as floats, NaN: no trades).
    """

    ts_ns: Int[np.ndarray, " N"]
    ticker: Sequence[str]
    high_cc: Float[np.ndarray, " N"]
    low_cc: Float[np.ndarray, " N"]
    close_cc: Float[np.ndarray, " N"]


def stack_candles(candles: Sequence[Candle]) -> CandleBatch:
    """``Candle`` events -> :class:`CandleBatch` (the batch twin's input)."""

    def col(name: str) -> np.ndarray:
        vals = [getattr(c, name) for c in candles]
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64)

    return CandleBatch(
        ts_ns=np.array([c.ts_ns for c in candles], dtype=np.int64),
        ticker=[c.ticker for c in candles],
        high_cc=col("high_cc"),
        low_cc=col("low_cc"),
        close_cc=col("close_cc"),
    )


def _ladder_index(tickers: Sequence[str]) -> dict[str, int]:
    index = {str(t): j for j, t in enumerate(tickers)}
    if not index:
        raise ValueError("tickers=(): need at least one bracket")
    if len(index) != len(tickers):
        raise ValueError(f"tickers={tuple(tickers)!r}: duplicates")
    return index


def _bracket(index: dict[str, int], ticker: str) -> int:
    j = index.get(ticker)
    if j is None:
        raise ValueError(f"ticker={ticker!r}: not a bracket of this ladder {tuple(index)}")
    return j


def clv(high_cc: int, low_cc: int, close_cc: int) -> float:
    """``(2 close - high - low) / (high - low)``, 0 when ``high == low``; checks the bar."""
    if low_cc > high_cc:
        raise ValueError(f"low_cc={low_cc}: above high_cc={high_cc}")
    if not low_cc <= close_cc <= high_cc:
        raise ValueError(f"close_cc={close_cc}: outside [low_cc={low_cc}, high_cc={high_cc}]")
    den = high_cc - low_cc
    return (2 * close_cc - high_cc - low_cc) / den if den else 0.0


def candle_location(tickers: Sequence[str]) -> StepAlgorithm[CandleState, CandleInfo]:
    """Bind the ladder: the online CLV step, one ``update`` per ``Candle`` of its brackets.

    Args:
        tickers: the ``K`` market tickers in ladder order (their index is the bracket).

    Returns:
        ``StepAlgorithm(init, update)``; ``update(state, Candle, key=None)``.

    Raises:
        ValueError: for an empty or duplicated ladder; at update time for a ticker outside the
            ladder, a bar with some but not all prices ``None``, ``low > high``, a close
            outside ``[low, high]``, or a candle not after the bracket's previous one.
    """
    index = _ladder_index(tickers)
    K = len(index)

    def init(key: object = None) -> CandleState:
        return CandleState(clv=np.full(K, np.nan), ts_ns=np.full(K, -1, dtype=np.int64))

    def update(
        state: CandleState, obs: Candle, key: object = None
    ) -> tuple[CandleState, CandleInfo]:
        j = _bracket(index, obs.ticker)
        if obs.ts_ns <= state.ts_ns[j]:
            raise ValueError(
                f"ts_ns={obs.ts_ns}: {obs.ticker} candle not after its previous one "
                f"(ts_ns={int(state.ts_ns[j])})"
            )
        prices = (obs.open_cc, obs.high_cc, obs.low_cc, obs.close_cc)
        if all(p is None for p in prices):
            value = float("nan")
        elif any(p is None for p in prices):
            raise ValueError(f"{obs.ticker} candle at ts_ns={obs.ts_ns}: partial OHLC {prices}")
        else:
            value = clv(obs.high_cc, obs.low_cc, obs.close_cc)  # type: ignore[arg-type]
        new_clv = state.clv.copy()
        new_clv[j] = value
        new_ts = state.ts_ns.copy()
        new_ts[j] = obs.ts_ns
        return CandleState(new_clv, new_ts), CandleInfo(bracket=j, clv=value, ladder=new_clv)

    return StepAlgorithm(init=init, update=update)


def candle_location_batch(tickers: Sequence[str], obs: CandleBatch) -> CandleInfo:
    """The fold of :func:`candle_location` over ``N`` candles, vectorised.

    Returns:
        :class:`CandleInfo` with ``bracket (N,)``, ``clv (N,)`` and the state's ``ladder
        (N, K)`` (each bracket's latest CLV, forward filled), bit-equal to the fold.
    """
    index = _ladder_index(tickers)
    K = len(index)
    j = np.array([_bracket(index, t) for t in obs.ticker], dtype=np.int64)
    N = j.size
    h, lo, c = (np.asarray(a, dtype=np.float64) for a in (obs.high_cc, obs.low_cc, obs.close_cc))
    ts = np.asarray(obs.ts_ns, dtype=np.int64)
    if not (h.shape == lo.shape == c.shape == ts.shape == (N,)):
        raise ValueError(f"candle fields must all be ({N},)")
    missing = np.isnan(h) | np.isnan(lo) | np.isnan(c)
    if np.any(missing & ~(np.isnan(h) & np.isnan(lo) & np.isnan(c))):
        i = int(np.argmax(missing))
        raise ValueError(f"{obs.ticker[i]} candle at ts_ns={int(ts[i])}: partial OHLC")
    for bad, what in ((lo > h, "low_cc"), ((c < lo) | (c > h), "close_cc")):
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{what}={_bad_value(what, h, lo, c, i)}: outside the bar's range")
    order = np.lexsort((np.arange(N), j))  # by bracket, then arrival
    same = j[order][1:] == j[order][:-1]
    if np.any(same & (np.diff(ts[order]) <= 0)):
        i = int(order[1:][same & (np.diff(ts[order]) <= 0)][0])
        raise ValueError(f"ts_ns={int(ts[i])}: {obs.ticker[i]} candle not after its previous one")
    den = h - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, (2.0 * c - h - lo) / den, 0.0)
    value = np.where(missing, np.nan, value)
    # The state after each candle: per bracket, the value of its latest candle so far.
    rows = np.arange(N)[:, None]
    last = np.maximum.accumulate(np.where(j[:, None] == np.arange(K)[None, :], rows, -1), axis=0)
    ladder = np.where(last >= 0, value[np.maximum(last, 0)], np.nan)
    return CandleInfo(bracket=j, clv=value, ladder=ladder)


def _bad_value(what: str, h: np.ndarray, lo: np.ndarray, c: np.ndarray, i: int) -> str:
    """``"<value> (low_cc=.., high_cc=..)"`` of row ``i`` for an error message."""
    v = {"low_cc": lo, "close_cc": c}[what][i]
    return f"{int(v)} (low_cc={int(lo[i])}, high_cc={int(h[i])})"
