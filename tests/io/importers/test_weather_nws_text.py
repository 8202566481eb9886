"""CLI/CF6 text parsers and the NWS text-product importers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kbayes.io.importers.weather.nws_text_import import load_cf6, load_cli, load_raw
from kbayes.io.nws_text import NwsTextError, parse_cf6, parse_cli
from tests.io.importers.weather_util import issue_fields, run_loader

TEXT_DIR = "weather/nws_text_examples"

# The preliminary example of weather-apis.md §1.5 (CLILAX), completed to a parseable product.
PRELIM = """\
CDUS45 KLOX 290012
CLILAX

CLIMATE REPORT
NATIONAL WEATHER SERVICE LOS ANGELES CA
512 PM PDT TUE APR 28 2026

...THE LOS ANGELES INTL AIRPORT CA CLIMATE SUMMARY FOR APRIL 28 2026...
VALID TODAY AS OF 0500 PM LOCAL TIME.

WEATHER ITEM   OBSERVED TIME   RECORD YEAR NORMAL DEPARTURE LAST
                VALUE   (LST)  VALUE       VALUE  FROM      YEAR
...................................................................
TEMPERATURE (F)
 TODAY
  MAXIMUM         69  11:20 AM  93    2008  69      0       64
  MINIMUM         55   5:02 AM  45    1967  55      0       54

PRECIPITATION (IN)
  TODAY            0.00          0.45 1935   0.02  -0.02     0.00
