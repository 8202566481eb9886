"""Hourly METAR/SPECI importers (GHCNh tenths °C, Weather Underground whole °F)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbayes.io.importers.weather.hourly_metar import (
    SOURCE_GHCNH,
    SOURCE_WU,
    load_ghcnh,
    load_wunderground,
)
from tests.io.importers.weather_util import issue_fields, run_loader

FOLDER = "weather/obs_hourly_ghcnh_wu"
GOOD_Q = "temperature_Quality_Code=5,dew_point_temperature_Quality_Code=5"


def ghcnh(utc: str, temp_f: float | None, kind: str = "FM15", quality: str | None = GOOD_Q,
          **extra) -> dict:  # fmt: skip
    return {
        "station": "USW00012839",
        "valid_time_utc": utc,
        "temp_native": temp_f,
        "dewpoint_native": 51.08,
        "temperature_unit": "F",
        "source_report_type": kind,
        "source_quality": quality,
        **extra,
    }


def wu(utc: str, temp_f: float | None, **extra) -> dict:
    return {
        "station": "KMIA",
        "valid_time_utc": utc,
        "temp_native": temp_f,
        "dewpoint_native": 51.0,
        "temperature_unit": "F",
        **extra,
    }


def write_tar(path: Path, members: dict[str, list[dict | str]]) -> Path:
    """A ``.tar.xz`` with one JSONL member per entry (a str entry is written verbatim)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:xz") as tar:
        for name, rows in members.items():
            data = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def obs(store) -> pd.DataFrame:
    return store.read("weather_obs").sort_values(["ts", "report_type"]).reset_index(drop=True)


def test_ghcnh_tenths_are_recovered_exactly_and_stations_mapped(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / FOLDER / "ghcnh_hourly_x.tar.xz",
        {
            "noaa_ghcnh_kmia_2024-01.jsonl": [
                ghcnh("2024-01-01T05:53:00+00:00", 57.02),  # 13.9 °C
                ghcnh("2024-01-01T06:20:00+00:00", 78.08, kind="FM16"),  # 25.6 °C
                ghcnh("2024-01-01T06:53:00+00:00", 23.0),  # -5.0 °C
            ]
        },
    )
    store, ctx = run_loader(load_ghcnh, path, root=tmp_path)
    df = obs(store)
    assert df["station"].tolist() == ["KMIA"] * 3
    assert df["temp_c"].tolist() == [13.9, 25.6, -5.0]
    assert df["temp_source"].tolist() == ["tenths"] * 3
    assert df["report_type"].tolist() == ["METAR", "SPECI", "METAR"]
    assert (df["source"] == SOURCE_GHCNH).all()
    assert df["dewpoint_c"].tolist() == [10.6] * 3
    assert str(df["ts"].dt.tz) == "UTC"
    assert ctx.issues == []


def test_synop_repeating_a_metar_is_not_double_counted(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / FOLDER / "ghcnh_hourly_x.tar.xz",
        {
            "noaa_ghcnh_kmia_2024-01.jsonl": [
                ghcnh("2024-01-01T05:53:00+00:00", 57.02),
                ghcnh("2024-01-01T06:00:00+00:00", 57.02, kind="FM12"),  # repeats 05:53
                ghcnh("2024-01-01T06:53:00+00:00", 57.92),
                ghcnh("2024-01-01T07:00:00+00:00", 59.0, kind="FM12"),  # a value of its own
                ghcnh("2024-01-01T09:00:00+00:00", 57.92, kind="FM12"),  # no METAR within 15'
            ]
        },
    )
    store, ctx = run_loader(load_ghcnh, path, root=tmp_path)
    df = obs(store)
    assert df["report_type"].tolist() == ["METAR", "METAR", "SYNOP", "SYNOP"]
    assert df["ts"].dt.strftime("%H:%M").tolist() == ["05:53", "06:53", "07:00", "09:00"]
    (note,) = [i for i in ctx.issues if i.field == "source_report_type"]
    assert note.message.startswith("1 SYNOP rows repeat")


