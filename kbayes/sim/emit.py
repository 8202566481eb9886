"""Emit simulated markets as typed record frames (the columns of :mod:`kbayes.market.records`).

Frames are built column-wise from numpy arrays for all events at once (string columns through
Arrow dictionary decoding, which is what makes a million-row delta table cheap), then
validated by :func:`kbayes.io.frames.conform` by the caller.

Conventions: prices in centi-cents (whole cents × 100), sizes in centi-contracts (whole
contracts × 100); a missing book side is NA, never 0 or 100; ``BookDeltaRecord.sid`` is one
stable id per event (``YYYYMMDD·100 + city index``) and ``seq`` counts that event's deltas
from 1 in time order; trade ids are ``<event>-<n>`` in time order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from kbayes.market.cities import CITIES, City
from kbayes.market.prices import CC_PER_CENT
from kbayes.sim.ladder import MarketSpec
from kbayes.sim.market import EventTape

NS = 10**9
CANDLE_S = 300


def str_col(codes: np.ndarray, categories: list[str]) -> pd.api.extensions.ExtensionArray:
    """A ``string`` column from integer codes into ``categories``."""
    dic = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(categories), type=pa.string())
    )
    return pd.array(dic.cast(pa.string()), dtype="string")


def ts_col(ns: np.ndarray) -> pd.DatetimeIndex:
    """Aware UTC timestamps (microseconds, as the store keeps them) from int64 epoch ns."""
    # (pd.to_datetime(ints, utc=True) is ~100x slower on large arrays)
    us = (np.asarray(ns, dtype=np.int64) // 1000).astype("datetime64[us]")
    return pd.DatetimeIndex(us).tz_localize("UTC")


def opt_int(values: np.ndarray, absent: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Nullable integers: ``values`` with the ``absent`` rows NA (a missing side, not 0)."""
    absent = np.asarray(absent, dtype=bool)
    arr = pd.array(np.where(absent, 0, values).astype(np.int64), dtype="Int64")
    arr[absent] = pd.NA
    return arr


@dataclass(frozen=True)
class EventMeta:
    """The static facts of one simulated event."""

    ticker: str
    city: City
    day: dt.date
    open_ns: int
    close_ns: int
    window_start_ns: int
    specs: tuple[MarketSpec, ...]
    official_f: int
    outcome_index: int
    source_file: str

    @property
    def sid(self) -> int:
        return int(self.day.strftime("%Y%m%d")) * 100 + list(CITIES).index(self.city.key)


