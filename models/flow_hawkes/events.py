"""Event sequences of taker order flow for one event-day, from the trade tape.

For one event (one city's climate day) with ladder tickers ``c_0 .. c_{K-1}`` (ordered by
temperature) the flow is the marked point process of taker orders on ``[open, close]``:
time ``t = (ts - open) / unit`` (minutes by default, so ``alpha`` is dimensionless, ``beta``
is per minute and ``mu`` is events per minute) and mark ``2 k + s`` (:mod:`.dims`).

A taker order that fills against several resting orders prints several trades with the same
timestamp, ticker and side; by default these are merged into one event (one decision by one
taker), since counting the sweep's prints as separate events would fake self-excitation at lag
zero. The window is the markets' ``[open_time, close_time]`` from the ``markets`` table when
it is known (min/max over the ladder) and otherwise the span of the event's trades; prints
outside the window are dropped and counted. The baseline is piecewise constant by local
standard time (hour-of-day bins), since order flow has a strong diurnal cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from kbayes.market.cities import city_of
from kbayes.pointprocess import BaselineGrid, EventSequence, check_events, hour_of_day_baseline
from models.flow_hawkes.dims import flow_dim, side_codes

DEFAULT_HOUR_EDGES = (0, 4, 8, 12, 16, 20, 24)


class FlowDay(NamedTuple):
    """One event-day's order flow.

    Attributes:
        event_ticker: the event.
        city: city key.
        date: climate date.
        num_brackets: ``K`` (the flow has ``2 K`` dimensions).
        events: the marked events, times in units of ``unit_seconds`` from ``start``.
        grid: hour-of-day baseline grid, phased to ``start`` in local standard time.
        start: UTC start of the window (``t = 0``).
        unit_seconds: seconds per time unit.
        n_prints: trade prints in the window before merging sweeps.
        n_dropped: prints outside the window (dropped).
    """

    event_ticker: str
    city: str
    date: dt.date
    num_brackets: int
    events: EventSequence
    grid: BaselineGrid
    start: pd.Timestamp
    unit_seconds: float
    n_prints: int
    n_dropped: int


def flow_events(
    trades: pd.DataFrame,
    tickers: Sequence[str],
    start: Any,
    end: Any,
    *,
    unit_seconds: float = 60.0,
    merge_sweeps: bool = True,
) -> tuple[EventSequence, int, int]:
    """Events of one ladder's taker flow on ``[start, end]``.

    Args:
        trades: columns ``ticker``, ``ts`` (aware UTC), ``taker_side``; other tickers ignored.
        tickers: the ladder's market tickers, in bracket order.
        start: window start (aware timestamp), ``t = 0``.
        end: window end.
        unit_seconds: seconds per time unit (60: minutes).
        merge_sweeps: merge prints with equal ``(ticker, ts, taker_side)`` into one event.

    Returns:
        ``(events, n_prints, n_dropped)``: the sequence, prints kept in the window (before
        merging), prints dropped outside it.

    Raises:
        ValueError: on a bad window or an unknown taker side.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be time-zone aware (UTC)")
    if not end > start:
        raise ValueError(f"window end {end} is not after start {start}")
    if not (np.isfinite(unit_seconds) and unit_seconds > 0):
        raise ValueError(f"unit_seconds = {unit_seconds} must be positive")
    index = {t: k for k, t in enumerate(tickers)}
    if len(index) != len(tickers):
        raise ValueError("tickers: duplicate ticker in the ladder")
    num_dims = 2 * len(tickers)
    tr = trades[trades["ticker"].isin(index)]
    ts = pd.to_datetime(tr["ts"], utc=True)
    inside = ((ts >= start) & (ts <= end)).to_numpy()
    n_dropped = int((~inside).sum())
    tr, ts = tr[inside], ts[inside]
    n_prints = len(tr)
    dims = flow_dim(tr["ticker"].map(index).to_numpy(np.int64), side_codes(tr["taker_side"]))
    ns = (ts - start).dt.as_unit("ns").to_numpy().astype("timedelta64[ns]").astype(np.int64)
    frame = pd.DataFrame({"ns": ns, "dim": dims})
    if merge_sweeps:
        frame = frame.drop_duplicates()
    frame = frame.sort_values(["ns", "dim"], kind="mergesort")
    times = frame["ns"].to_numpy(np.float64) / (1e9 * unit_seconds)
    T = (end - start).total_seconds() / unit_seconds
    events = check_events(times, frame["dim"].to_numpy(), T, num_dims)
    return events, n_prints, n_dropped


def lst_hour(city: str, ts: pd.Timestamp) -> float:
    """Local-standard-time clock hour (fractional) of an aware instant."""
    local = pd.Timestamp(ts).tz_convert(city_of(city).lst)
    return local.hour + local.minute / 60.0 + local.second / 3600.0


def load_flow_days(
    store: Any,
    events: Sequence[Any],
    *,
    unit_seconds: float = 60.0,
    hour_edges: Sequence[float] = DEFAULT_HOUR_EDGES,
    merge_sweeps: bool = True,
) -> list[FlowDay]:
    """Flow of each event (an ``EventDay``: ``event_ticker``, ``city``, ``date``, ``ladder``).

    Reads ``trades`` (distinct ``trade_id``) and the markets' open/close times from ``store``.
    Events with no trades are left out.
    """
    if not events:
        return []
    tickers = sorted({e.event_ticker for e in events})
    trades = store.query(
        "SELECT DISTINCT ON (trade_id) ticker, event_ticker, ts, taker_side FROM trades "
        "WHERE event_ticker IN (SELECT unnest(?::VARCHAR[]))",
        [tickers],
    )
    windows = store.query(
        "SELECT event_ticker, min(open_time) AS open_time, max(close_time) AS close_time "
        "FROM markets WHERE event_ticker IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [tickers],
    )
    win = {r.event_ticker: (r.open_time, r.close_time) for r in windows.itertuples(index=False)}
    by_event = {k: g for k, g in trades.groupby("event_ticker", sort=False)}
    out: list[FlowDay] = []
    for e in events:
        tr = by_event.get(e.event_ticker)
        if tr is None or tr.empty:
            continue
        ts = pd.to_datetime(tr["ts"], utc=True)
        lo, hi = win.get(e.event_ticker, (None, None))
        start = ts.min() if lo is None or pd.isna(lo) else pd.Timestamp(lo)
        end = ts.max() if hi is None or pd.isna(hi) else pd.Timestamp(hi)
        if not end > start:
            end = start + pd.Timedelta(seconds=unit_seconds)
        seq, n_prints, n_dropped = flow_events(
            tr, e.ladder.tickers, start, end, unit_seconds=unit_seconds, merge_sweeps=merge_sweeps
        )
        if len(seq.times) == 0:
            continue
        grid = hour_of_day_baseline(
            hour_edges, start_hour=lst_hour(e.city, start), seconds_per_unit=unit_seconds
        )
        out.append(
            FlowDay(
                e.event_ticker,
                e.city,
                e.date,
                len(e.ladder.tickers),
                seq,
                grid,
                pd.Timestamp(start),
                float(unit_seconds),
                n_prints,
                n_dropped,
            )
        )
    return out
