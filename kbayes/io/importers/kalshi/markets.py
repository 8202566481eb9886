"""Market metadata tables and REST market pages -> markets and validated events.

* ``sameeres_nyc_chi/kalshi_markets_KXHIGHNY_2021-2026_v4424bd0.parquet`` (NYC 2021-2026) and
  ``sameeres_nyc_chi/kalshi_markets.parquet`` (NYC+CHI Nov 2025 - Jan 2026): flat rows of
  market metadata without results (source ``sameeres_markets``). Old ``HIGHNY`` rows lack the
  strike fields and use labels such as ``>66°``, ``55-56°``, ``>60º``; their bracket comes from
  the label checked against the ticker (see :mod:`.ladders`). Many 2021-2022 events have 1, 2,
  4 or 5 markets that do not tile; they are reported and get no event row. ``strike_date`` is
  not used: in the 2025 table it is midnight of the climate day, not a trading time.
* ``weather/kalshi_results/kxhighny_markets_history_2025.csv`` (Jetpackjules): NYC markets
  Apr-Aug 2025 with ``result`` and ``volume`` but no strike fields (source
  ``jetpackjules_markets``); bracket from label + ticker, events with outcomes.
* ``protocol_captures/tmer234_kxhighny_*_trimmed.json``: verbatim ``GET /markets`` pages in the
  current dollar-string format (source ``kalshi_rest``). The fixtures are trimmed to 2-3
  markets per event, so their events are reported as not tiling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.kalshi.ladders import markets_and_events, write_markets_events
from kbayes.io.importers.kalshi.tables import file_lines, read_csv_rows
from kbayes.market.cities import UnknownCityError, city_of, city_of_ticker

_SAMEERES_COLUMNS = ("market_ticker", "event_ticker", "market_subtitle", "strike_type")
_HISTORY_COLUMNS = ("event_ticker", "market_ticker", "subtitle", "status", "result", "volume")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Row dicts with NaN/NA turned into ``None``."""
    out = df.astype(object).where(df.notna(), None)
    return out.to_dict("records")


def load_sameeres_markets(path: Path, ctx: ImportContext) -> None:
    """Import a sameeres market-metadata parquet (see the module docstring)."""
    df = pd.read_parquet(path)
    missing = [c for c in _SAMEERES_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not a sameeres market table: columns {missing} missing")
    items = []
    for i, row in enumerate(_records(df)):
        label = f"row {i}:{row.get('market_ticker')}"
        key = row.get("city_key")
        try:
            if key is not None and city_of(key) != city_of_ticker(str(row["market_ticker"])):
                ctx.issue(label, "city_key", key, "market skipped: city_key contradicts ticker")
                continue
        except UnknownCityError as exc:
            ctx.issue(label, "city_key", key, f"market skipped: {exc}")
            continue
        # The table's ``strike_date`` is not Kalshi's; drop it so it is not mistaken for one.
        row.pop("strike_date", None)
        items.append((label, row))
    markets, events = markets_and_events(ctx, items, source="sameeres_markets")
    write_markets_events(ctx, markets, events)


def load_markets_history_csv(path: Path, ctx: ImportContext) -> None:
    """Import Jetpackjules' ``kxhighny_markets_history_2025.csv`` (see the module docstring)."""
    df = read_csv_rows(path, ctx, dtype={"result": "string", "status": "string"})
    missing = [c for c in _HISTORY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not a markets-history table: columns {missing} missing")
    line = file_lines(df)
    items = [(f"line {line[i]}:{r.get('market_ticker')}", r) for i, r in enumerate(_records(df))]
    markets, events = markets_and_events(
        ctx, items, source="jetpackjules_markets", report_recovery=False
    )
    write_markets_events(ctx, markets, events)


def market_objects(doc: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(label, market)`` pairs from a REST body: ``/markets`` page, ``/events/{e}`` or
    ``/markets/{ticker}`` (``{"market": ...}``).

    Raises:
        ValueError: the body holds no market objects.
    """
    if isinstance(doc, dict) and isinstance(doc.get("markets"), list):
        objs = doc["markets"]
        event = doc.get("event") if isinstance(doc.get("event"), dict) else {}
    elif isinstance(doc, dict) and isinstance(doc.get("market"), dict):
        objs, event = [doc["market"]], {}
    else:
        raise ValueError("no 'markets' list or 'market' object in the body")
    out = []
    for i, m in enumerate(objs):
        if isinstance(m, dict) and event.get("event_ticker") and not m.get("event_ticker"):
            m = {**m, "event_ticker": event["event_ticker"]}
        ticker = m.get("ticker") if isinstance(m, dict) else None
        out.append((f"markets[{i}]:{ticker}", m))
    return out


def load_rest_markets(path: Path, ctx: ImportContext) -> None:
    """Import a verbatim REST markets/events body (see the module docstring)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    markets, events = markets_and_events(ctx, market_objects(doc), source="kalshi_rest")
    write_markets_events(ctx, markets, events)


register(
    Importer(
        "kalshi.sameeres_markets",
        (
            "kalshi/sameeres_nyc_chi/kalshi_markets_KXHIGHNY_2021-2026_v4424bd0.parquet",
            "kalshi/sameeres_nyc_chi/kalshi_markets.parquet",
        ),
        load_sameeres_markets,
        "sameeres market metadata (no results) -> markets, events",
        order=12,
    )
)
register(
    Importer(
        "kalshi.jetpackjules_markets",
        ("weather/kalshi_results/kxhighny_markets_history_*.csv",),
        load_markets_history_csv,
        "Jetpackjules NYC market history with results -> markets, events",
        order=12,
    )
)
register(
    Importer(
        "kalshi.rest_markets",
        ("kalshi/protocol_captures/tmer234_kxhighny_*_trimmed.json",),
        load_rest_markets,
        "verbatim GET /markets pages (dollar-string format) -> markets",
        order=12,
    )
)
