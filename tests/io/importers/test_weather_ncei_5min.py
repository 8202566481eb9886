"""NCEI DSI-6401 5-minute parser and the 5-minute importers."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbayes.io.importers.weather.daily_truth import load_daily_truth
from kbayes.io.importers.weather.ncei_5min_import import SOURCE_RAW, load_dsi6401, load_tidy
from kbayes.io.ncei_5min import Dsi6401Error, parse_dsi6401_file, parse_dsi6401_line
from kbayes.market.cities import CITIES
from kbayes.market.fahrenheit import c_to_f_whole
from tests.io.importers.weather_util import issue_fields, run_loader

# A real line (KNYC, 2025-07-01 20:10 LST = 2025-07-02 01:10 UTC).
LINE = (
    "94728KNYC NYC20250701201013907/01/25 20:10:31  5-MIN KNYC 020110Z AUTO 00000KT 4SM -RA BR "
    "BKN023 BKN085 BKN110 23/22 A2987 210 93 1200 000/00 RMK AO2 P0001 T02280217 $"
)
NO_T = (
    "94728KNYC NYC20250401024514604/01/25 02:45:31  5-MIN KNYC 010745Z AUTO 31007G17KT "
    "260V340 10SM -RA FEW021 SCT027 OVC032 10/06 A2964 420 77 0 320/07G17 270V350 RMK AO2 "
    "P0000 $"
)
# Hand-written winter lines: negative tenths (sign digit 1) and M-prefixed whole values.
COLD_T = (
    "94728KNYC NYC20250115070012601/15/25 07:00:31  5-MIN KNYC 151200Z AUTO 31010KT 10SM CLR "
    "M06/M12 A3021 RMK AO2 T10561117 $"
)
COLD_WHOLE = (
    "94728KNYC NYC20250115070512601/15/25 07:05:31  5-MIN KNYC 151205Z AUTO 31010KT 10SM CLR "
    "M06/M12 A3021 RMK AO2 $"
)
MISSING_T = (
    "94728KNYC NYC20250529090007305/29/25 09:00:31  5-MIN KNYC 291400Z AUTO M M M M /M RMK AO2 "
    "PWINO PNO $"
)

SHARED_5MIN = "weather/obs_5min_ncei_knyc"


# --- parse_dsi6401_line ------------------------------------------------------------------------
def test_line_with_t_remark_uses_tenths() -> None:
    r = parse_dsi6401_line(LINE)
    assert r["station"] == "KNYC" and r["wban"] == "94728"
    assert r["valid_lst"] == dt.datetime(2025, 7, 1, 20, 10)
    assert r["valid_utc"] == dt.datetime(2025, 7, 2, 1, 10, tzinfo=dt.UTC)
    assert r["valid_utc"].tzinfo is not None
    assert r["report_type"] == "5-MIN"
    assert (r["temp_c_whole"], r["dewpoint_c_whole"]) == (23, 22)
    assert (r["temp_c_tenths"], r["dewpoint_c_tenths"]) == (22.8, 21.7)
    assert (r["temp_c"], r["temp_source"]) == (22.8, "tenths")
    assert (r["dewpoint_c"], r["dewpoint_source"]) == (21.7, "tenths")


def test_line_without_t_remark_falls_back_to_whole_c() -> None:
    r = parse_dsi6401_line(NO_T)
    assert r["temp_c_tenths"] is None and r["dewpoint_c_tenths"] is None
    assert (r["temp_c"], r["temp_source"]) == (10.0, "whole")
    assert (r["dewpoint_c"], r["dewpoint_source"]) == (6.0, "whole")
    # 320/07G17 (wind) and 260V340 must not be read as temperature groups.
    assert r["temp_c_whole"] == 10


def test_negative_tenths_and_m_prefixed_whole_values() -> None:
    r = parse_dsi6401_line(COLD_T)
    assert (r["temp_c_whole"], r["dewpoint_c_whole"]) == (-6, -12)
    assert (r["temp_c_tenths"], r["dewpoint_c_tenths"]) == (-5.6, -11.7)
    assert r["temp_source"] == "tenths"
    w = parse_dsi6401_line(COLD_WHOLE)
    assert (w["temp_c"], w["temp_source"], w["dewpoint_c"]) == (-6.0, "whole", -12.0)
    assert w["valid_utc"] == dt.datetime(2025, 1, 15, 12, 5, tzinfo=dt.UTC)


def test_missing_temperature_is_none_not_nan_or_zero() -> None:
    r = parse_dsi6401_line(MISSING_T)
    assert r["temp_c"] is None and r["temp_source"] is None and r["dewpoint_c"] is None


def test_utc_group_across_month_end_and_explicit_offset() -> None:
    line = (
        "94728KNYC NYC20250430200012604/30/25 20:00:31  5-MIN KNYC 010100Z AUTO 10SM CLR "
        "15/05 A3000 RMK AO2 T01500050 $"
    )
    assert parse_dsi6401_line(line)["valid_utc"] == dt.datetime(2025, 5, 1, 1, tzinfo=dt.UTC)
    # A station outside the city table needs its offset; with it, the cross-check still runs.
    other = LINE.replace("KNYC", "KXYZ")
    with pytest.raises(Dsi6401Error) as e:
        parse_dsi6401_line(other)
    assert e.value.field == "station"
    assert parse_dsi6401_line(other, lst_offset_hours=-5)["station"] == "KXYZ"
    with pytest.raises(Dsi6401Error) as e:
        parse_dsi6401_line(other, lst_offset_hours=-6)
    assert e.value.field == "ddhhmmZ"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("94728KNYC NYC2025070", "line"),
        (LINE.replace("202507012010", "2025070120XX"), "lst"),
        (LINE.replace("202507012010", "202507322010"), "lst"),
        (LINE.replace("020110Z", "020210Z"), "ddhhmmZ"),  # 1 h off the LST stamp
        (LINE.replace("020110Z", "02011OZ"), "ddhhmmZ"),
        (LINE.replace("07/01/25", "07/02/25"), "local_date"),
        (LINE.replace(" 5-MIN KNYC", " 5-MIN KLGA"), "body_station"),
        (LINE.replace("23/22 A2987", "23/22 24/20 A2987"), "TT/DD"),
        (LINE.replace("T02280217 $", "T02280217 T02300217 $"), "T_remark"),
        (LINE[:25] + "garbage", "header"),
    ],
)
def test_malformed_lines_name_the_field(line: str, field: str) -> None:
    with pytest.raises(Dsi6401Error) as e:
        parse_dsi6401_line(line)
    assert e.value.field == field


def test_file_parser_reports_line_numbers() -> None:
    lines = [LINE + "\n", "\n", "not a dsi-6401 line\n", NO_T + "\r\n", MISSING_T]
    df, errors = parse_dsi6401_file(lines)
    assert list(df["line_no"]) == [1, 4, 5]
    assert [(e.line_no, e.field) for e in errors] == [(3, "line")]
    assert str(df["valid_utc"].dt.tz) == "UTC"
    assert df["temp_c"].isna().tolist() == [False, False, True]


# --- importer on hand-written lines ------------------------------------------------------------
def test_importer_stores_aware_utc_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "asos-5min-KNYC-202501.dat.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join([COLD_T, COLD_WHOLE, "broken line", MISSING_T.replace("05/29", "05/28")]))
    store, ctx = run_loader(load_dsi6401, path)
    obs = store.read("weather_obs").sort_values("ts")
    assert len(obs) == 2
    assert obs["ts"].dt.tz is not None
    assert list(obs["ts"]) == [
        pd.Timestamp("2025-01-15 12:00", tz="UTC"),
        pd.Timestamp("2025-01-15 12:05", tz="UTC"),
    ]
    assert list(obs["temp_source"]) == ["tenths", "whole"]
    assert set(obs["source"]) == {SOURCE_RAW}
    assert {(i.record, i.field) for i in ctx.issues} >= {
        ("line 3", "line"),
        ("line 4", "local_date"),
    }


# --- real data ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw_5min(shared_data: Path) -> pd.DataFrame:
    files = sorted((shared_data / SHARED_5MIN).glob("asos-5min-*.dat.gz"))
    assert len(files) == 5
    parts = []
    for f in files:
        df, errors = parse_dsi6401_file(f)
        assert errors == [], f"{f.name}: {errors[:3]}"
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


@pytest.mark.realdata
def test_reproduces_tidy_csv_row_for_row(shared_data: Path, raw_5min: pd.DataFrame) -> None:
    tidy = pd.read_csv(next((shared_data / SHARED_5MIN).glob("*_tidy.csv.gz")))
    assert len(raw_5min) == len(tidy) == 35283
    assert (raw_5min["valid_utc"].to_numpy() == pd.to_datetime(tidy["valid_utc"]).to_numpy()).all()
    assert (raw_5min["valid_lst"].dt.strftime("%Y-%m-%dT%H:%M") == tidy["valid_lst"]).all()
    assert (raw_5min["report_type"] == tidy["report_type"]).all()
    assert (raw_5min["station"] == tidy["station"]).all()
    for col in ("temp_c_whole", "temp_c_tenths", "dewpoint_c_tenths"):
        ours = raw_5min[col].astype("float64").to_numpy()
        theirs = tidy[col].to_numpy(dtype=float)
        np.testing.assert_array_equal(ours, theirs, err_msg=col)  # NaN == NaN here
    f = np.round(raw_5min["temp_c_tenths"].astype("float64").to_numpy() * 1.8 + 32, 1)
    np.testing.assert_allclose(f, tidy["temp_f_from_tenths"].to_numpy(dtype=float), atol=1e-9)
    # PROVENANCE: tenths missing in 141 rows, whole in 7.
    assert raw_5min["temp_c_tenths"].isna().sum() == 141
    assert raw_5min["temp_c_whole"].isna().sum() == 7
    assert (raw_5min["temp_source"] == "whole").sum() == 134


@pytest.mark.realdata
def test_rounded_5min_max_never_exceeds_official_high(
    shared_data: Path, raw_5min: pd.DataFrame
) -> None:
    store = None
    for name in ("acis_maxt_19stations_*.csv", "ghcnd_tmax_KNYC_KMDW_*.csv"):
        path = next((shared_data / "weather/daily_truth").glob(name))
        store, _ = run_loader(load_daily_truth, path, root=shared_data, store=store)
    official = store.query(
        "SELECT date, source, tmax_f FROM official_highs WHERE station = 'KNYC'"
    ).pivot(index="date", columns="source", values="tmax_f")

    obs = raw_5min[raw_5min["temp_c"].notna()]
    lst = CITIES["NY"].lst
    day = obs["valid_utc"].dt.tz_convert(lst).dt.date
    # valid_lst (the file's own LST stamp) must give the same climate day.
    assert (day == obs["valid_lst"].dt.date).all()
    f_whole = obs["temp_c"].map(c_to_f_whole)
    daily = f_whole.groupby(day).max()
    assert len(daily) == 140
    both = pd.concat([daily.rename("obs"), official], axis=1, join="inner")
    assert len(both) == 140
    assert (both["acis"] == both["ghcnd"]).all()
    over = both[both["obs"] > both["acis"]]
    assert over.empty, f"5-min max above the official high:\n{over}"
    # PROVENANCE: equal on 120 of the 140 days.
    assert int((both["obs"] == both["acis"]).sum()) == 120


@pytest.mark.realdata
def test_tidy_importer_is_a_cross_check_only(shared_data: Path, tmp_path: Path) -> None:
    tidy = next((shared_data / SHARED_5MIN).glob("*_tidy.csv.gz"))
    store, ctx = run_loader(load_tidy, tidy, root=shared_data)
    assert ctx.issues == []
    assert store.count("weather_obs") == 0  # no double counting

    # A copy with one altered value and only April's raw file beside it.
    work = tmp_path / "obs"
    work.mkdir()
    shutil.copy(shared_data / SHARED_5MIN / "asos-5min-KNYC-202504.dat.gz", work)
    df = pd.read_csv(tidy, dtype=str, keep_default_na=False)
    df = df[df["valid_utc"] < "2025-05-01T06"].copy()
    df.loc[3, "temp_c_tenths"] = "15.4"
    df.to_csv(work / "x_tidy.csv.gz", index=False)
    store, ctx = run_loader(load_tidy, work / "x_tidy.csv.gz")
    assert ("line 5", "temp_c_tenths") in {(i.record, i.field) for i in ctx.issues}
    # 2025-05-01 05:00-05:55Z is May's first LST hour: no raw file here, so stored as tidy.
    stored = store.read("weather_obs")
    assert len(stored) == 12 and set(stored["source"]) == {"ncei_5min_tidy"}
    assert "valid_utc" in issue_fields(ctx)
