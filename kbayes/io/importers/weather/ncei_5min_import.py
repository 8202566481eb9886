"""NCEI 5-minute ASOS observations → ``weather_obs``.

Two kinds of file sit in ``weather/obs_5min_ncei_knyc/``:

* ``asos-5min-<ICAO>-YYYYMM.dat.gz``: the raw NCEI DSI-6401 monthly files, parsed with
  :func:`kbayes.io.ncei_5min.parse_dsi6401_file`. Rows are stored with
  ``source = "ncei_dsi6401"``. A line that cannot be parsed is reported with its line number
  and field; a line whose temperature is reported missing (``M``) is stored with
  ``temp_c = NULL`` and also reported.
* ``knyc_5min_*_tidy.csv.gz``: a CSV made from the same raw files. Storing it as well would
  count every observation twice, so it is a **cross-check only**: the importer re-parses the
  raw ``.dat`` files of the same folder and reports every tidy row that differs from them
  (time, whole/tenths °C, dew point, °F to 0.1, report type) and every row only one side has.
  Tidy rows whose instant no raw file covers (none with the current data) are stored with the
  distinct ``source = "ncei_5min_tidy"`` so nothing is lost and nothing is double-counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.weather._common import (
    SUMMARY,
    describe_rows,
    line_labels,
    note_gaps,
    parse_aware_utc,
)
from kbayes.io.ncei_5min import parse_dsi6401_file
from kbayes.market.records import WeatherObsRecord

SOURCE_RAW = "ncei_dsi6401"
SOURCE_TIDY = "ncei_5min_tidy"
RAW_GLOB = "asos-5min-*.dat*"


def _obs_frame(df: pd.DataFrame, source: str, source_file: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station": df["station"],
            "ts": df["valid_utc"],
            "temp_c": df["temp_c"],
            "temp_source": df["temp_source"],
            "dewpoint_c": df["dewpoint_c"],
            "report_type": df["report_type"],
            "source": source,
            "source_file": source_file,
        }
    )


def load_dsi6401(path: Path, ctx: ImportContext) -> None:
    """Import one raw DSI-6401 file."""
    df, errors = parse_dsi6401_file(path)
    for e in errors:
        ctx.issue(f"line {e.line_no}", e.field, e.value, f"line skipped: {e.message}")
    if df.empty and errors:
        raise ValueError(f"no line of {path.name} could be parsed ({len(errors)} errors)")
    labels = df["line_no"].map(lambda n: f"line {n}")
    dup = df.duplicated(["station", "valid_utc"], keep="first")
    for idx in dup[dup].index:
        ctx.issue(labels[idx], "valid_utc", df.at[idx, "valid_utc"], "duplicate time; skipped")
    df = df[~dup]
    no_temp = df["temp_c"].isna()
    for idx in no_temp[no_temp].index:
        ctx.issue(
            labels[idx],
            "temperature",
            "M",
            "no T remark and TT/DD missing; observation stored with temp_c NULL",
        )
    for station, times in df.groupby("station")["valid_utc"]:
        note_gaps(ctx, times, pd.Timedelta(minutes=5), f"{station} 5-min valid_utc")
    ctx.write(WeatherObsRecord, _obs_frame(df, SOURCE_RAW, ctx.source_file))


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def load_tidy(path: Path, ctx: ImportContext) -> None:
    """Cross-check the tidy CSV against the raw files beside it; store only what they lack."""
    tidy = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    expected = {
        "station",
        "valid_utc",
        "valid_lst",
        "temp_c_whole",
        "temp_c_tenths",
        "dewpoint_c_tenths",
        "temp_f_from_tenths",
        "report_type",
    }
    if missing := expected - set(tidy.columns):
        raise ValueError(f"not a tidy 5-minute CSV: missing columns {sorted(missing)}")
    labels = line_labels(tidy.index)
    ts, naive = parse_aware_utc(tidy["valid_utc"])
    bad = ts.isna()
    for idx in bad[bad].index:
        why = "timestamp has no time zone" if naive[idx] else "missing or unparseable timestamp"
        ctx.issue(labels[idx], "valid_utc", tidy.at[idx, "valid_utc"], f"row skipped: {why}")
    # The raw frame has its own valid_utc; keep the tidy text under another name.
    tidy = tidy.assign(ts=ts)[~bad].rename(columns={"valid_utc": "valid_utc_text"})

    raw_parts = []
    for raw_path in sorted(path.parent.glob(RAW_GLOB)):
        df, _ = parse_dsi6401_file(raw_path)  # the raw file's own import reports its errors
        raw_parts.append(df.assign(raw_file=raw_path.name))
    if not raw_parts:
        ctx.issue(SUMMARY, "", "", f"no raw {RAW_GLOB} file beside it; nothing checked")
        raw = pd.DataFrame(columns=["station", "valid_utc"])
    else:
        raw = pd.concat(raw_parts, ignore_index=True)
        raw = raw.drop_duplicates(["station", "valid_utc"])

    m = tidy.reset_index(names="row").merge(
        raw,
        left_on=["station", "ts"],
        right_on=["station", "valid_utc"],
        how="outer",
        indicator=True,
        suffixes=("", "_raw"),
    )
    both = m[m["_merge"] == "both"]
    checks = {
        "temp_c_whole": (_num(both["temp_c_whole"]), _num(both["temp_c_whole_raw"])),
        "temp_c_tenths": (_num(both["temp_c_tenths"]), _num(both["temp_c_tenths_raw"])),
        "dewpoint_c_tenths": (
            _num(both["dewpoint_c_tenths"]),
            _num(both["dewpoint_c_tenths_raw"]),
        ),
        "temp_f_from_tenths": (
            _num(both["temp_f_from_tenths"]),
            np.round(_num(both["temp_c_tenths_raw"]) * 1.8 + 32, 1),
        ),
    }
    for col, (a, b) in checks.items():
        differ = ~((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) < 1e-6))
        for i in np.flatnonzero(differ):
            r = both.iloc[i]
            ctx.issue(
                labels[r["row"]],
                col,
                r[col],
                f"differs from {r['raw_file']} line {r['line_no']} (raw gives {b[i]})",
            )
    for col, raw_col in (("report_type", "report_type_raw"), ("valid_lst", "valid_lst_raw")):
        raw_text = (
            both[raw_col].dt.strftime("%Y-%m-%dT%H:%M") if col == "valid_lst" else both[raw_col]
        )
        differ = both[col].fillna("") != raw_text.fillna("")
        for i in np.flatnonzero(differ.to_numpy()):
            r = both.iloc[i]
            ctx.issue(labels[r["row"]], col, r[col], f"differs from {r['raw_file']}")

    only_raw = m[m["_merge"] == "right_only"]
    if len(only_raw):
        ctx.issue(
            SUMMARY,
            "valid_utc",
            "",
            f"{len(only_raw)} raw observations are missing from the tidy file, e.g. "
            + describe_rows([f"{t:%Y-%m-%dT%H:%MZ}" for t in only_raw["valid_utc"]]),
        )
    only_tidy = m[m["_merge"] == "left_only"]
    if len(only_tidy):
        ctx.issue(
            SUMMARY,
            "valid_utc",
            "",
            f"{len(only_tidy)} tidy rows have no raw observation; stored with source "
            f"{SOURCE_TIDY!r}: " + describe_rows([labels[r] for r in only_tidy["row"]]),
        )
    tenths, whole = _num(only_tidy["temp_c_tenths"]), _num(only_tidy["temp_c_whole"])
    temp = np.where(np.isnan(tenths), whole, tenths)
    extra = pd.DataFrame(
        {
            "station": only_tidy["station"],
            "valid_utc": only_tidy["ts"],
            "temp_c": temp,
            "temp_source": np.where(
                ~np.isnan(tenths), "tenths", np.where(~np.isnan(whole), "whole", None)
            ),
            # The tidy file has no whole-°C dew point, so there is no fallback for it.
            "dewpoint_c": _num(only_tidy["dewpoint_c_tenths"]),
            "report_type": only_tidy["report_type"],
        }
    )
    extra["temp_c"] = extra["temp_c"].astype("Float64")
    extra["dewpoint_c"] = extra["dewpoint_c"].astype("Float64")
    ctx.write(WeatherObsRecord, _obs_frame(extra, SOURCE_TIDY, ctx.source_file))


register(
    Importer(
        "weather.ncei_5min",
        ("weather/obs_5min_ncei_knyc/asos-5min-*.dat.gz", "weather/obs_5min_ncei_knyc/*.dat"),
        load_dsi6401,
        "NCEI DSI-6401 5-minute ASOS observations (LST stamp, tenths-°C T remark)",
        order=40,
    )
)
register(
    Importer(
        "weather.ncei_5min_tidy",
        ("weather/obs_5min_ncei_knyc/*_tidy.csv.gz",),
        load_tidy,
        "tidy CSV of the 5-minute files: cross-checked against them, not double-stored",
        order=41,
    )
)
