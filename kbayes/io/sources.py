"""Replay sources: the store's tables, WebSocket tapes and the simulator as ordered events.

Each function returns :class:`~kbayes.clock.merge.Source`\\ s, iterators of
:mod:`kbayes.market.events` in ``available_ns`` order, for :func:`kbayes.clock.merge.merge`.

Availability. A tape's events are available when they were received. A stored row is
available at its time plus the publication lag of its source (:class:`SourceLags`): a trade
or quote at once (the public tape and the ticker channel are real time), a candle when it
closes, a METAR a few minutes after its observation time (transmission and ingest), a
forecast at its ``issued_at`` (the importer already stamps the assumed issue time), a
settlement some time after the close. A lag is never negative: a source cannot be known
before it happened.

Like-for-like: the same store rows give the same events in the same order on every run
(rows are sorted by a total key, ties by the row order of a stable sort on every column).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from kbayes.clock.merge import RANK_MARKET, RANK_WEATHER, Source
from kbayes.io.kalshi.replay import tape_frames
from kbayes.io.kalshi.stream import BookStream
from kbayes.io.store import Store
from kbayes.market.events import (
    NS_PER_S,
    BookDelta,
    BookSnapshot,
    Candle,
    Event,
    ForecastIssued,
    Lifecycle,
    Quote,
    TradePrint,
    WeatherObs,
    utc_to_ns,
)
from kbayes.market.prices import CC_PER_DOLLAR


class SourceLags(NamedTuple):
    """Publication lag (seconds) from a stored row's time to when it is knowable.

    Attributes:
        trades_s, quotes_s, book_s: public trades, best bid/ask log rows, L2 rows.
        candle_s: after the candle's end.
        weather_s: per weather ``source`` (e.g. ``(("ncei_5min", 0.0),)``); others take
            ``weather_default_s``.
        weather_default_s: a METAR/SPECI report: a few minutes.
        forecast_s: after ``issued_at``.
        settle_s: from a market's close to its settlement result.
    """

    trades_s: float = 0.0
    quotes_s: float = 0.0
    book_s: float = 0.0
    candle_s: float = 0.0
    weather_s: tuple[tuple[str, float], ...] = ()
    weather_default_s: float = 300.0
    forecast_s: float = 0.0
    settle_s: float = 3600.0

    def check(self) -> SourceLags:
        """``self``, or ValueError naming a negative or non-finite lag."""
        for name, value in self._asdict().items():
            values = [v for _, v in value] if name == "weather_s" else [value]
            for v in values:
                if not (np.isfinite(v) and v >= 0):
                    raise ValueError(f"source lag {name}={value!r} must be finite and >= 0")
        return self


class Window(NamedTuple):
    """What to replay from the store: markets, a station and a UTC time range ``[start, end)``.

    Attributes:
        tickers: the markets (one or more ladders).
        stations: weather stations to replay (may be empty).
        start_ns, end_ns: the range, by availability.
    """

    tickers: tuple[str, ...]
    stations: tuple[str, ...]
    start_ns: int
    end_ns: int


QUOTE_COLUMNS = (
    "ts", "ticker", "yes_bid_cc", "no_bid_cc", "yes_bid_size_centi", "yes_ask_size_centi",
    "last_price_cc", "volume_centi",
)  # fmt: skip


class StoreReader:
    """The rows of one table for some markets or stations: one query per call."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def rows(
        self, table: str, columns: str, key: str, values: Sequence[str], where: str = ""
    ) -> pd.DataFrame:
        """``SELECT columns FROM table WHERE key IN values [AND where]``."""
        values = list(values)
        if not values:
            return self.store.query(f"SELECT {columns} FROM {table} LIMIT 0")
        cond = f" AND {where}" if where else ""
        return self.store.query(
            f"SELECT {columns} FROM {table} WHERE {key} IN {_in(values)}{cond}", values
        )


class CachedReader(StoreReader):
    """Every row of a set of markets and stations, read once per table and served per call.

    A season replays hundreds of events; one query per table and event costs more than the
    replay itself. Rows are grouped by their key once; a call concatenates the groups of
    its values (the row order within a key is the query's; every source sorts by a total
    key anyway).
    """

    def __init__(self, store: Store, tickers: Sequence[str], stations: Sequence[str]) -> None:
        super().__init__(store)
        self.values = {"ticker": sorted(set(tickers)), "station": sorted(set(stations))}
        self.cache: dict[tuple[str, str, str, str], tuple[pd.DataFrame, dict]] = {}

    def rows(
        self, table: str, columns: str, key: str, values: Sequence[str], where: str = ""
    ) -> pd.DataFrame:
        ck = (table, columns, key, where)
        if ck not in self.cache:
            df = super().rows(table, columns, key, self.values[key], where)
            self.cache[ck] = (df, df.groupby(key, sort=False).indices)
        df, groups = self.cache[ck]
        idx = [groups[v] for v in values if v in groups]
        if not idx:
            return df.iloc[:0]
        return df.iloc[np.concatenate(idx)]


