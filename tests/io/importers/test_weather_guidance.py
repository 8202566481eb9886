"""HRRR/NBM guidance and the NWS gridpoint snapshot log."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from kbayes.io.importers.weather.guidance import load_noaa_guidance, load_nws_point_log
from tests.io.importers.weather_util import run_loader


def test_guidance_rows(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "city,station,target_date,model,run_datetime_utc,peak_window_max_f,timezone\n"
        "austin,KAUS,2023-01-01,hrrr,2022-12-31T12:00Z,70.56,America/Chicago\n"
        "austin,KAUS,2023-01-01,nbm,2022-12-31T12:00Z,73.71,America/Chicago\n"
        "austin,KAUS,2023-01-02,nbm,2023-01-01T12:00,73.71,America/Chicago\n"  # naive
        "austin,KAUS,2023-01-03,nbm,2023-01-02T12:00Z,73.71,America/Denver\n"  # wrong zone
        "austin,KAUS,2023-01-04,nbm,2023-01-03T12:00Z,,America/Chicago\n"  # no value
    )
    store, ctx = run_loader(load_noaa_guidance, path)
    df = store.read("forecast_daily").sort_values("provider").reset_index(drop=True)
    assert list(df["provider"]) == ["hrrr", "nbm"]
    assert set(df["issued_at"]) == {pd.Timestamp("2022-12-31 12:00", tz="UTC")}
    assert list(df["lead_days"]) == [1.0, 1.0]
    assert list(df["tmax_f"]) == [70.56, 73.71]
    assert df["tmin_f"].isna().all()
    assert [(i.record, i.field) for i in ctx.issues] == [
        ("line 4", "run_datetime_utc"),
        ("line 5", "timezone"),
        ("line 6", "peak_window_max_f"),
    ]


def test_nws_log(tmp_path: Path) -> None:
    data = {
        "forecasts": [
            {
                # 03:37 UTC is 22:37 EST on the 19th: the 19th is "today" (lead 0) in New York.
                "timestamp": "2026-02-20T03:37:34.695176+00:00",
                "cities": {
                    "New York": {"2026-02-19": 42, "2026-02-20": 40},
                    "Phoenix": {"2026-02-19": 70},
                    "Chicago": {"error": "The read operation timed out"},
                    "Miami": {"2026-02-19": "warm"},
                },
            },
            {"timestamp": "2026-02-20T04:37:00", "cities": {"New York": {"2026-02-20": 41}}},
        ],
        "actuals": {"New York_2026-02-19": 43, "Phoenix_2026-02-19": 71, "bad key": 1},
    }
    path = tmp_path / "log.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump(data, f)
    store, ctx = run_loader(load_nws_point_log, path)
    fc = store.read("forecast_daily").sort_values("target_date").reset_index(drop=True)
    assert list(fc["target_date"]) == [dt.date(2026, 2, 19), dt.date(2026, 2, 20)]
    assert list(fc["lead_days"]) == [0.0, 1.0]
    assert list(fc["tmax_f"]) == [42.0, 40.0]
    assert set(fc["provider"]) == {"nws_gridpoint"} and set(fc["city"]) == {"NY"}
    assert set(fc["issued_at"]) == {pd.Timestamp("2026-02-20 03:37:34.695176", tz="UTC")}
    act = store.read("official_highs")
    assert act[["station", "date", "tmax_f", "source"]].values.tolist() == [
        ["KNYC", dt.date(2026, 2, 19), 43, "nws_log_actual"]
    ]
    fields = {(i.record.split(" ")[0], i.field) for i in ctx.issues}
    assert ("forecasts[0]", "error") in fields  # Chicago fetch failure
    assert ("forecasts[0]", "2026-02-19") in fields  # Miami "warm"
    assert ("forecasts[1]", "timestamp") in fields  # naive snapshot time
    assert ("actuals['bad", "key") in fields
    phoenix = [i for i in ctx.issues if i.record == "Phoenix"]
    assert len(phoenix) == 1 and "2 values" in phoenix[0].message


@pytest.mark.realdata
def test_real_guidance_and_log(shared_data: Path) -> None:
    fdir = shared_data / "weather/forecasts"
    store, ctx = run_loader(
        load_noaa_guidance, next((fdir / "noaa_guidance").glob("*.csv")), root=shared_data
    )
    assert ctx.issues == []
    assert store.count("forecast_daily") == 4262
    store, ctx = run_loader(
        load_nws_point_log,
        next((fdir / "nws_point_forecast_log").glob("*.json.gz")),
        root=shared_data,
    )
    assert store.count("official_highs") == 7 * 24  # the 7 settlement cities' actuals
    errors = [i for i in ctx.issues if i.field == "error"]
    assert len(errors) == 87  # failed fetches of settlement cities (of 238 in all)
    n = store.query("SELECT min(lead_days) lo, max(lead_days) hi FROM forecast_daily").iloc[0]
    assert (n["lo"], n["hi"]) == (-1.0, 6.0)