def market_frames(
    metas: list[EventMeta], tapes: list[EventTape], source: str
) -> dict[str, pd.DataFrame]:
    """Frames ``markets, events, trades, book_top, book_levels, book_deltas, candles``."""
    n_ev = len(metas)
    k = len(metas[0].specs)
    tickers = [s.ticker for m in metas for s in m.specs]
    events = [m.ticker for m in metas]
    cities = sorted({m.city.key for m in metas})
    files = sorted({m.source_file for m in metas})
    ev_city = np.array([cities.index(m.city.key) for m in metas])
    ev_file = np.array([files.index(m.source_file) for m in metas])

    def common(ev_idx: np.ndarray, j: np.ndarray | None) -> dict:
        out = {}
        if j is not None:
            out["ticker"] = str_col(ev_idx * k + j, tickers)
        out["event_ticker"] = str_col(ev_idx, events)
        out["city"] = str_col(ev_city[ev_idx], cities)
        return out

    def tail(ev_idx: np.ndarray) -> dict:
        return {
            "source": str_col(np.zeros(len(ev_idx), np.int64), [source]),
            "source_file": str_col(ev_file[ev_idx], files),
        }

    def cat(name: str, part: str) -> np.ndarray:
        arrs = [getattr(t, part)[name] for t in tapes]
        return np.concatenate(arrs) if arrs else np.zeros(0, np.int64)

    def ev_index(part: str, col: str) -> np.ndarray:
        return np.repeat(np.arange(n_ev), [len(getattr(t, part)[col]) for t in tapes])

    # markets and events ------------------------------------------------------------------
    vol = np.stack(
        [np.bincount(t.trades["j"], weights=t.trades["count_centi"], minlength=k) for t in tapes]
    ).astype(np.int64)
    mk_ev = np.repeat(np.arange(n_ev), k)
    mk_j = np.tile(np.arange(k), n_ev)
    specs = [s for m in metas for s in m.specs]
    markets = pd.DataFrame(
        {
            **common(mk_ev, mk_j),
            "series": [m.city.series for m in metas for _ in range(k)],
            "climate_date": [m.day for m in metas for _ in range(k)],
            "strike_type": [s.strike_type for s in specs],
            "floor_strike": [s.floor_strike for s in specs],
            "cap_strike": [s.cap_strike for s in specs],
            "lo_f": [s.lo_f for s in specs],
            "hi_f": [s.hi_f for s in specs],
            "yes_sub_title": [s.yes_sub_title for s in specs],
            "open_time": ts_col(np.repeat([m.open_ns for m in metas], k)),
            "close_time": ts_col(np.repeat([m.close_ns for m in metas], k)),
            "status": "finalized",
            "result": np.where(mk_j == np.repeat([m.outcome_index for m in metas], k), "yes", "no"),
            "expiration_value_f": np.repeat([m.official_f for m in metas], k),
            "volume_centi": vol.ravel(),
            **tail(mk_ev),
        }
    )
    ev_all = np.arange(n_ev)
    events_df = pd.DataFrame(
        {
            "event_ticker": events,
            "series": [m.city.series for m in metas],
            "city": [m.city.key for m in metas],
            "station": [m.city.station for m in metas],
            "climate_date": [m.day for m in metas],
            "window_start": ts_col([m.window_start_ns for m in metas]),
            "window_end": ts_col([m.window_start_ns + 24 * 3600 * NS for m in metas]),
            "close_time": ts_col([m.close_ns for m in metas]),
            "n_markets": k,
            "outcome_f": [m.official_f for m in metas],
            "outcome_ticker": [m.specs[m.outcome_index].ticker for m in metas],
            "outcome_source": source,
            **tail(ev_all),
        }
    )

    # trades ----------------------------------------------------------------------------------
    t_ev = ev_index("trades", "ts_ns")
    t_n = np.concatenate([np.arange(len(t.trades["ts_ns"])) for t in tapes])
    trade_ids = [f"{events[e]}-{i:06d}" for e, i in zip(t_ev.tolist(), t_n.tolist(), strict=True)]
    t_j = cat("j", "trades")
    trades = pd.DataFrame(
        {
            "trade_id": pd.array(trade_ids, dtype="string"),
            **common(t_ev, t_j),
            "ts": ts_col(cat("ts_ns", "trades")),
            "yes_price_cc": cat("yes_price_c", "trades") * CC_PER_CENT,
            "count_centi": cat("count_centi", "trades"),
            "taker_side": str_col(np.where(cat("taker_yes", "trades"), 0, 1), ["yes", "no"]),
            **tail(t_ev),
        }
    )

    # book: snapshot at open, deltas, tops -----------------------------------------------------
    l_ev = ev_index("levels", "j")
    book_levels = pd.DataFrame(
        {
            "ts": ts_col(np.array([m.open_ns for m in metas], dtype=np.int64)[l_ev]),
            "ticker": str_col(l_ev * k + cat("j", "levels"), tickers),
            "snapshot_id": str_col(l_ev * k + cat("j", "levels"), [f"{t}@open" for t in tickers]),
            "side": str_col(cat("side", "levels"), ["yes", "no"]),
            "price_cc": cat("price_c", "levels") * CC_PER_CENT,
            "size_centi": cat("size_centi", "levels"),
            **tail(l_ev),
        }
    )
    d_ev = ev_index("deltas", "ts_ns")
    book_deltas = pd.DataFrame(
        {
            "ts": ts_col(cat("ts_ns", "deltas")),
            "ticker": str_col(d_ev * k + cat("j", "deltas"), tickers),
            "sid": np.array([m.sid for m in metas], dtype=np.int64)[d_ev],
            "seq": np.concatenate([np.arange(1, len(t.deltas["ts_ns"]) + 1) for t in tapes]),
            "side": str_col(cat("side", "deltas"), ["yes", "no"]),
            "price_cc": cat("price_c", "deltas") * CC_PER_CENT,
            "delta_centi": cat("delta_centi", "deltas"),
            **tail(d_ev),
        }
    )
    tops = [_top_extras(t) for t in tapes]
    b_ev = ev_index("tops", "ts_ns")
    yb, nb = cat("yes_bid_c", "tops"), cat("no_bid_c", "tops")
    last = np.concatenate([x[0] for x in tops])
    book_top = pd.DataFrame(
        {
            "ts": ts_col(cat("ts_ns", "tops")),
            **common(b_ev, cat("j", "tops")),
            "yes_bid_cc": opt_int(yb * CC_PER_CENT, yb < 0),
            "no_bid_cc": opt_int(nb * CC_PER_CENT, nb < 0),
            "yes_bid_size_centi": opt_int(cat("yes_bid_size", "tops"), yb < 0),
            "yes_ask_size_centi": opt_int(cat("yes_ask_size", "tops"), nb < 0),
            "last_price_cc": opt_int(last, last < 0),
            "volume_centi": np.concatenate([x[1] for x in tops]),
            "open_interest_centi": pd.array([pd.NA] * len(b_ev), dtype="Int64"),
            **tail(b_ev),
        }
    )
    candles = _candles(tapes, k, common, tail)
    return {
        "markets": markets,
        "events": events_df,
        "trades": trades,
        "book_top": book_top,
        "book_levels": book_levels,
        "book_deltas": book_deltas,
        "candles": candles,
    }