def _ns(col: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(col, utc=True)).as_unit("ns").asi8


def _opt(values: pd.Series) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in values]


def _ordered(df: pd.DataFrame, avail: np.ndarray, keys: list[str]) -> pd.DataFrame:
    """Rows by availability, ties by ``keys`` (a total, run-independent order)."""
    df = df.assign(avail_ns=avail).sort_values(["avail_ns", *keys], kind="mergesort")
    return df.reset_index(drop=True)


def _in(values: Sequence[str]) -> str:
    return "(" + ",".join("?" * len(values)) + ")"


def _trade_events(reader: StoreReader, w: Window, lag_ns: int) -> Iterator[Event]:
    df = reader.rows(
        "trades", "ticker, ts, yes_price_cc, count_centi, taker_side, trade_id", "ticker", w.tickers
    )
    ts = _ns(df["ts"])
    df = _ordered(df.assign(t_ns=ts), ts + lag_ns, ["t_ns", "ticker", "trade_id"])
    keep = (df["avail_ns"] >= w.start_ns) & (df["avail_ns"] < w.end_ns)
    for r in df[keep].itertuples(index=False):
        yield TradePrint(
            int(r.avail_ns),
            int(r.t_ns),
            r.ticker,
            int(r.yes_price_cc),
            int(r.count_centi),
            str(r.taker_side),
            str(r.trade_id),
        )


def _quote_events(reader: StoreReader, w: Window, lag_ns: int) -> Iterator[Event]:
    df = reader.rows("book_top", ", ".join(QUOTE_COLUMNS), "ticker", w.tickers)
    ts = _ns(df["ts"])
    # A stored log can hold two rows of one market at one instant: both are replayed, in the
    # order of their values (so the run is reproducible); the state keeps the last.
    df = _ordered(df.assign(t_ns=ts), ts + lag_ns, ["t_ns", *QUOTE_COLUMNS[1:]])
    keep = ((df["avail_ns"] >= w.start_ns) & (df["avail_ns"] < w.end_ns)).to_numpy()
    df = df[keep]
    no_bid = _opt(df["no_bid_cc"])
    cols = [
        _opt(df[c])
        for c in (
            "yes_bid_cc",
            "yes_bid_size_centi",
            "yes_ask_size_centi",
            "last_price_cc",
            "volume_centi",
        )
    ]
    for i, (avail, t, ticker) in enumerate(
        zip(df["avail_ns"], df["t_ns"], df["ticker"], strict=True)
    ):
        nb = no_bid[i]
        yield Quote(
            int(avail),
            int(t),
            ticker,
            cols[0][i],
            None if nb is None else CC_PER_DOLLAR - nb,
            cols[1][i],
            cols[2][i],
            cols[3][i],
            cols[4][i],
        )


def _candle_events(reader: StoreReader, w: Window, lag_ns: int) -> Iterator[Event]:
    df = reader.rows(
        "candles",
        "ticker, start, interval_s, open_cc, high_cc, low_cc, close_cc, volume_centi",
        "ticker",
        w.tickers,
    )
    start = _ns(df["start"])
    end = start + df["interval_s"].to_numpy(dtype=np.int64) * NS_PER_S
    df = _ordered(
        df.assign(start_ns=start, end_ns=end), end + lag_ns, ["end_ns", "ticker", "start_ns"]
    )
    keep = (df["avail_ns"] >= w.start_ns) & (df["avail_ns"] < w.end_ns)
    for r in df[keep].itertuples(index=False):
        o, h, lo, c = (
            None if pd.isna(x) else int(x) for x in (r.open_cc, r.high_cc, r.low_cc, r.close_cc)
        )
        vol = 0 if pd.isna(r.volume_centi) else int(r.volume_centi)
        yield Candle(int(r.avail_ns), int(r.end_ns), r.ticker, int(r.start_ns), o, h, lo, c, vol)