"""


@pytest.mark.realdata
def test_parse_cli_final_report(shared_data: Path) -> None:
    r = parse_cli((shared_data / TEXT_DIR / "CLINYC.txt").read_text(encoding="latin-1"))
    assert r["product"] == "CLINYC" and r["office"] == "KOKX"
    assert r["station_name"] == "CENTRAL PARK NY"
    assert r["date"] == dt.date(2013, 1, 2)
    assert r["max_f"] == 33
    assert r["max_time"] == dt.time(15, 1)
    assert r["min_f"] == 22
    assert r["preliminary"] is False and r["period_label"] == "YESTERDAY"
    assert r["issued_at"] == dt.datetime(2013, 1, 3, 6, 16, tzinfo=dt.UTC)
    assert len(r["summaries"]) == 1


def test_parse_cli_preliminary_negative_and_missing() -> None:
    r = parse_cli(PRELIM)
    assert (r["date"], r["max_f"], r["max_time"]) == (dt.date(2026, 4, 28), 69, dt.time(11, 20))
    assert r["preliminary"] is True and r["period_label"] == "TODAY"
    assert r["issued_at"] == dt.datetime(2026, 4, 29, 0, 12, tzinfo=dt.UTC)
    cold = parse_cli(PRELIM.replace("MAXIMUM         69  11:20 AM", "MAXIMUM         -4   1159 PM"))
    assert (cold["max_f"], cold["max_time"]) == (-4, dt.time(23, 59))
    missing = parse_cli(PRELIM.replace("MAXIMUM         69  11:20 AM", "MAXIMUM         MM"))
    assert missing["max_f"] is None and missing["max_time"] is None
    record = parse_cli(PRELIM.replace("MAXIMUM         69 ", "MAXIMUM         94R"))
    assert record["max_f"] == 94
    with pytest.raises(NwsTextError):
        parse_cli("no climate summary here")
    with pytest.raises(NwsTextError) as e:
        parse_cli(PRELIM.replace("MAXIMUM         69", "MAXIMUM         X9"))
    assert e.value.field == "MAXIMUM"


@pytest.mark.realdata
def test_parse_cli_multi_site_product(shared_data: Path) -> None:
    r = parse_cli((shared_data / TEXT_DIR / "CLIHOU.txt").read_text(encoding="latin-1"))
    got = [(s["station_name"], s["date"], s["max_f"], s["max_time"]) for s in r["summaries"]]
    assert got == [
        ("HOUSTON INTERCONTINENTAL", dt.date(2014, 11, 30), 80, dt.time(14, 33)),
        ("HOUSTON/HOBBY AIRPORT", dt.date(2014, 11, 30), 79, dt.time(14, 0)),
    ]


@pytest.mark.realdata
def test_parse_cf6(shared_data: Path) -> None:
    r = parse_cf6((shared_data / TEXT_DIR / "CF6DSM.txt").read_text(encoding="latin-1"))
    assert (r["product"], r["station_name"], r["year"], r["month"]) == (
        "CF6DSM",
        "DES MOINES IA",
        2020,
        2,
    )
    days = {d["date"].day: (d["max_f"], d["min_f"]) for d in r["days"]}
    assert len(days) == 22
    assert days[1] == (42, 32) and days[13] == (4, -10) and days[22] == (53, 27)
    # The summary line reports the month's highest as 55 on the 2nd.
    assert max(v[0] for v in days.values()) == 55 == days[2][0]


@pytest.mark.realdata
def test_importers_on_real_products(shared_data: Path) -> None:
    d = shared_data / TEXT_DIR
    store, ctx = run_loader(load_cli, d / "CLINYC.txt", root=shared_data)
    hi = store.read("official_highs")
    assert hi[["station", "city", "date", "tmax_f", "source"]].values.tolist() == [
        ["KNYC", "NY", dt.date(2013, 1, 2), 33, "cli_text"]
    ]
    store, _ = run_loader(load_cli, d / "CLIHOU.txt", root=shared_data, store=store)
    store, _ = run_loader(load_cf6, d / "CF6DSM.txt", root=shared_data, store=store)
    for p in sorted(d.iterdir()):
        if not p.name.startswith(("CLI", "CF6")):
            store, ctx = run_loader(load_raw, p, root=shared_data, store=store)
            assert ctx.issues == []
    hou = store.read("official_highs", "source_file LIKE '%CLIHOU%'")
    assert sorted(hou["tmax_f"]) == [79, 80] and set(hou["city"]) == {
        "HOUSTON INTERCONTINENTAL",
        "HOUSTON/HOBBY AIRPORT",
    }
    assert store.count("official_highs") == 1 + 2 + 22
    msgs = store.read("raw_messages").set_index("source_file")
    types = {Path(k).name: v for k, v in msgs["msg_type"].items()}
    assert types == {
        "CLINYC.txt": "nws_text:CLI",
        "CLIHOU.txt": "nws_text:CLI",
        "CF6DSM.txt": "nws_text:CF6",
        "DSM.txt": "nws_text:DSM",
        "LAVUSA.txt": "nws_text:LAV",
        "MAVWC0.txt": "nws_text:MAV",
        "NBEUSA.txt": "nws_text:NBE",
        "NBS_v5.txt": "nws_text:NBS",
        "NBXUSA.txt": "nws_text:NBX",
        "hrrr_klax.buf.gz": "bufkit:hrrr",
    }
    nbs = msgs.loc[f"{TEXT_DIR}/NBS_v5.txt"]
    assert nbs["received_ts"] == dt.datetime(2026, 4, 7, 15, tzinfo=dt.UTC)
    assert "KDSM    NBM V5.0 NBS GUIDANCE" in nbs["payload"]
    assert "STID = KLAX" in msgs.loc[f"{TEXT_DIR}/hrrr_klax.buf.gz", "payload"]


def test_unreadable_issuance_time_is_an_import_issue(tmp_path: Path) -> None:
    # An unknown zone abbreviation: the product is kept, and the missing time is reported.
    path = tmp_path / "CLILAX.txt"
    path.write_text(PRELIM.replace("512 PM PDT TUE", "512 PM XYZ TUE"))
    store, ctx = run_loader(load_cli, path)
    assert issue_fields(ctx) == ["received_ts"]
    raw = store.read("raw_messages")
    assert len(raw) == 1 and raw["received_ts"].isna().all()
    assert store.read("official_highs")["tmax_f"].tolist() == [69]


def test_readable_issuance_time_raises_no_issue(tmp_path: Path) -> None:
    path = tmp_path / "CLILAX.txt"
    path.write_text(PRELIM)
    _, ctx = run_loader(load_cli, path)
    assert "received_ts" not in issue_fields(ctx)