def test_quality_codes_are_respected(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / FOLDER / "ghcnh_hourly_x.tar.xz",
        {
            "noaa_ghcnh_kmia_2024-01.jsonl": [
                ghcnh("2024-01-01T05:53:00+00:00", 57.02, quality="temperature_Quality_Code=7"),
                ghcnh("2024-01-01T06:53:00+00:00", 57.02, quality="temperature_Quality_Code=2"),
                ghcnh("2024-01-01T07:53:00+00:00", 57.02, quality="temperature_Quality_Code=X"),
                ghcnh("2024-01-01T08:53:00+00:00", 57.02, quality="temperature_Quality_Code=A"),
                ghcnh("2024-01-01T09:53:00+00:00", 57.02, quality=None),
                ghcnh(
                    "2024-01-01T10:53:00+00:00",
                    57.02,
                    quality="temperature_Quality_Code=1,dew_point_temperature_Quality_Code=3",
                ),
            ]
        },
    )
    store, ctx = run_loader(load_ghcnh, path, root=tmp_path)
    df = obs(store)
    # Nothing recorded is lost: every report is a row; rejected values are NULL.
    assert len(df) == 6
    assert df["temp_c"].isna().tolist() == [True, True, True, False, False, False]
    assert df["temp_source"].isna().tolist() == [True, True, True, False, False, False]
    assert df["dewpoint_c"].isna().tolist() == [False] * 5 + [True]
    rejected = [(i.record, i.field, i.value) for i in ctx.issues]
    assert rejected == [
        ("noaa_ghcnh_kmia_2024-01.jsonl:1", "temperature_Quality_Code", "7"),
        ("noaa_ghcnh_kmia_2024-01.jsonl:2", "temperature_Quality_Code", "2"),
        ("noaa_ghcnh_kmia_2024-01.jsonl:3", "temperature_Quality_Code", "X"),
        ("noaa_ghcnh_kmia_2024-01.jsonl:6", "dew_point_temperature_Quality_Code", "3"),
    ]


def test_bad_lines_are_issues_and_the_rest_is_kept(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / FOLDER / "ghcnh_hourly_x.tar.xz",
        {
            "noaa_ghcnh_kmia_2024-01.jsonl": [
                ghcnh("2024-01-01T05:53:00+00:00", 57.02),
                "{not json",
                ghcnh("2024-01-01T06:53:00", 57.02),  # no zone
                ghcnh("2024-01-01T07:53:00+00:00", 57.03),  # no tenths-°C value
                ghcnh("2024-01-01T08:53:00+00:00", 57.02, kind="FM99"),
                ghcnh("2024-01-01T09:53:00+00:00", 57.02, temperature_unit="C"),
                ghcnh("2024-01-01T10:53:00+00:00", "warm"),
                {**ghcnh("2024-01-01T11:53:00+00:00", 57.02), "station": "USW00013904"},
                ghcnh("2024-01-01T05:53:00+00:00", 57.02),  # duplicate
            ],
            "readme.txt": ["not a station month"],
        },
    )
    store, ctx = run_loader(load_ghcnh, path, root=tmp_path)
    df = obs(store)
    assert df["ts"].dt.strftime("%H:%M").tolist() == ["05:53", "07:53"]
    assert df["temp_c"].isna().tolist() == [False, True]
    by_record = {i.record: i.field for i in ctx.issues if i.record != "(summary)"}
    assert by_record == {
        "noaa_ghcnh_kmia_2024-01.jsonl:2": "",
        "noaa_ghcnh_kmia_2024-01.jsonl:3": "valid_time_utc",
        "noaa_ghcnh_kmia_2024-01.jsonl:4": "temp_native",
        "noaa_ghcnh_kmia_2024-01.jsonl:5": "source_report_type",
        "noaa_ghcnh_kmia_2024-01.jsonl:6": "temperature_unit",
        "noaa_ghcnh_kmia_2024-01.jsonl:7": "temp_native/dewpoint_native",
        "noaa_ghcnh_kmia_2024-01.jsonl:8": "station",
        "noaa_ghcnh_kmia_2024-01.jsonl:9": "valid_time_utc",
        "readme.txt": "",
    }


def test_wunderground_whole_fahrenheit_round_trips(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / FOLDER / "wunderground_hourly_x.tar.xz",
        {
            "wunderground_kmia_2024-01.jsonl": [
                wu("2024-01-01T05:53:00+00:00", 57.0),
                wu("2024-01-01T06:14:00+00:00", 91.0),
                wu("2024-01-01T06:53:00+00:00", None),
                wu("2024-01-01T07:53:00+00:00", 57.5),
            ]
        },
    )
    store, ctx = run_loader(load_wunderground, path, root=tmp_path)
    df = obs(store)
    assert (df["source"] == SOURCE_WU).all()
    assert df["report_type"].tolist() == ["METAR", "SPECI", "METAR", "METAR"]
    assert df["temp_source"].tolist()[:2] == ["whole_f", "whole_f"]
    back = np.round(df["temp_c"].to_numpy(dtype=float, na_value=np.nan)[:2] * 9 / 5 + 32, 9)
    assert back.tolist() == [57.0, 91.0]
    assert df["temp_c"].isna().tolist() == [False, False, True, True]
    assert issue_fields(ctx)[:2] == ["temp_native", "temp_native"]


