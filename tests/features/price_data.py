"""Mid ladders for the price-feature tests: simulator book tops and one real event's.

* :func:`sim_mids`: one simulated NY day (``kbayes.sim``), its book tops put on a grid;
* :func:`real_mids`: the real Jetpackjules WebSocket best bid/ask log of KXHIGHNY-25DEC20
  (all 6 brackets), imported by the project importer into a throwaway store, on a grid;
* :func:`sim_candles` / :func:`real_candles`: one event's 5-minute trade candles (simulated /
  real Jetpackjules), as ``Candle`` events.

The grid mid of a bracket at tick ``t`` is the mid of its last top of book at or before ``t``
(``(yes_bid + (1 - no_bid)) / 2`` in cc), NaN where a side is empty or before its first top.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from kbayes.features.kinematics import GridObsBatch
from kbayes.market.bracket import brackets_from_tickers
from kbayes.market.events import Candle
from kbayes.market.prices import CC_PER_DOLLAR

REAL_BBO = "kalshi/jetpackjules_nyc_bbo/market_data_KXHIGHNY-25DEC20.csv.xz"
REAL_CANDLES = "kalshi/jetpackjules_nyc_bbo/KXHIGHNY_candles_5m.csv.xz"
REAL_CANDLE_EVENT = "KXHIGHNY-25JUL17"


def ladder_order(tickers: list[str]) -> list[str]:
    """The tickers from the coldest bracket to the warmest."""
    brackets = brackets_from_tickers(list(tickers))
    key = {b.ticker: (b.lo if b.lo is not None else -1e9) for b in brackets}
    return sorted(tickers, key=key.__getitem__)


def grid_mids(book_top: pd.DataFrame, step_s: int) -> tuple[GridObsBatch, list[str]]:
    """Book tops of one event -> the mid ladder on a regular ``step_s`` grid."""
    tickers = ladder_order(sorted(book_top.ticker.unique()))
    df = book_top.sort_values("ts", kind="stable")
    t_ns = df.ts.astype("datetime64[ns, UTC]").astype("int64").to_numpy()
    bid = df.yes_bid_cc.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ask = CC_PER_DOLLAR - df.no_bid_cc.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    mid = (bid + ask) / 2.0
    step = step_s * 1_000_000_000
    grid = np.arange((t_ns[0] // step + 1) * step, t_ns[-1] + 1, step, dtype=np.int64)
    out = np.full((grid.size, len(tickers)), np.nan)
    tick = df.ticker.to_numpy()
    for j, name in enumerate(tickers):
        sel = tick == name
        pos = np.searchsorted(t_ns[sel], grid, side="right") - 1
        out[:, j] = np.where(pos >= 0, mid[sel][np.maximum(pos, 0)], np.nan)
    return GridObsBatch(t_ns=grid, mid=out), tickers


@functools.cache
def _sim_frames(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from kbayes.sim import SimConfig, simulate

    result = simulate(SimConfig(n_days=1, cities=("NY",), n_mc=32, n_prior_years=0, seed=seed))
    return result.book_top, result.candles


def sim_mids(step_s: int = 60, seed: int = 0) -> tuple[GridObsBatch, list[str]]:
    """One simulated NY event's mid ladder (6 brackets) on a ``step_s`` grid."""
    return grid_mids(_sim_frames(seed)[0], step_s)


@functools.cache
def _real_frames(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from kbayes.io.importers.base import ImportContext
    from kbayes.io.importers.kalshi.bbo import load_bbo_log
    from kbayes.io.importers.kalshi.candles import load_candles_5m
    from kbayes.io.store import DuckDBStore

    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "real.duckdb")
        try:
            for rel, load in ((REAL_BBO, load_bbo_log), (REAL_CANDLES, load_candles_5m)):
                ctx = ImportContext(root=shared_data, store=store, source_file=rel)
                load(shared_data / rel, ctx)
            return store.read("book_top"), store.read("candles")
        finally:
            store.close()


def real_mids(shared_data: Path, step_s: int = 10) -> tuple[GridObsBatch, list[str]]:
    """KXHIGHNY-25DEC20's real mid ladder (6 brackets) on a ``step_s`` grid."""
    return grid_mids(_real_frames(shared_data)[0], step_s)


def candle_events(df: pd.DataFrame) -> tuple[list[Candle], list[str]]:
    """Candle rows of one event -> ``Candle`` events in time order, and the ladder's tickers."""
    df = df.sort_values(["start", "ticker"], kind="stable")
    start = df.start.astype("datetime64[ns, UTC]").astype("int64").to_numpy()
    end = start + df.interval_s.to_numpy(dtype=np.int64) * 1_000_000_000

    def opt(v: object) -> int | None:
        return None if pd.isna(v) else int(v)

    events = [
        Candle(
            available_ns=int(e),
            ts_ns=int(e),
            ticker=str(row.ticker),
            start_ns=int(s),
            open_cc=opt(row.open_cc),
            high_cc=opt(row.high_cc),
            low_cc=opt(row.low_cc),
            close_cc=opt(row.close_cc),
        )
        for s, e, row in zip(start, end, df.itertuples(index=False), strict=True)
    ]
    return events, ladder_order(sorted(df.ticker.unique()))


def sim_candles(seed: int = 0) -> tuple[list[Candle], list[str]]:
    """One simulated NY event's 5-minute candles as events."""
    return candle_events(_sim_frames(seed)[1])


def real_candles(shared_data: Path) -> tuple[list[Candle], list[str]]:
    """The real 5-minute candles of :data:`REAL_CANDLE_EVENT` as events, in time order."""
    df = _real_frames(shared_data)[1]
    return candle_events(df[df.event_ticker == REAL_CANDLE_EVENT])
