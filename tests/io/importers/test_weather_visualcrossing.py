"""Visual Crossing importers: UTC target times, basis-date 12 UTC issuance, recomputed leads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from kbayes.io.importers.weather.visual_crossing_import import load_daily, load_hourly
from tests.io.importers.weather_util import run_loader

HOURLY_HEAD = (
    "city,station,target_datetime_local,target_datetime_utc,forecast_basis_date,lead_hours,"
    "temp_f,humidity,dew_f,precip_in,precipprob,windspeed_mph,cloudcover,conditions\n"
)


def test_hourly_time_zones_and_leads(tmp_path: Path) -> None:
    path = tmp_path / "vc_hist_fcst_hourly_chicago.csv"
    path.write_text(
        HOURLY_HEAD
        # "local" column = UTC (the PROVENANCE caveat), producer lead = target − (basis + 12 h).
        + "chicago,KMDW,2023-07-01T21:00,2023-07-01T21:00Z,2023-06-30,33,88.0,40,60,0,,5,10,C\n"
        # "local" column = real CDT clock time (UTC−5); producer lead measured from basis 00Z.
        + "chicago,KMDW,2023-07-01T16:00,2023-07-01T21:00Z,2023-06-29,69,87.0,40,60,0,5,5,10,C\n"
        # Winter, CST (UTC−6) clock time.
        + "chicago,KMDW,2023-01-01T00:00,2023-01-01T06:00Z,2022-12-30,54,29.2,99,29,0,14,4,100,C\n"
        # Neither UTC nor clock time: skipped.
        + "chicago,KMDW,2023-07-01T18:00,2023-07-01T21:00Z,2023-06-28,81,87.0,40,60,0,5,5,10,C\n"
        # Naive "UTC" column: skipped.
        + "chicago,KMDW,2023-07-01T21:00,2023-07-01T21:00,2023-06-27,105,87.0,40,60,0,5,5,10,C\n"
        # Unknown station: skipped.
        + "gotham,KXXX,2023-07-01T21:00,2023-07-01T21:00Z,2023-06-30,33,80.0,40,60,0,5,5,10,C\n"
    )
    store, ctx = run_loader(load_hourly, path)
    df = store.read("forecast_hourly").sort_values("issued_at").reset_index(drop=True)
    assert len(df) == 3
    assert df["target_ts"].dt.tz is not None and df["issued_at"].dt.tz is not None
    assert list(df["target_ts"]) == [
        pd.Timestamp("2023-01-01 06:00", tz="UTC"),
        pd.Timestamp("2023-07-01 21:00", tz="UTC"),
        pd.Timestamp("2023-07-01 21:00", tz="UTC"),
    ]
    assert list(df["issued_at"]) == [
        pd.Timestamp("2022-12-30 12:00", tz="UTC"),
        pd.Timestamp("2023-06-29 12:00", tz="UTC"),
        pd.Timestamp("2023-06-30 12:00", tz="UTC"),
    ]
    assert list(df["lead_hours"]) == [42.0, 57.0, 33.0]
    assert set(df["city"]) == {"CHI"} and set(df["provider"]) == {"visualcrossing"}
    assert pd.isna(df.loc[2, "precipprob"])  # stored NULL, reported below
    fields = {(i.record, i.field) for i in ctx.issues}
    assert ("line 5", "target_datetime_local") in fields
    assert ("line 6", "target_datetime_utc") in fields
    assert ("line 7", "station") in fields
    assert any(f == "precipprob" for _, f in fields)
    assert any(f == "lead_hours" for _, f in fields)  # the two clock-time rows' +12 h


def test_daily_issued_at_and_lead_days(tmp_path: Path) -> None:
    path = tmp_path / "vc_hist_fcst_daily_miami.csv"
    path.write_text(
        "city,station,target_date,forecast_basis_date,lead_days,tempmax_f,tempmin_f,temp_f,"
        "humidity,precip_in,precipprob,windspeed_mph,windgust_mph,cloudcover,conditions\n"
        "miami,KMIA,2023-01-01,2023-01-01,0,76.7,66.8,72.1,91.7,0.0,4.8,6.9,11.9,77.1,P\n"
        "miami,KMIA,2023-01-03,2023-01-01,3,75.0,65.0,70,90,0,4,6,11,70,P\n"  # lead should be 2
        "miami,KMIA,2023-01-04,2023-01-01,3,hot,65.0,70,90,0,4,6,11,70,P\n"
    )
    store, ctx = run_loader(load_daily, path)
    df = store.read("forecast_daily").sort_values("target_date").reset_index(drop=True)
    assert list(df["target_date"]) == [dt.date(2023, 1, 1), dt.date(2023, 1, 3)]
    assert set(df["issued_at"]) == {pd.Timestamp("2023-01-01 12:00", tz="UTC")}
    assert list(df["lead_days"]) == [0.0, 2.0]
    assert list(df["tmax_f"]) == [76.7, 75.0]
    assert {(i.record, i.field) for i in ctx.issues} == {
        ("line 3", "lead_days"),
        ("line 4", "tempmax_f"),
    }


@pytest.mark.realdata
def test_real_austin_hourly_is_utc(shared_data: Path) -> None:
    path = shared_data / "weather/forecasts/visualcrossing_hourly/vc_hist_fcst_hourly_austin.csv.gz"
    store, ctx = run_loader(load_hourly, path, root=shared_data)
    raw = pd.read_csv(path, usecols=["target_datetime_utc", "forecast_basis_date"])
    assert store.count("forecast_hourly") == len(raw) == 184638
    df = store.query(
        "SELECT target_ts, issued_at, lead_hours, temp_f FROM forecast_hourly "
        "ORDER BY issued_at, target_ts"
    )
    expected = pd.to_datetime(raw["target_datetime_utc"], utc=True).sort_values()
    assert (
        df["target_ts"].sort_values().reset_index(drop=True).equals(expected.reset_index(drop=True))
    )
    assert (df["issued_at"].dt.hour == 12).all()
    assert ((df["target_ts"] - df["issued_at"]) / pd.Timedelta(hours=1)).eq(df["lead_hours"]).all()
    # Austin's afternoon peak is ≈ 15-16 CST = 21-22 UTC; coolest near sunrise, ≈ 12-13 UTC.
    by_hour = df.groupby(df["target_ts"].dt.hour)["temp_f"].mean()
    assert by_hour.idxmax() in (20, 21, 22)
    assert by_hour.idxmin() in (11, 12, 13)
    # The 5 376 rows whose local column is clock time are reported, not guessed.
    note = [i for i in ctx.issues if i.field == "target_datetime_local"]
    assert len(note) == 1 and "5376" in note[0].message