def _top_extras(tape: EventTape) -> tuple[np.ndarray, np.ndarray]:
    """Last trade price (cc, ``-1`` if none) and cumulative volume at every top row."""
    tp, tr = tape.tops, tape.trades
    n = len(tp["ts_ns"])
    last = np.full(n, -1, dtype=np.int64)
    vol = np.zeros(n, dtype=np.int64)
    for j in np.unique(tp["j"]):
        rows = np.flatnonzero(tp["j"] == j)
        mine = np.flatnonzero(tr["j"] == j)
        idx = np.searchsorted(tr["ts_ns"][mine], tp["ts_ns"][rows], side="right") - 1
        vol[rows] = np.concatenate([[0], np.cumsum(tr["count_centi"][mine])])[idx + 1]
        if len(mine):
            price = tr["yes_price_c"][mine][np.maximum(idx, 0)] * CC_PER_CENT
            last[rows] = np.where(idx >= 0, price, -1)
    return last, vol


def _candles(tapes: list[EventTape], k: int, common, tail) -> pd.DataFrame:
    """5-minute OHLC bars of YES trade prices per market (bars with at least one trade)."""
    ev = np.repeat(np.arange(len(tapes)), [len(t.trades["ts_ns"]) for t in tapes])
    ts = np.concatenate([t.trades["ts_ns"] for t in tapes])
    j = np.concatenate([t.trades["j"] for t in tapes])
    price = np.concatenate([t.trades["yes_price_c"] for t in tapes]) * CC_PER_CENT
    count = np.concatenate([t.trades["count_centi"] for t in tapes])
    bar = ts // (CANDLE_S * NS)
    order = np.lexsort((ts, bar, j, ev))  # chronological within each (event, market, bar)
    key = np.stack([ev, j, bar])[:, order]
    first = (
        np.flatnonzero(np.r_[True, (key[:, 1:] != key[:, :-1]).any(axis=0)])
        if len(ts)
        else np.zeros(0, np.int64)
    )
    last = np.r_[first[1:], len(ts)] - 1 if len(ts) else first
    p, c = price[order], count[order]
    e_f = ev[order][first]
    red = (lambda f, x: f.reduceat(x, first)) if len(ts) else (lambda f, x: x[:0])
    return pd.DataFrame(
        {
            **common(e_f, j[order][first]),
            "start": ts_col(bar[order][first] * CANDLE_S * NS),
            "interval_s": np.full(len(first), CANDLE_S, dtype=np.int64),
            "open_cc": p[first],
            "high_cc": red(np.maximum, p),
            "low_cc": red(np.minimum, p),
            "close_cc": p[last],
            "volume_centi": red(np.add, c),
            "n_trades": np.diff(np.r_[first, len(ts)]),
            **tail(e_f),
        }
    )
