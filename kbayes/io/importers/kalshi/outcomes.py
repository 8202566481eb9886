"""Settlement labels from third parties: winning brackets and a daily-high proxy.

* ``jetpackjules_nyc_bbo/kalshi_settlement_vs_actual_weather.csv`` and its byte-identical copy
  ``weather/kalshi_results/kxhighny_settlement_vs_obs_*.csv`` (both NYC, 2025-04-27 to
  2025-08-02): ``date`` and ``winning_market`` (a bracket label such as ``"79° to 80°"``) ->
  :class:`BracketOutcomeRecord` for ``KXHIGHNY-<date>`` (source ``jetpackjules_settlement``).
  ``kalshi_settlement_temp`` is the bracket midpoint, not the official high, so it is only
  cross-checked. The other columns are that author's own observations and are not imported.
  Because the two files are copies, every outcome appears twice with different
  ``source_file``; consumers deduplicate on ``(event_ticker, source)``.
* ``sameeres_nyc_chi/weather_daily.parquet``: GHCND TMAX for KNYC and KMDW ->
  :class:`OfficialHighRecord` (source ``ghcnd_sameeres``), ``tmax_f`` rounded half-up
  (``floor(x + 0.5)``, after removing float noise at 1e-6 °F). GHCND is a settlement proxy: it
  can differ by 1 °F from the NWS CLI value that settles Kalshi markets.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.kalshi.ladders import frame, normalize_label
from kbayes.io.importers.kalshi.tables import RowChecks, file_lines, read_csv_rows
from kbayes.market.bracket import bounds_from_subtitle
from kbayes.market.cities import CITIES, UnknownCityError, city_of
from kbayes.market.records import BracketOutcomeRecord, OfficialHighRecord

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def event_ticker_for(series: str, day: dt.date) -> str:
    """``KXHIGHNY`` + 2025-08-02 -> ``KXHIGHNY-25AUG02``."""
    return f"{series}-{day.year % 100:02d}{_MONTHS[day.month - 1]}{day.day:02d}"


def load_settlement_csv(path: Path, ctx: ImportContext) -> None:
    """Import a Jetpackjules NYC settlement table (see the module docstring)."""
    df = read_csv_rows(path, ctx, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in ("date", "winning_market") if c not in df.columns]
    if missing:
        raise ValueError(f"not a settlement table: columns {missing} missing")
    city = CITIES["NY"]  # both staged copies are NYC-only (PROVENANCE 2; weather PROVENANCE 3)
    line = file_lines(df)
    rows = RowChecks(ctx, df, lambda i: f"line {line[i]}:{df['date'].iat[i]}")
    days = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    rows.flag(days.isna().to_numpy(), "date", df["date"], "not a YYYY-MM-DD date")
    bounds = [bounds_from_subtitle(normalize_label(x)) for x in df["winning_market"]]
    rows.flag([b is None for b in bounds], "winning_market", df["winning_market"], "no bracket")
    keep = rows.report()
    mid = pd.to_numeric(df.get("kalshi_settlement_temp", pd.Series(np.nan, index=df.index)))
    out = []
    for i in np.flatnonzero(keep):
        lo, hi = bounds[i]
        day = days.iat[i].date()
        label = str(df["winning_market"].iat[i])
        both = lo is not None and hi is not None
        if both and not pd.isna(mid.iat[i]) and not math.isclose(mid.iat[i], (lo + hi) / 2):
            ctx.issue(
                rows.label(i),
                "kalshi_settlement_temp",
                df["kalshi_settlement_temp"].iat[i],
                f"is not the midpoint of {label!r}; outcome kept from the label",
            )
        out.append(
            {
                "event_ticker": event_ticker_for(city.series, day),
                "city": city.key,
                "climate_date": day,
                "lo_f": lo,
                "hi_f": hi,
                "label": label,
                "source": "jetpackjules_settlement",
            }
        )
    ctx.write(BracketOutcomeRecord, frame(BracketOutcomeRecord, out, ctx.source_file))


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)`` after snapping float noise (``36.4999999`` -> 36.5 -> 37)."""
    return math.floor(round(x, 6) + 0.5)


def load_weather_daily(path: Path, ctx: ImportContext) -> None:
    """Import sameeres' GHCND daily maxima as a settlement proxy (see the module docstring)."""
    df = pd.read_parquet(path).reset_index(drop=True)
    need = ("station_id", "city_key", "obs_date", "tmax_f")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"not a daily-weather table: columns {missing} missing")
    rows = RowChecks(
        ctx, df, lambda i: f"row {i}:{df['station_id'].iat[i]}:{df['obs_date'].iat[i]}"
    )
    cities = []
    for st, key in zip(df["station_id"], df["city_key"], strict=True):
        try:
            c = city_of(st)
            cities.append(c.key if city_of(key) == c else None)
        except UnknownCityError:
            cities.append(None)
    cities_s = pd.Series(cities, index=df.index, dtype=object)
    rows.flag(
        cities_s.isna().to_numpy(),
        "station_id",
        df["station_id"],
        "unknown station or not the city_key city",
    )
    days = pd.to_datetime(df["obs_date"], format="%Y-%m-%d", errors="coerce")
    rows.flag(days.isna().to_numpy(), "obs_date", df["obs_date"], "not a YYYY-MM-DD date")
    tmax = pd.to_numeric(df["tmax_f"], errors="coerce")
    rows.flag(tmax.isna().to_numpy(), "tmax_f", df["tmax_f"], "missing or not a number")
    if "tmax_c" in df.columns:
        from_c = pd.to_numeric(df["tmax_c"], errors="coerce") * 9 / 5 + 32
        off = ((from_c - tmax).abs() > 0.011).fillna(False).to_numpy()
        rows.flag(off, "tmax_f", df["tmax_f"], "disagrees with tmax_c")
    keep = rows.report()
    out = pd.DataFrame(
        {
            "station": df["station_id"],
            "city": cities_s,
            "date": days.dt.date,
            "tmax_f": [None if pd.isna(x) else round_half_up(float(x)) for x in tmax],
            "source": "ghcnd_sameeres",
        }
    )[keep]
    ctx.write(OfficialHighRecord, frame(OfficialHighRecord, out, ctx.source_file))


register(
    Importer(
        "kalshi.jetpackjules_settlement",
        (
            "kalshi/jetpackjules_nyc_bbo/kalshi_settlement_vs_actual_weather.csv",
            "weather/kalshi_results/kxhighny_settlement_vs_obs_*.csv",
        ),
        load_settlement_csv,
        "Jetpackjules NYC winning brackets -> bracket_outcomes",
    )
)
register(
    Importer(
        "kalshi.sameeres_weather_daily",
        ("kalshi/sameeres_nyc_chi/weather_daily.parquet",),
        load_weather_daily,
        "sameeres GHCND TMAX (settlement proxy) -> official_highs",
    )
)