def _book_events(reader: StoreReader, w: Window, lag_ns: int) -> Iterator[Event]:
    """Stored L2: snapshots (``book_levels``) and deltas (``book_deltas``) in time order."""
    lv = reader.rows(
        "book_levels", "ts, ticker, snapshot_id, side, price_cc, size_centi", "ticker", w.tickers
    )
    dl = reader.rows(
        "book_deltas", "ts, ticker, seq, side, price_cc, delta_centi", "ticker", w.tickers
    )
    items: list[tuple[int, int, int, str, Event]] = []
    for (ticker, _snap), g in lv.groupby(["ticker", "snapshot_id"], sort=True):
        t = int(_ns(g["ts"]).max())
        sides = {
            s: tuple(
                sorted(
                    (
                        (int(p), int(q))
                        for p, q in zip(gs["price_cc"], gs["size_centi"], strict=True)
                        if q > 0
                    ),
                    reverse=True,
                )
            )
            for s, gs in ((s, g[g["side"] == s]) for s in ("yes", "no"))
        }
        items.append(
            (
                t + lag_ns,
                0,
                0,
                str(ticker),
                BookSnapshot(t + lag_ns, t, str(ticker), sides["yes"], sides["no"]),
            )
        )
    ts = _ns(dl["ts"])
    for t, r in zip(ts, dl.itertuples(index=False), strict=True):
        a = int(t) + lag_ns
        items.append(
            (
                a,
                1,
                int(r.seq),
                r.ticker,
                BookDelta(
                    a,
                    int(t),
                    r.ticker,
                    str(r.side),
                    int(r.price_cc),
                    int(r.delta_centi),
                    int(r.seq),
                ),
            )
        )
    items.sort(key=lambda x: x[:4])
    for a, *_, ev in items:
        if w.start_ns <= a < w.end_ns:
            yield ev


def _lifecycle_events(reader: StoreReader, w: Window, settle_ns: int) -> Iterator[Event]:
    df = reader.rows(
        "markets", "ticker, open_time, close_time, result, source", "ticker", w.tickers
    )
    # One row per market, the same on every run: a row with a result first, then by source.
    df = df.assign(_unsettled=~df["result"].isin(["yes", "no"]))
    df = df.sort_values(["ticker", "_unsettled", "source"], kind="mergesort")
    df = df.drop_duplicates("ticker", keep="first")
    items: list[tuple[int, str, int, Event]] = []
    for r in df.itertuples(index=False):
        if not pd.isna(r.open_time):
            t = utc_to_ns(pd.Timestamp(r.open_time).to_pydatetime())
            items.append((t, r.ticker, 0, Lifecycle(t, t, r.ticker, "open")))
        if not pd.isna(r.close_time):
            t = utc_to_ns(pd.Timestamp(r.close_time).to_pydatetime())
            items.append((t, r.ticker, 1, Lifecycle(t, t, r.ticker, "closed")))
            if r.result in ("yes", "no"):
                a = t + settle_ns
                items.append((a, r.ticker, 2, Lifecycle(a, t, r.ticker, "settled", r.result)))
    items.sort(key=lambda x: x[:3])
    for a, *_, ev in items:
        if w.start_ns <= a < w.end_ns:
            yield ev


def _weather_events(reader: StoreReader, w: Window, lags: SourceLags) -> Iterator[Event]:
    df = reader.rows(
        "weather_obs",
        "station, ts, temp_c, temp_source, report_type, source",
        "station",
        w.stations,
        "temp_c IS NOT NULL",
    )
    by_source = dict(lags.weather_s)
    lag = df["source"].map(lambda s: by_source.get(s, lags.weather_default_s)).to_numpy(float)
    ts = _ns(df["ts"])
    avail = ts + np.round(lag * NS_PER_S).astype(np.int64)
    df = _ordered(df.assign(t_ns=ts), avail, ["t_ns", "station", "source", "report_type", "temp_c"])
    keep = (df["avail_ns"] >= w.start_ns) & (df["avail_ns"] < w.end_ns)
    for r in df[keep].itertuples(index=False):
        yield WeatherObs(
            int(r.avail_ns),
            int(r.t_ns),
            r.station,
            float(r.temp_c),
            str(r.temp_source or ""),
            str(r.report_type),
            str(r.source),
        )


