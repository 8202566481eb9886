"""Daily-truth importer: one source tag per file and column, unknown stations kept, bad rows
reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kbayes.io.importers.weather.daily_truth import load_daily_truth
from tests.io.importers.weather_util import issue_fields, run_loader


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(store) -> set[tuple]:
    df = store.read("official_highs")
    return {(r.station, r.city, r.date, r.tmax_f, r.source) for r in df.itertuples(index=False)}


def test_cli_settlement_sources_and_checks(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "cli.csv",
        "station,city,date_local,tmax_final,source_final,tmax_cli_f,tmax_iem_f,tmax_ncei_f\n"
        "KAUS,austin,2023-01-01,78,iem,,78.0,77.0\n"
        "KMIA,miami,2023-03-30,78,ncei,,,78.0\n"
        "KAUS,austin,2023-01-02,83,iem,,84.0,\n"  # iem column disagrees: kept, reported
        "KAUS,austin,2023-01-03,,iem,,,\n"  # missing final value
        "KAUS,austin,2023-13-01,70,iem,,70.0,70.0\n"  # bad date
        "KAUS,austin,2023-01-04,70.5,iem,,70.5,\n"  # not whole °F
        "KAUS,austin,2023-01-05,70,sat,,,\n",  # unknown source_final
    )
    store, ctx = run_loader(load_daily_truth, path)
    d = dt.date
    assert _rows(store) == {
        ("KAUS", "AUS", d(2023, 1, 1), 78, "cli_iem"),
        ("KAUS", "AUS", d(2023, 1, 1), 77, "ncei_daily"),
        ("KMIA", "MIA", d(2023, 3, 30), 78, "ncei"),
        ("KMIA", "MIA", d(2023, 3, 30), 78, "ncei_daily"),
        ("KAUS", "AUS", d(2023, 1, 2), 83, "cli_iem"),
    }
    by_record = {(i.record, i.field) for i in ctx.issues}
    assert ("line 4", "tmax_iem_f") in by_record
    assert ("line 5", "tmax_final") in by_record
    assert ("line 6", "date_local") in by_record
    assert ("line 7", "tmax_final") in by_record
    assert ("line 8", "source_final") in by_record


def test_ghcnd_rounds_half_up_from_unrounded_f(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "g.csv",
        "station_id,obs_date,tmax_c,tmax_f,source_dataset\n"
        "KMDW,2015-01-02,2.2,35.96,GHCND\n"
        "KNYC,2015-01-03,2.5,36.5,GHCND\n"  # a half: 37, not round()'s 36
        "KNYC,2015-01-04,-0.5,31.1,GHCND\n"
        "KNYC,2015-01-05,3.0,40.0,GHCND\n"  # tmax_c says 37.4: reported, tmax_f kept
        "KNYC,2015-01-07,M,,GHCND\n"
        "KNYC,2015-01-08,1.0,33.8,GHCND\n",
    )
    store, ctx = run_loader(load_daily_truth, path)
    got = {(r[0], r[2].day, r[3]) for r in _rows(store)}
    assert got == {
        ("KMDW", 2, 36),
        ("KNYC", 3, 37),
        ("KNYC", 4, 31),
        ("KNYC", 5, 40),
        ("KNYC", 8, 34),
    }
    assert {(i.record, i.field) for i in ctx.issues} >= {
        ("line 5", "tmax_c"),
        ("line 6", "tmax_f"),
    }
    # 2015-01-06 and -07 are not stored: the gap is reported.
    assert any(i.field == "KNYC ghcnd date" for i in ctx.issues)


def test_acis_keeps_stations_outside_the_city_table(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "acis.csv",
        "station,city,date_local,maxt_f\n"
        "KNYC,New York,2025-02-21,35.0\n"
        "KMSP,Minneapolis,2025-02-21,20.0\n"
        "KMDW,Chicago,2025-02-21,M\n",
    )
    store, ctx = run_loader(load_daily_truth, path)
    d = dt.date(2025, 2, 21)
    assert _rows(store) == {
        ("KNYC", "NY", d, 35, "acis"),
        ("KMSP", "Minneapolis", d, 20, "acis"),
    }
    assert issue_fields(ctx) == ["maxt_f"]


def test_cdo_file_maps_ghcn_ids(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "cdo.csv",
        "city,date,nws_settlement_temp,station_id,source\n"
        "MIA,2020-01-01,82,GHCND:USW00012839,NOAA_CDO_GHCND\n"
        "NYC,2020-01-01,45,GHCND:USW00094728,NOAA_CDO_GHCND\n"
        "NYC,2020-01-02,46,GHCND:USW00012839,NOAA_CDO_GHCND\n",  # city/id disagree
    )
    store, ctx = run_loader(load_daily_truth, path)
    assert {(r[0], r[1], r[3]) for r in _rows(store)} == {("KMIA", "MIA", 82), ("KNYC", "NY", 45)}
    assert ("line 4", "city") in {(i.record, i.field) for i in ctx.issues}


def test_unknown_schema_raises(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(ValueError, match="unknown daily-truth schema"):
        run_loader(load_daily_truth, path)


@pytest.mark.realdata
def test_real_daily_truth_counts(shared_data: Path) -> None:
    store = None
    issues = []
    for path in sorted((shared_data / "weather/daily_truth").glob("*.csv")):
        store, ctx = run_loader(load_daily_truth, path, root=shared_data, store=store)
        issues += ctx.issues
    counts = (
        store.query("SELECT source, count(*) AS n FROM official_highs GROUP BY source")
        .set_index("source")["n"]
        .to_dict()
    )
    # PROVENANCE: 6 408 settlement rows (iem 6 398, ncei 10); ACIS 6 923; GHCN 4 048 + 4 045;
    # CDO 1 766 × 2.
    assert counts["cli_iem"] == 6398 and counts["ncei"] == 10
    assert counts["acis"] == 6923
    assert counts["ghcnd"] == 8093
    assert counts["ghcnd_cdo"] == 3532
    # Only gap notes, no skipped rows.
    assert {i.record for i in issues} == {"(summary)"}
    # Cross-source agreement that PROVENANCE reports: GHCN-D (rounded) = ACIS for KNYC.
    diff = store.query(
        "SELECT count(*) AS n, sum((a.tmax_f <> g.tmax_f)::INT) AS bad FROM official_highs a "
        "JOIN official_highs g USING (station, date) "
        "WHERE a.source = 'acis' AND g.source = 'ghcnd' AND station = 'KNYC'"
    ).iloc[0]
    assert diff["n"] == 344 and diff["bad"] == 0