def test_truncated_archive_keeps_complete_members(tmp_path: Path) -> None:
    rows = [ghcnh(f"2024-01-{d:02d}T05:53:00+00:00", 57.02) for d in range(1, 29)]
    # Incompressible padding makes the second member long enough to cut in the middle.
    pad = [json.dumps({"pad": np.random.default_rng(0).bytes(4000).hex()})] * 20
    whole = write_tar(
        tmp_path / "full" / "ghcnh_hourly_x.tar.xz",
        {
            "noaa_ghcnh_kmia_2024-01.jsonl": rows,
            "noaa_ghcnh_kmia_2024-02.jsonl": [ghcnh("2024-02-01T05:53:00+00:00", 57.02), *pad],
        },
    )
    data = whole.read_bytes()
    cut = tmp_path / FOLDER / "ghcnh_hourly_x.tar.xz"
    cut.parent.mkdir(parents=True)
    cut.write_bytes(data[: len(data) * 2 // 3])
    store, ctx = run_loader(load_ghcnh, cut, root=tmp_path)
    assert len(obs(store)) == 28
    (trunc,) = [i for i in ctx.issues if i.field == "archive"]
    assert trunc.record in (
        "after member noaa_ghcnh_kmia_2024-01.jsonl",  # cut at the next header
        "noaa_ghcnh_kmia_2024-02.jsonl",  # cut inside the second member's data
    )


def test_an_archive_with_nothing_readable_raises(tmp_path: Path) -> None:
    path = write_tar(tmp_path / FOLDER / "ghcnh_hourly_x.tar.xz", {"x.jsonl": ["{}"]})
    with pytest.raises(ValueError, match="no report"):
        run_loader(load_ghcnh, path, root=tmp_path)


@pytest.mark.realdata
def test_real_hourly_reports_agree_across_sources_and_with_the_official_high(
    real_store,
) -> None:
    counts = real_store.query(
        "SELECT source, station, count(*) AS n FROM weather_obs "
        "WHERE source IN ('noaa_ghcnh', 'wunderground') GROUP BY ALL ORDER BY ALL"
    )
    n = {(r.source, r.station): r.n for r in counts.itertuples()}
    # PROVENANCE row counts: GHCNh less the SYNOP rows that repeat a METAR; WU as shipped.
    assert n[("wunderground", "KAUS")] == 25_080
    assert n[("wunderground", "KMIA")] == 24_454
    assert n[("wunderground", "KLAX")] == 26_088
    assert n[("noaa_ghcnh", "KAUS")] == 26_083  # KAUS has no SYNOP rows
    assert 31_424 - 6_700 < n[("noaa_ghcnh", "KMIA")] < 31_424
    # The same instants in both sources round to the same whole °F almost always.
    same = real_store.query(
        "SELECT round(g.temp_c * 1.8 + 32) - round(w.temp_c * 1.8 + 32) AS d "
        "FROM weather_obs g JOIN weather_obs w USING (station, ts) "
        "WHERE g.source = 'noaa_ghcnh' AND w.source = 'wunderground' "
        "AND g.report_type <> 'SYNOP' AND g.temp_c IS NOT NULL AND w.temp_c IS NOT NULL"
    )["d"]
    assert len(same) > 70_000
    assert (same == 0).mean() > 0.99
    # The official high is at or above the rounded hourly max (1-minute peaks are missed).
    gap = real_store.query(
        "WITH hourly AS (SELECT station, CAST((ts AT TIME ZONE 'UTC') "
        "  - to_hours(CASE station WHEN 'KMIA' THEN 5 ELSE 6 END) AS DATE) "
        "  AS day, max(round(temp_c * 1.8 + 32)) AS hmax FROM weather_obs "
        "  WHERE source = 'noaa_ghcnh' AND station IN ('KMIA', 'KAUS') GROUP BY ALL) "
        "SELECT o.tmax_f - h.hmax AS gap FROM hourly h JOIN official_highs o "
        "ON o.station = h.station AND o.date = h.day AND o.source = 'cli_iem'"
    )["gap"]
    assert len(gap) > 500
    assert (gap >= 0).mean() > 0.95
    assert 0.3 < (gap >= 1).mean() < 0.9
