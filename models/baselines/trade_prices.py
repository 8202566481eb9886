"""Market baselines: each bracket's last trade or VWAP before ``t``, normalised over the ladder.

* ``market_last``: the last trade price ``c_k`` strictly before ``t`` (``floor`` if none);
* ``market_vwap30``: the volume-weighted price of the trades in ``[t - w, t)``, falling back
  to the last trade before the window (``floor`` if none).

Both are floored and normalised, ``p_k = max(c_k, floor) / sum_j max(c_j, floor)``
(:func:`normalized_last_trade`). Trades stamped at ``t`` itself are excluded (DESIGN 4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kbayes.experiment.config import DecisionTime
from kbayes.experiment.data import EventDay
from models.baselines.forecasts import Key


def decision_grid(
    events: Sequence[EventDay], decision_times: Sequence[DecisionTime]
) -> pd.DataFrame:
    """One row per (event, bracket, decision time) with the decision instant ``t`` (UTC)."""
    rows = []
    for e in events:
        for d in decision_times:
            t = pd.Timestamp(d.instant(e.city, e.date))
            for k, ticker in enumerate(e.ladder.tickers):
                rows.append((e.event_ticker, d.label, k, ticker, t))
    df = pd.DataFrame(rows, columns=["event_ticker", "decision_time", "k", "ticker", "t"])
    df["t"] = df["t"].astype("datetime64[us, UTC]")
    return df


def market_prices(
    grid: pd.DataFrame, trades: pd.DataFrame, window_minutes: int | None, floor_cc: int
) -> pd.Series:
    """Per grid row: last trade before ``t`` or VWAP over ``[t - window, t)``, in cc."""
    if trades.empty:
        return pd.Series(float(floor_cc), index=grid.index)
    cols = ["ticker", "ts", "yes_price_cc", "count_centi"]
    tr = trades[[*cols, "trade_id"]].copy() if "trade_id" in trades else trades[cols].copy()
    tr["ts"] = tr["ts"].astype("datetime64[us, UTC]")
    # Prints sharing a timestamp are ordered by trade_id so "last trade" is reproducible.
    tr = tr.sort_values(["ts", "trade_id"] if "trade_id" in tr else ["ts"], kind="mergesort")
    tr["pv"] = tr["yes_price_cc"].astype(float) * tr["count_centi"].astype(float)
    tr["cum_pv"] = tr.groupby("ticker")["pv"].cumsum()
    tr["cum_v"] = tr.groupby("ticker")["count_centi"].cumsum().astype(float)
    q = grid[["ticker", "t"]].copy()
    q["_row"] = np.arange(len(q))
    q = q.sort_values("t", kind="mergesort")
    # allow_exact_matches=False: a trade stamped at t is not known at t.
    at_t = pd.merge_asof(q, tr, left_on="t", right_on="ts", by="ticker", allow_exact_matches=False)
    last = at_t["yes_price_cc"].astype(float)
    if window_minutes is None:
        price = last
    else:
        q0 = q.assign(t=q["t"] - pd.Timedelta(minutes=window_minutes))
        at_0 = pd.merge_asof(
            q0, tr, left_on="t", right_on="ts", by="ticker", allow_exact_matches=False
        )
        # Volume and price x volume inside the window as differences of running sums.
        dv = at_t["cum_v"].fillna(0.0).to_numpy() - at_0["cum_v"].fillna(0.0).to_numpy()
        dpv = at_t["cum_pv"].fillna(0.0).to_numpy() - at_0["cum_pv"].fillna(0.0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(dv > 0, dpv / np.where(dv > 0, dv, 1.0), np.nan)
        price = pd.Series(vwap, index=at_t.index).fillna(last)
    price = price.fillna(float(floor_cc)).clip(lower=float(floor_cc))
    out = pd.Series(price.to_numpy(), index=at_t["_row"].to_numpy()).sort_index()
    return pd.Series(out.to_numpy(), index=grid.index)


def normalized_last_trade(prices: np.ndarray, floor: float = 0.01) -> np.ndarray:
    """Prices (any unit, ``NaN`` = never traded) floored at ``floor`` and normalised (last axis)."""
    p = np.asarray(prices, dtype=float)
    p = np.where(np.isfinite(p), p, floor)
    p = np.maximum(p, floor)
    return p / p.sum(axis=-1, keepdims=True)


def market_pmfs(grid: pd.DataFrame, price: pd.Series, floor_cc: int) -> dict[Key, np.ndarray]:
    """Per (event, decision time): the grid's prices normalised over the ladder."""
    g = grid.assign(price=price.to_numpy()).sort_values(["event_ticker", "decision_time", "k"])
    out = {}
    for (ev, d), sub in g.groupby(["event_ticker", "decision_time"], sort=False):
        out[(ev, d)] = normalized_last_trade(sub["price"].to_numpy(dtype=float), float(floor_cc))
    return out
