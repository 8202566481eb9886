"""Shared helpers of the simulator tests: market PMFs at decision times and scores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from kbayes.sim import SimConfig, SimResult

#: Small but complete configuration for the fast structural tests.
# spans the US DST switch (2025-03-09), so the 10:00 ET open moves by an hour in UTC
SMALL = SimConfig(
    start=dt.date(2025, 3, 7), n_days=5, cities=("NY", "CHI"), seed=7, n_prior_years=2
)


def decision_times(result: SimResult, hours: list[float]) -> pd.DataFrame:
    """``event_ticker, h, t``: instants ``h`` hours after 00:00 LST of each climate day."""
    ev = result.events[["event_ticker", "window_start"]]
    return pd.concat(
        [ev.assign(h=h, t=ev["window_start"] + pd.Timedelta(hours=h)) for h in hours],
        ignore_index=True,
    )


def mid_pmf(result: SimResult, hours: list[float]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Market PMF from mid prices normalised over each ladder, at fixed decision times.

    The top of book is the last one stamped strictly before the decision time. A missing YES
    bid counts as 0 and a missing YES ask (no NO bid) as 100 cents for the mid.

    Returns:
        ``(pmf, outcome, keys)``: ``(n, K)`` probabilities (brackets coldest first), the one-hot
        outcome and the ``event_ticker, h`` of each row.
    """
    dec = decision_times(result, hours)
    mk = result.markets[["event_ticker", "ticker", "lo_f", "result"]].copy()
    mk["order"] = mk.groupby("event_ticker")["lo_f"].rank(method="first", na_option="top")
    q = dec.merge(mk, on="event_ticker").sort_values("t")
    top = result.book_top.sort_values("ts")[["ts", "ticker", "yes_bid_cc", "no_bid_cc"]]
    m = pd.merge_asof(q, top, left_on="t", right_on="ts", by="ticker", allow_exact_matches=False)
    bid = m["yes_bid_cc"].astype("Float64").fillna(0).to_numpy(float)
    ask = (10_000 - m["no_bid_cc"].astype("Float64")).fillna(10_000).to_numpy(float)
    m["mid"] = (bid + ask) / 2
    m["y"] = (m["result"] == "yes").astype(float)
    m = m.sort_values(["event_ticker", "h", "order"])
    k = int(mk.groupby("event_ticker").size().iloc[0])
    mid = m["mid"].to_numpy().reshape(-1, k)
    y = m["y"].to_numpy().reshape(-1, k)
    keys = m[["event_ticker", "h"]].iloc[::k].reset_index(drop=True)
    return mid / mid.sum(axis=1, keepdims=True), y, keys


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over all (row, bracket) binary events, equal-width bins."""
    p, y = np.ravel(p), np.ravel(y)
    b = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        s = b == k
        if s.any():
            total += s.mean() * abs(p[s].mean() - y[s].mean())
    return total


def log_loss(p: np.ndarray, y: np.ndarray, floor: float = 1e-4) -> float:
    """Mean categorical log loss of the realised bracket."""
    return float(-np.mean(np.log(np.maximum((p * y).sum(axis=1), floor))))


def climatology_pmf(result: SimResult, keys: pd.DataFrame, window_days: int = 15) -> np.ndarray:
    """Bracket PMF from earlier years' official highs within ``±window_days`` of the date."""
    oh = result.official_highs.copy()
    oh["date"] = pd.to_datetime(oh["date"])
    mk = result.markets.copy()
    mk["order"] = mk.groupby("event_ticker")["lo_f"].rank(method="first", na_option="top")
    mk = mk.sort_values(["event_ticker", "order"])
    by_event = {}
    for e, g in mk.groupby("event_ticker"):
        day = pd.Timestamp(g["climate_date"].iloc[0])
        hist = oh[(oh["city"] == g["city"].iloc[0]) & (oh["date"].dt.year < day.year)]
        gap = ((hist["date"].dt.day_of_year - day.day_of_year + 182) % 365) - 182
        vals = hist.loc[gap.abs() <= window_days, "tmax_f"].to_numpy(float)
        lo = g["lo_f"].astype("Float64").fillna(-1e9).to_numpy(float)
        hi = g["hi_f"].astype("Float64").fillna(1e9).to_numpy(float)
        counts = ((vals[None, :] >= lo[:, None]) & (vals[None, :] <= hi[:, None])).sum(axis=1)
        counts = counts + 0.5  # Jeffreys smoothing: no bracket gets probability 0
        by_event[e] = counts / counts.sum()
    return np.array([by_event[e] for e in keys["event_ticker"]])
