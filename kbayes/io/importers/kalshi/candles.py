"""OHLC bars of YES prices -> :class:`CandleRecord`.

* ``jetpackjules_nyc_bbo/KXHIGHNY_candles_5m.csv.xz``: sparse 5-minute **trade** candles
  (``market_id,ticker,start,open,high,low,close,count``; ``start`` aware UTC, prices in cents,
  ``count`` = number of trades -> ``n_trades``; no volume).
* ``sameeres_nyc_chi/kalshi_candles.parquet`` and the tar of per-market parquet chunks
  ``kalshi_history_chunks_*_1h_candles.tar``: hourly candles
  (``market_ticker,city_key,candle_ts,open,high,low,close,volume,interval``). ``candle_ts`` is
  the **end** of the hour: each market's first bar is stamped one hour after its 15:00Z open and
  its last bar at its close rounded up to the hour, so ``start = candle_ts - interval``.
  PROVENANCE warns that only 64% of rows satisfy low <= open/close <= high (the author mixed
  price and bid/ask sub-fields): values are kept exactly as recorded, never repaired; hours the
  author stored with every value null are kept as all-null bars.
* ``protocol_captures/tmer234_candlesticks_trimmed.json``: a verbatim REST candlestick body
  (``{ticker, candlesticks: [{end_period_ts, price: {open_dollars, ...}, volume_fp}]}``;
  legacy integer cents and historical-tier bare dollar strings parse too). The interval is the
  body's ``period_interval`` (minutes) when present, else the spacing of ``end_period_ts``
  (hourly here); ``start = end_period_ts - interval``.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.archive import READ_ERRORS, members
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.kalshi.ladders import frame, write_rows
from kbayes.io.importers.kalshi.tables import RowChecks, file_lines, read_csv, ticker_meta
from kbayes.io.kalshi_wire import (
    WireError,
    cents_series_to_cc,
    city_for,
    contracts_series_to_centi,
    count_centi,
    parse_utc,
    price_cc,
    utc_series,
)
from kbayes.market.cities import UnknownCityError, city_of
from kbayes.market.ladder import event_ticker_of
from kbayes.market.records import CandleRecord

_INTERVALS = {"1m": 60, "5m": 300, "1h": 3600, "60m": 3600, "1d": 86400}


def _ohlc(df: pd.DataFrame, rows: RowChecks) -> dict[str, pd.Series]:
    out = {}
    for col in ("open", "high", "low", "close"):
        cc, bad = cents_series_to_cc(df[col], col)
        rows.flag(bad.to_numpy(), col, df[col], "not a price in cents")
        out[f"{col}_cc"] = cc
    return out


def load_candles_5m(path: Path, ctx: ImportContext) -> None:
    """Import Jetpackjules' 5-minute trade candles (see the module docstring)."""
    df = read_csv(path, ctx)
    need = ("ticker", "start", "open", "high", "low", "close", "count")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"not a candle CSV: columns {missing} missing")
    line = file_lines(df)
    rows = RowChecks(ctx, df, lambda i: f"line {line[i]}:{df['ticker'].iat[i]}")
    start, bad_ts = utc_series(df["start"])
    rows.flag(bad_ts.to_numpy(), "start", df["start"], "missing, naive or unparseable")
    ev, city = ticker_meta(df["ticker"], rows, "ticker")
    ohlc = _ohlc(df, rows)
    _, bad_n = contracts_series_to_centi(df["count"], "count")
    rows.flag(bad_n.to_numpy(), "count", df["count"], "not a whole number of trades")
    keep = rows.report()
    out = pd.DataFrame(
        {
            "ticker": df["ticker"],
            "event_ticker": ev,
            "city": city,
            "start": start,
            "interval_s": 300,
            **ohlc,
            "volume_centi": None,
            "n_trades": pd.to_numeric(df["count"], errors="coerce").astype("Int64"),
            "source": "jetpackjules_candles_5m",
        }
    )[keep]
    ctx.write(CandleRecord, frame(CandleRecord, out, ctx.source_file))


def _sameeres_frame(ctx: ImportContext, df: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    need = ("market_ticker", "candle_ts", "open", "high", "low", "close", "volume", "interval")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"not a sameeres candle table: columns {missing} missing")
    df = df.reset_index(drop=True)
    rows = RowChecks(ctx, df, lambda i: labels[i])
    end, bad_ts = utc_series(df["candle_ts"])
    rows.flag(bad_ts.to_numpy(), "candle_ts", df["candle_ts"], "missing, naive or unparseable")
    interval = df["interval"].map(_INTERVALS)
    rows.flag(interval.isna().to_numpy(), "interval", df["interval"], "unknown candle interval")
    ev, city = ticker_meta(df["market_ticker"], rows)
    if "city_key" in df.columns:
        keys = {k: _city_key(k) for k in df["city_key"].dropna().unique()}
        stated = df["city_key"].map(keys)
        wrong = (stated.notna() & (stated != city)).to_numpy()
        rows.flag(wrong, "city_key", df["city_key"], "city_key contradicts the ticker")
    ohlc = _ohlc(df, rows)
    vol, bad_v = contracts_series_to_centi(df["volume"], "volume")
    rows.flag(bad_v.to_numpy(), "volume", df["volume"], "not a contract count")
    keep = rows.report()
    secs = pd.to_timedelta(interval.fillna(0).astype("int64"), unit="s")
    return pd.DataFrame(
        {
            "ticker": df["market_ticker"],
            "event_ticker": ev,
            "city": city,
            "start": end - secs,
            "interval_s": interval.astype("Int64"),
            **ohlc,
            "volume_centi": vol,
            "n_trades": None,
            "source": "sameeres_candles_1h",
        }
    )[keep]


