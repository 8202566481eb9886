"""All weather files are claimed, and importing them twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kbayes.io.importers import all_importers
from kbayes.io.ingest import plan, run_import
from kbayes.io.store import DuckDBStore

WEATHER_TABLES = (
    "weather_obs",
    "forecast_hourly",
    "forecast_daily",
    "official_highs",
    "raw_messages",
)


def _weather_importers() -> set[str]:
    return {i.name for i in all_importers() if i.name.startswith("weather.")}


@pytest.mark.realdata
def test_every_weather_file_is_claimed(shared_data: Path) -> None:
    names = _weather_importers()
    claimed = {p for imp, p in plan(shared_data) if imp.name in names}
    files = {
        p
        for p in (shared_data / "weather").rglob("*")
        if p.is_file() and p.suffix != ".md" and "kalshi_results" not in p.parts
    }
    assert files - claimed == set()
    # ... and nothing of the Kalshi helper's folder is taken.
    assert not any("kalshi_results" in p.parts for p in claimed)


def _snapshot(store: DuckDBStore) -> dict[str, pd.DataFrame]:
    out = {}
    for table in WEATHER_TABLES:
        df = store.read(table)
        out[table] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return out


@pytest.mark.realdata
def test_reimport_is_idempotent(shared_data: Path) -> None:
    # One importer per table (the 1.1 M-row VC hourly files and the tidy cross-check are left
    # out to keep the suite fast; every loader writes through the same replace-by-file path).
    only = {
        "weather.daily_truth",
        "weather.ncei_5min",
        "weather.nws_point_log",
        "weather.nws_cli",
        "weather.nws_text_raw",
    }
    assert only <= _weather_importers()
    store = DuckDBStore()
    first = run_import(shared_data, store, only=only)
    assert first.failed == {}
    before = _snapshot(store)
    assert len(before["weather_obs"]) == 35283
    again = run_import(shared_data, store, only=only, force=True)
    assert again.failed == {} and again.files == first.files
    after = _snapshot(store)
    for table in WEATHER_TABLES:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)
    issues = store.query("SELECT count(*) AS n FROM import_issues").iloc[0]["n"]
    assert issues == len(again.issues)
    unchanged = run_import(shared_data, store, only=only)
    assert unchanged.files == {} and len(unchanged.unchanged) == len(first.files)