def _forecast_events(reader: StoreReader, w: Window, lag_ns: int) -> Iterator[Event]:
    hourly = reader.rows(
        "forecast_hourly",
        "station, provider, issued_at, target_ts, temp_f",
        "station",
        w.stations,
        "temp_f IS NOT NULL",
    )
    daily = reader.rows(
        "forecast_daily",
        "station, provider, issued_at, target_date, tmax_f",
        "station",
        w.stations,
        "tmax_f IS NOT NULL",
    )
    items: list[tuple[int, str, str, int, Event]] = []
    if not hourly.empty:
        hourly = hourly.assign(
            issued_ns=_ns(hourly["issued_at"]), target_ns=_ns(hourly["target_ts"])
        )
        for (station, provider, issued), g in hourly.groupby(
            ["station", "provider", "issued_ns"], sort=True
        ):
            g = g.sort_values("target_ns", kind="mergesort")
            a = int(issued) + lag_ns
            items.append(
                (
                    a,
                    str(station),
                    str(provider),
                    0,
                    ForecastIssued(
                        a,
                        int(issued),
                        str(station),
                        str(provider),
                        tuple(int(x) for x in g["target_ns"]),
                        tuple(float(x) for x in g["temp_f"]),
                    ),
                )
            )
    if not daily.empty:
        daily = daily.assign(issued_ns=_ns(daily["issued_at"]))
        for r in daily.sort_values(
            ["issued_ns", "station", "provider", "target_date"], kind="mergesort"
        ).itertuples(index=False):
            a = int(r.issued_ns) + lag_ns
            day = pd.Timestamp(r.target_date).date().isoformat()
            items.append(
                (
                    a,
                    str(r.station),
                    str(r.provider),
                    1,
                    ForecastIssued(
                        a,
                        int(r.issued_ns),
                        str(r.station),
                        str(r.provider),
                        (),
                        (),
                        float(r.tmax_f),
                        day,
                    ),
                )
            )
    items.sort(key=lambda x: x[:4])
    for a, *_, ev in items:
        if w.start_ns <= a < w.end_ns:
            yield ev


def _lag_ns(seconds: float) -> int:
    return round(seconds * NS_PER_S)


DEFAULT_LAGS = SourceLags()


def store_sources(
    store: Store | StoreReader, window: Window, lags: SourceLags = DEFAULT_LAGS
) -> list[Source]:
    """Every stored table of ``window``'s markets and stations as merge sources.

    ``store`` is a store (one query per table) or a :class:`CachedReader` (a season).

    The market tables are one source each (trades, quotes, candles, L2, lifecycle), ranked
    after the weather (an observation and a quote available at the same instant: the
    weather first, the same way every run).
    """
    lags = lags.check()
    store = store if isinstance(store, StoreReader) else StoreReader(store)
    if not window.tickers:
        raise ValueError("window.tickers is empty: no markets to replay")
    if window.end_ns <= window.start_ns:
        raise ValueError(f"window end_ns={window.end_ns} is not after start_ns={window.start_ns}")
    out = [
        Source("lifecycle", RANK_MARKET, _lifecycle_events(store, window, _lag_ns(lags.settle_s))),
        Source("book", RANK_MARKET + 1, _book_events(store, window, _lag_ns(lags.book_s))),
        Source("quotes", RANK_MARKET + 2, _quote_events(store, window, _lag_ns(lags.quotes_s))),
        Source("candles", RANK_MARKET + 3, _candle_events(store, window, _lag_ns(lags.candle_s))),
        Source("trades", RANK_MARKET + 4, _trade_events(store, window, _lag_ns(lags.trades_s))),
    ]
    if window.stations:
        out += [
            Source("weather", RANK_WEATHER, _weather_events(store, window, lags)),
            Source(
                "forecasts",
                RANK_WEATHER + 1,
                _forecast_events(store, window, _lag_ns(lags.forecast_s)),
            ),
        ]
    return out


def tape_events(
    tape: str | Path, stream: BookStream | None = None, tickers: frozenset[str] | None = None
) -> Iterator[Event]:
    """A recorder tape through the sans-IO stream machine, as its emitted typed events.

    The same :class:`BookStream` the live client runs (so staleness, resyncs and books are
    the live ones); every event is available at its frame's receive time. ``tickers``
    filters the market events (``None``: all).
    """
    stream = stream or BookStream(emit=True)
    stream.emit = True
    for frame, received_ns in tape_frames(tape, stream):
        stream.handle(frame, received_ns)
        if stream.events:
            if tickers is None:
                yield from stream.events
            else:
                yield from (e for e in stream.events if e.ticker in tickers)  # type: ignore[union-attr]
            stream.events.clear()