def _city_key(key: str) -> str | None:
    try:
        return city_of(key).key
    except UnknownCityError:
        return None


def load_sameeres_candles(path: Path, ctx: ImportContext) -> None:
    """Import ``kalshi_candles.parquet`` (see the module docstring)."""
    df = pd.read_parquet(path)
    labels = [f"row {i}:{t}" for i, t in enumerate(df.get("market_ticker", []))]
    out = _sameeres_frame(ctx, df, labels)
    ctx.write(CandleRecord, frame(CandleRecord, out, ctx.source_file))


def load_sameeres_candle_chunks(path: Path, ctx: ImportContext) -> None:
    """Import the tar of per-market hourly parquet chunks (see the module docstring)."""
    parts: list[pd.DataFrame] = []
    labels: list[str] = []
    with tarfile.open(path, "r:") as tar:
        for member in members(tar, ctx):
            if not member.isfile():
                continue
            if not member.name.endswith(".parquet"):
                ctx.issue(member.name, "", "", "member skipped: not a parquet file")
                continue
            try:
                fh = tar.extractfile(member)
                part = pd.read_parquet(io.BytesIO(fh.read() if fh else b""))
            except (*READ_ERRORS, ValueError) as exc:
                ctx.issue(member.name, "", "", f"member skipped: unreadable parquet ({exc})")
                continue
            parts.append(part)
            labels.extend(f"{member.name}:row {i}" for i in range(len(part)))
    if not parts:
        write_rows(ctx, CandleRecord, [])
        return
    df = pd.concat(parts, ignore_index=True)
    out = _sameeres_frame(ctx, df, labels)
    ctx.write(CandleRecord, frame(CandleRecord, out, ctx.source_file))


def rest_candles(
    ctx: ImportContext, ticker: str, candles: list[Any], period_minutes: int | None
) -> list[dict[str, Any]]:
    """Candle rows from a REST ``candlesticks`` list (any wire generation)."""
    ends = sorted(
        {c["end_period_ts"] for c in candles if isinstance(c, dict) and "end_period_ts" in c}
    )
    if period_minutes:
        interval = int(period_minutes) * 60
    elif len(ends) > 1:
        interval = int(np.min(np.diff(ends)))
    else:
        interval = 3600
        ctx.issue(ticker, "period_interval", None, "interval unknown; assumed 3600 s")
    try:
        event_ticker, city = event_ticker_of(ticker), city_for(ticker).key
    except (ValueError, UnknownCityError) as exc:
        ctx.issue(ticker, "ticker", ticker, f"candles skipped: {exc}")
        return []
    out = []
    for i, c in enumerate(candles):
        label = f"{ticker}:candlesticks[{i}]"
        if not isinstance(c, dict):
            ctx.issue(label, "", type(c).__name__, "candle skipped: not an object")
            continue
        try:
            end = parse_utc(c.get("end_period_ts"), "end_period_ts")
            price = c.get("price") or {}
            row = {
                "ticker": ticker,
                "event_ticker": event_ticker,
                "city": city,
                "start": end - pd.Timedelta(seconds=interval),
                "interval_s": interval,
                **{
                    f"{k}_cc": price_cc(price, k, required=False)
                    for k in ("open", "high", "low", "close")
                },
                "volume_centi": count_centi(c, "volume", required=False),
                "n_trades": None,
                "source": "kalshi_rest_candles",
            }
        except WireError as exc:
            ctx.issue(label, exc.field, exc.value, f"candle skipped: {exc.reason}")
            continue
        out.append(row)
    return out


def load_rest_candles(path: Path, ctx: ImportContext) -> None:
    """Import a verbatim REST candlestick body, single-market or batch (see the docstring)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        raise ValueError("candlestick body is not a JSON object")
    period = doc.get("period_interval")
    rows: list[dict[str, Any]] = []
    if isinstance(doc.get("candlesticks"), list):
        if not doc.get("ticker"):
            raise ValueError("single-market candlestick body without 'ticker'")
        rows = rest_candles(ctx, str(doc["ticker"]), doc["candlesticks"], period)
    elif isinstance(doc.get("markets"), list):
        for m in doc["markets"]:
            if isinstance(m, dict) and m.get("market_ticker"):
                rows += rest_candles(ctx, m["market_ticker"], m.get("candlesticks") or [], period)
            else:
                ctx.issue("markets[]", "market_ticker", "", "market skipped: no ticker")
    else:
        raise ValueError("no 'candlesticks' or 'markets' in the body")
    write_rows(ctx, CandleRecord, rows)


register(
    Importer(
        "kalshi.jetpackjules_candles_5m",
        ("kalshi/jetpackjules_nyc_bbo/KXHIGHNY_candles_5m.csv.xz",),
        load_candles_5m,
        "Jetpackjules sparse 5-minute trade candles -> candles",
    )
)
register(
    Importer(
        "kalshi.sameeres_candles",
        ("kalshi/sameeres_nyc_chi/kalshi_candles.parquet",),
        load_sameeres_candles,
        "sameeres hourly candles (quality warning: values kept as recorded) -> candles",
    )
)
register(
    Importer(
        "kalshi.sameeres_candle_chunks",
        ("kalshi/sameeres_nyc_chi/kalshi_history_chunks_*_1h_candles.tar",),
        load_sameeres_candle_chunks,
        "sameeres per-market hourly candle chunks (tar of parquet) -> candles",
    )
)
register(
    Importer(
        "kalshi.rest_candles",
        ("kalshi/protocol_captures/tmer234_candlesticks_trimmed.json",),
        load_rest_candles,
        "verbatim REST candlesticks (dollar strings) -> candles",
    )
)
