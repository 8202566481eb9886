"""Top-of-book series -> :class:`BookTopRecord` (missing sides are ``None``, never 0 or 100).

* ``jetpackjules_nyc_bbo/market_data_KXHIGHNY-*.csv.xz`` and ``local_market_data_*.csv.xz``:
  one row per change of the best YES/NO bid of a WebSocket-maintained book
  (``timestamp,market_ticker,best_yes_bid,best_no_bid,implied_no_ask,implied_yes_ask`` in
  cents, plus ``last_trade_price`` in the local file). **Time zone assumption:** the
  ``timestamp`` is a naive ``datetime.now()`` of the logging machine, which PROVENANCE infers to
  be US/Pacific (every file starts near 07:00, when Kalshi lists the next day's market at 10:00
  ET). It is localised with ``America/Los_Angeles`` (DST-aware; nonexistent or ambiguous wall
  times are reported and skipped) and converted to UTC. The logger writes an empty side as a
  bid of 0 (its implied ask is then 100); that becomes ``None``. The implied asks must equal
  100 minus the opposite bid; rows where they do not are skipped as corrupt. A crossed book
  (YES bid + NO bid > 100) is kept as recorded and reported.
* ``jetpackjules_nyc_bbo/kalshi_market_history.csv``: 1-minute REST polls of ``/markets``
  (legacy integer cents, aware UTC timestamps): bids, last price, volume, open interest. A 0
  bid is an empty side and a 0 ``last_price`` means no trade yet; both become ``None``.
* ``sameeres_nyc_chi/kalshi_market_microstructure_snapshots.parquet``: 1-minute ``/markets``
  polls with top-of-book sizes (``market_yes_bid_cents``/``_size``, ``market_no_bid_cents``,
  ``market_yes_ask_size``). The size at an empty side is dropped with the side.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.kalshi.ladders import frame, write_rows
from kbayes.io.importers.kalshi.tables import (
    RowChecks,
    file_lines,
    localize_naive,
    read_csv,
    ticker_meta,
)
from kbayes.io.kalshi_wire import (
    cents_series_to_cc,
    contracts_series_to_centi,
    utc_series,
)
from kbayes.market.prices import CC_PER_DOLLAR
from kbayes.market.records import BookTopRecord, RawMessageRecord

LOG_TZ = "America/Los_Angeles"
_LOG_COLUMNS = ("timestamp", "market_ticker", "best_yes_bid", "best_no_bid")


def _bid(df: pd.DataFrame, col: str, rows: RowChecks) -> pd.Series:
    """A best bid in cc with 0 (the logger's empty side) as ``None``; out-of-range flagged."""
    cc, bad = cents_series_to_cc(df[col], col)
    rows.flag(bad.to_numpy(), col, df[col], "not a price in cents")
    rows.flag(
        ((cc < 0) | (cc >= CC_PER_DOLLAR)).fillna(False).to_numpy(),
        col,
        df[col],
        "outside [0, 100)",
    )
    return cc.where(cc > 0)


def load_bbo_log(path: Path, ctx: ImportContext) -> None:
    """Import one Jetpackjules BBO log (see the module docstring)."""
    df = read_csv(path, ctx)
    missing = [c for c in _LOG_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not a BBO log: columns {missing} missing (have {list(df.columns)})")
    line = file_lines(df)
    rows = RowChecks(ctx, df, lambda i: f"line {line[i]}:{df['market_ticker'].iat[i]}")
    ts, bad_ts = localize_naive(df["timestamp"], LOG_TZ)
    rows.flag(bad_ts, "timestamp", df["timestamp"], f"unparseable or not a valid {LOG_TZ} time")
    ev, city = ticker_meta(df["market_ticker"], rows)
    yes = _bid(df, "best_yes_bid", rows)
    no = _bid(df, "best_no_bid", rows)
    for ask, other in (("implied_yes_ask", "best_no_bid"), ("implied_no_ask", "best_yes_bid")):
        if ask in df.columns:
            a = pd.to_numeric(df[ask], errors="coerce")
            o = pd.to_numeric(df[other], errors="coerce")
            rows.flag((a != 100 - o).fillna(True).to_numpy(), ask, df[ask], f"!= 100 - {other}")
    last = None
    if "last_trade_price" in df.columns:
        last, bad_last = cents_series_to_cc(df["last_trade_price"], "last_trade_price")
        rows.flag(bad_last.to_numpy(), "last_trade_price", df["last_trade_price"], "not cents")
        last = last.where(last > 0)
    keep = rows.report()
    crossed = ((yes + no) > CC_PER_DOLLAR).fillna(False).to_numpy() & keep
    for i in np.flatnonzero(crossed):
        ctx.issue(
            rows.label(i),
            "best_yes_bid+best_no_bid",
            f"{df['best_yes_bid'].iat[i]}+{df['best_no_bid'].iat[i]}",
            "crossed book (bids sum above 100c); row kept as recorded",
        )
    out = pd.DataFrame(
        {
            "ts": ts,
            "ticker": df["market_ticker"],
            "event_ticker": ev,
            "city": city,
            "yes_bid_cc": yes,
            "no_bid_cc": no,
            "yes_bid_size_centi": None,
            "yes_ask_size_centi": None,
            "last_price_cc": last,
            "volume_centi": None,
            "open_interest_centi": None,
            "source": "jetpackjules_ws_bbo",
        }
    )[keep]
    ctx.write(BookTopRecord, frame(BookTopRecord, out, ctx.source_file))


def load_market_history(path: Path, ctx: ImportContext) -> None:
    """Import Jetpackjules' ``kalshi_market_history.csv`` REST polls (see the docstring)."""
    df = read_csv(path, ctx)
    need = ("timestamp", "ticker", "yes_bid", "no_bid")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"not a market-history poll file: columns {missing} missing")
    line = file_lines(df)
    rows = RowChecks(ctx, df, lambda i: f"line {line[i]}:{df['ticker'].iat[i]}")
    ts, bad_ts = utc_series(df["timestamp"])
    rows.flag(bad_ts.to_numpy(), "timestamp", df["timestamp"], "missing, naive or unparseable")
    ev, city = ticker_meta(df["ticker"], rows, "ticker")
    yes = _bid(df, "yes_bid", rows)
    no = _bid(df, "no_bid", rows)
    if "yes_ask" in df.columns:
        a = pd.to_numeric(df["yes_ask"], errors="coerce")
        o = pd.to_numeric(df["no_bid"], errors="coerce")
        rows.flag((a != 100 - o).fillna(True).to_numpy(), "yes_ask", df["yes_ask"], "!= 100-no_bid")
    extra = {}
    for col, out_col in (
        ("last_price", "last_price_cc"),
        ("volume", "volume_centi"),
        ("open_interest", "open_interest_centi"),
    ):
        if col not in df.columns:
            extra[out_col] = None
            continue
        conv = cents_series_to_cc if col == "last_price" else contracts_series_to_centi
        vals, bad = conv(df[col], col)
        rows.flag(bad.to_numpy(), col, df[col], "not a number on the exact grid")
        extra[out_col] = vals.where(vals > 0) if col == "last_price" else vals
    keep = rows.report()
    out = pd.DataFrame(
        {
            "ts": ts,
            "ticker": df["ticker"],
            "event_ticker": ev,
            "city": city,
            "yes_bid_cc": yes,
            "no_bid_cc": no,
            "yes_bid_size_centi": None,
            "yes_ask_size_centi": None,
            **extra,
            "source": "jetpackjules_rest_poll",
        }
    )[keep]
    ctx.write(BookTopRecord, frame(BookTopRecord, out, ctx.source_file))


def load_microstructure(path: Path, ctx: ImportContext) -> None:
    """Import sameeres' microstructure snapshots (see the module docstring)."""
    df = pd.read_parquet(path).reset_index(drop=True)
    need = ("snapshot_ts", "market_ticker", "market_yes_bid_cents", "market_no_bid_cents")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"not a microstructure snapshot table: columns {missing} missing")
    rows = RowChecks(ctx, df, lambda i: f"row {i}:{df['market_ticker'].iat[i]}")
    ts, bad_ts = utc_series(df["snapshot_ts"])
    rows.flag(bad_ts.to_numpy(), "snapshot_ts", df["snapshot_ts"], "missing, naive or unparseable")
    ev, city = ticker_meta(df["market_ticker"], rows)
    yes = _bid(df, "market_yes_bid_cents", rows)
    no = _bid(df, "market_no_bid_cents", rows)
    sizes = {}
    for col, side in (("market_yes_bid_size", yes), ("market_yes_ask_size", no)):
        vals, bad = contracts_series_to_centi(df[col], col)
        rows.flag(bad.to_numpy(), col, df[col], "not a contract count")
        # The YES ask is the NO bid; its size only means something while that side exists.
        sizes[col] = vals.where(side.notna())
    extra = {}
    for col, out_col, conv in (
        ("last_price_cents", "last_price_cc", cents_series_to_cc),
        ("volume_contracts", "volume_centi", contracts_series_to_centi),
        ("open_interest_contracts", "open_interest_centi", contracts_series_to_centi),
    ):
        vals, bad = conv(df[col], col)
        rows.flag(bad.to_numpy(), col, df[col], "not a number on the exact grid")
        extra[out_col] = vals.where(vals > 0) if out_col == "last_price_cc" else vals
    keep = rows.report()
    out = pd.DataFrame(
        {
            "ts": ts,
            "ticker": df["market_ticker"],
            "event_ticker": ev,
            "city": city,
            "yes_bid_cc": yes,
            "no_bid_cc": no,
            "yes_bid_size_centi": sizes["market_yes_bid_size"],
            "yes_ask_size_centi": sizes["market_yes_ask_size"],
            **extra,
            "source": "sameeres_rest_poll",
        }
    )[keep]
    ctx.write(BookTopRecord, frame(BookTopRecord, out, ctx.source_file))


