"""Coverage of a store per city and source: days, markets, trades, observations, gaps, outcomes."""

from __future__ import annotations

import pandas as pd

from kbayes.io.store import Store
from kbayes.market.cities import CITIES


def coverage(store: Store) -> pd.DataFrame:
    """One row per (dataset, city, source) with counts and date ranges."""
    parts = []
    q = store.query
    parts.append(
        q(
            "SELECT 'events' AS dataset, city, source, count(DISTINCT climate_date) AS days, "
            "count(*) AS n_rows, min(climate_date)::VARCHAR AS first, "
            "max(climate_date)::VARCHAR AS last, count(outcome_f) + count(outcome_ticker) - "
            "count(CASE WHEN outcome_f IS NOT NULL AND outcome_ticker IS NOT NULL THEN 1 END) "
            "AS outcomes_known FROM events GROUP BY city, source"
        )
    )
    parts.append(
        q(
            "SELECT 'markets' AS dataset, city, source, count(DISTINCT climate_date) AS days, "
            "count(*) AS n_rows, min(climate_date)::VARCHAR AS first, "
            "max(climate_date)::VARCHAR AS last, "
            "count(CASE WHEN result IN ('yes','no') THEN 1 END) AS outcomes_known "
            "FROM markets GROUP BY city, source"
        )
    )
    parts.append(
        q(
            "SELECT 'trades' AS dataset, city, source, count(DISTINCT event_ticker) AS days, "
            "count(*) AS n_rows, min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last, "
            "NULL AS outcomes_known FROM trades GROUP BY city, source"
        )
    )
    parts.append(
        q(
            "SELECT 'book_top' AS dataset, city, source, count(DISTINCT event_ticker) AS days, "
            "count(*) AS n_rows, min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last, "
            "NULL AS outcomes_known FROM book_top GROUP BY city, source"
        )
    )
    parts.append(
        q(
            "SELECT 'candles' AS dataset, city, source, count(DISTINCT event_ticker) AS days, "
            "count(*) AS n_rows, min(start)::VARCHAR AS first, max(start)::VARCHAR AS last, "
            "NULL AS outcomes_known FROM candles GROUP BY city, source"
        )
    )
    station_city = {c.station: c.key for c in CITIES.values()}
    obs = q(
        "SELECT 'weather_obs' AS dataset, station, source, "
        "count(DISTINCT (ts AT TIME ZONE 'UTC')::DATE) AS days, count(*) AS n_rows, "
        "min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last, NULL AS outcomes_known "
        "FROM weather_obs GROUP BY station, source"
    )
    obs.insert(1, "city", obs.pop("station").map(lambda s: station_city.get(s, s)))
    parts.append(obs)
    for table, date_col in (("official_highs", "date"), ("forecast_daily", "target_date")):
        source_col = "source" if table == "official_highs" else "provider"
        df = q(
            f"SELECT '{table}' AS dataset, station, {source_col} "
            f"AS source, count(DISTINCT {date_col}) AS days, count(*) AS n_rows, "
            f"min({date_col})::VARCHAR AS first, max({date_col})::VARCHAR AS last, "
            "NULL AS outcomes_known "
            f"FROM {table} GROUP BY station, source"
        )
        df.insert(1, "city", df.pop("station").map(lambda s: station_city.get(s, s)))
        parts.append(df)
    out = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    return out.sort_values(["dataset", "city", "source"]).reset_index(drop=True)


def observation_gaps(store: Store, min_gap_minutes: int = 60) -> pd.DataFrame:
    """Gaps longer than ``min_gap_minutes`` between consecutive reports per station and source."""
    return store.query(
        "SELECT station, source, count(*) AS n_gaps, max(gap_min) AS longest_gap_min FROM ("
        "  SELECT station, source, date_diff('minute', lag(ts) OVER (PARTITION BY station, source "
        "  ORDER BY ts), ts) AS gap_min FROM weather_obs) "
        "WHERE gap_min > ? GROUP BY station, source ORDER BY station, source",
        [min_gap_minutes],
    )