def load_manifest(path: Path, ctx: ImportContext) -> None:
    """Keep the BBO logs' ``manifest.json`` verbatim and report listed logs that are absent.

    PROVENANCE: 8 logs over 4 MiB were not in the stored snapshot; each is reported so the gap
    in the BBO coverage is visible in the import report.
    """
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    received = None
    try:
        received = localize_naive(pd.Series([doc.get("last_updated")]), LOG_TZ)[0].iloc[0]
    except (TypeError, ValueError):
        received = None
    if received is None or pd.isna(received):
        ctx.issue(path.name, "last_updated", doc.get("last_updated"), "unparseable; kept empty")
        received = None
    raw = {
        "line_no": 0,
        "received_ts": received,
        "msg_type": "bbo_log_manifest",
        "ticker": None,
        "payload": text,
    }
    write_rows(ctx, RawMessageRecord, [raw])
    for name in doc.get("files", []):
        if not any((path.parent / f"{name}{ext}").is_file() for ext in ("", ".xz")):
            ctx.issue(
                path.name, "files", name, "listed in the manifest but not staged (no BBO rows)"
            )


register(
    Importer(
        "kalshi.jetpackjules_bbo",
        (
            "kalshi/jetpackjules_nyc_bbo/market_data_*.csv.xz",
            "kalshi/jetpackjules_nyc_bbo/local_market_data_*.csv.xz",
        ),
        load_bbo_log,
        "Jetpackjules WebSocket BBO logs (naive US/Pacific) -> book_top",
    )
)
register(
    Importer(
        "kalshi.jetpackjules_bbo_manifest",
        ("kalshi/jetpackjules_nyc_bbo/server_market_logs_manifest.json",),
        load_manifest,
        "the BBO logs' manifest -> raw_messages (+ issues for logs not staged)",
    )
)
register(
    Importer(
        "kalshi.jetpackjules_rest_polls",
        ("kalshi/jetpackjules_nyc_bbo/kalshi_market_history.csv",),
        load_market_history,
        "Jetpackjules 1-minute REST polls -> book_top",
    )
)
register(
    Importer(
        "kalshi.sameeres_microstructure",
        ("kalshi/sameeres_nyc_chi/kalshi_market_microstructure_snapshots.parquet",),
        load_microstructure,
        "sameeres 1-minute /markets polls with sizes -> book_top",
    )
)
