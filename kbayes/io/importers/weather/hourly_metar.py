"""Hourly METAR/SPECI station reports (NOAA GHCNh, Weather Underground) → ``weather_obs``.

Two archives sit in ``weather/obs_hourly_ghcnh_wu/`` (see its PROVENANCE section), one JSON
object per line, one member per station and month (``{source}_{station}_{YYYY-MM}.jsonl``):

* ``ghcnh_hourly_*.tar.xz``: NOAA GHCNh. ``temp_native`` is °F converted from a tenths-°C
  value (78.08 °F = 25.6 °C), so the tenths are recovered exactly and stored with
  ``temp_source = "tenths"`` and ``source = "noaa_ghcnh"``. ``source_report_type`` FM15 is the
  routine METAR, FM16 a SPECI, FM12 a SYNOP. At KMIA and KLAX the SYNOP on the hour repeats the
  METAR of a few minutes before; storing it would count that observation twice, so an FM12 row
  whose temperature equals a METAR/SPECI of the same station at most
  :data:`SYNOP_DUPLICATE_WINDOW` earlier is not stored (one summary issue counts them). Any
  other FM12 row is a report of its own and is stored as ``SYNOP``.
  NOAA quality codes are respected: a temperature (or dew point) whose code marks it suspect
  or erroneous (:data:`REJECTED_QUALITY`) is stored as NULL and reported; an unknown code is
  treated the same way. A row without a code keeps its value (GHCNh omits the code for some
  report sources).
* ``wunderground_hourly_*.tar.xz``: Weather Underground's history of the same stations, in
  **whole °F** (``temp_native``; its ``temp_c`` field holds °F too, despite the name). Stored
  with ``source = "wunderground"`` and ``temp_source = "whole_f"``: ``temp_c`` is the exact
  conversion ``(F − 32)·5/9``, so ``round(temp_c·9/5 + 32)`` gives back the reported °F. WU
  carries no report type: the routine METARs of these stations are issued at :53 (every GHCNh
  FM15 here but 0.3 % is), so a :53 report is stored as ``METAR`` and any other as ``SPECI``.

A line that is not JSON, has no zone on its time, or whose value is not what the source
promises (a GHCNh value that is no tenths-°C, a WU value that is no whole °F, a unit other than
°F) is an import issue with its member and line; a truncated archive keeps every complete
member and reports where it broke. The two sources are both stored; readers choose one by
``source`` (GHCNh is the more precise).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.archive import READ_ERRORS
from kbayes.io.importers.archive import members as tar_members
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.json_lines import json_objects
from kbayes.io.importers.weather._common import SUMMARY, note_gaps, parse_aware_utc_one, place
from kbayes.market.records import WeatherObsRecord

SOURCE_GHCNH = "noaa_ghcnh"
SOURCE_WU = "wunderground"
MEMBER = re.compile(
    r"^(?:\./)?(?P<source>noaa_ghcnh|wunderground)_(?P<station>[a-z0-9]+)_"
    r"(?P<month>\d{4}-\d{2})\.jsonl$"
)
REPORT_TYPES = {"FM15": "METAR", "FM16": "SPECI", "FM12": "SYNOP"}
# NOAA ISD/GHCNh quality codes. 2 and 6 are "suspect", 3 and 7 "erroneous"; the others pass
# (0/1/4/5/9: passed checks; A: suspect but accepted; C, I, M, P, R, U: corrected, inserted,
# manually changed, not checked, replaced, edited).
ACCEPTED_QUALITY = frozenset("014569ACIMPRU")
REJECTED_QUALITY = frozenset("2367")
SYNOP_DUPLICATE_WINDOW = dt.timedelta(minutes=15)
# A tenths-°C value in °F is 32 + 1.8·k/10, printed to 0.01 °F; allow for that print rounding.
_TENTHS_TOL_F = 0.006


@dataclass(slots=True)
class _Row:
    """One parsed report before it becomes a frame row (values filled in by source)."""

    label: str
    station: str
    ts: dt.datetime
    temp_f: float | None
    temp_c: float | None = None
    dew_c: float | None = None
    report_type: str = ""


def _members(path: Path, ctx: ImportContext) -> Iterator[tuple[str, list[str]]]:
    """``(member name, lines)`` of each complete member; a truncated archive is reported."""
    with tarfile.open(path, "r:xz") as tar:
        for member in tar_members(tar, ctx):
            if not member.isfile():
                continue
            try:
                fh = tar.extractfile(member)
                data = fh.read() if fh is not None else b""
            except READ_ERRORS as exc:  # the data of this member is cut
                ctx.issue(member.name, "archive", "", f"member skipped: cut short ({exc})")
                return
            yield member.name, data.decode("utf-8", errors="replace").splitlines()


def _quality(text: object, key: str) -> str | None:
    """The NOAA quality code of ``key`` in ``a=1,b=5,...``, or ``None`` when absent."""
    if not isinstance(text, str):
        return None
    for part in text.split(","):
        name, _, code = part.partition("=")
        if name.strip() == key:
            return code.strip() or None
    return None


def _f_to_c_tenths(f: float) -> float | None:
    """The tenths-°C value that a GHCNh °F value was converted from, or ``None`` if none."""
    tenths = (f - 32.0) / 0.18
    k = round(tenths)
    return k / 10.0 if abs(32.0 + 0.18 * k - f) <= _TENTHS_TOL_F else None


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


def _parse_member(
    name: str, lines: list[str], source: str, ctx: ImportContext
) -> list[_Row] | None:
    m = MEMBER.match(name)
    if m is None or m["source"] != source:
        ctx.issue(name, "", "", f"member skipped: not {source}_<station>_<YYYY-MM>.jsonl")
        return None
    station, _ = place(m["station"].upper(), None)
    rows: list[_Row] = []
    for i, d in json_objects(lines, ctx, where=f"{name}:"):
        label = f"{name}:{i}"
        row_station, _ = place(d.get("station"), None)
        if row_station != station:
            ctx.issue(label, "station", d.get("station"), f"line skipped: member is {station}")
            continue
        ts, naive = parse_aware_utc_one(d.get("valid_time_utc"))
        if ts is None:
            why = "has no time zone" if naive else "missing or unparseable"
            ctx.issue(label, "valid_time_utc", d.get("valid_time_utc"), f"line skipped: {why}")
            continue
        if d.get("temperature_unit") != "F":
            ctx.issue(label, "temperature_unit", d.get("temperature_unit"), "line skipped: not F")
            continue
        try:
            temp_f, dew_f = _number(d.get("temp_native")), _number(d.get("dewpoint_native"))
        except ValueError as exc:
            ctx.issue(label, "temp_native/dewpoint_native", "", f"line skipped: {exc}")
            continue
        row = _Row(label=label, station=station, ts=ts, temp_f=temp_f)
        ok = (
            _ghcnh_values(row, d, dew_f, ctx)
            if source == SOURCE_GHCNH
            else _wu_values(row, d, dew_f, ctx)
        )
        if ok:
            rows.append(row)
    return rows


def _ghcnh_values(row: _Row, d: dict, dew_f: float | None, ctx: ImportContext) -> bool:
    kind = d.get("source_report_type")
    if kind not in REPORT_TYPES:
        ctx.issue(row.label, "source_report_type", kind, "line skipped: not FM12/FM15/FM16")
        return False
    row.report_type = REPORT_TYPES[kind]
    quality = d.get("source_quality")
    for field, value, key in (
        ("temp_native", row.temp_f, "temperature_Quality_Code"),
        ("dewpoint_native", dew_f, "dew_point_temperature_Quality_Code"),
    ):
        if value is None:
            if field == "temp_native":
                ctx.issue(row.label, field, "", "no temperature; stored with temp_c NULL")
            continue
        code = _quality(quality, key)
        if code is not None and code not in ACCEPTED_QUALITY:
            verdict = "suspect/erroneous" if code in REJECTED_QUALITY else "unknown"
            ctx.issue(row.label, key, code, f"{verdict} quality code; {field} stored as NULL")
            continue
        c = _f_to_c_tenths(value)
        if c is None:
            ctx.issue(row.label, field, value, "not a tenths-°C value in °F; stored as NULL")
            continue
        if field == "temp_native":
            row.temp_c = c
        else:
            row.dew_c = c
    return True


def _wu_values(row: _Row, d: dict, dew_f: float | None, ctx: ImportContext) -> bool:
    row.report_type = "METAR" if row.ts.minute == 53 else "SPECI"
    for field, value in (("temp_native", row.temp_f), ("dewpoint_native", dew_f)):
        if value is None:
            if field == "temp_native":
                ctx.issue(row.label, field, "", "no temperature; stored with temp_c NULL")
            continue
        if value != round(value):
            ctx.issue(row.label, field, value, "not a whole °F value; stored as NULL")
            continue
        c = (value - 32.0) * 5.0 / 9.0
        if field == "temp_native":
            row.temp_c = c
        else:
            row.dew_c = c
    return True


def _drop_synop_duplicates(df: pd.DataFrame, ctx: ImportContext) -> pd.DataFrame:
    """Drop the FM12 rows that repeat a METAR/SPECI of the last 15 minutes (same value)."""
    df = df.sort_values(["station", "ts", "report_type"], kind="stable")
    synop = df["report_type"] == "SYNOP"
    metar = df[~synop & df["temp_c"].notna()][["station", "ts", "temp_c"]]
    cand = df[synop].reset_index(names="_row")
    if cand.empty or metar.empty:
        return df
    prior = pd.merge_asof(
        cand.sort_values("ts"),
        metar.rename(columns={"ts": "metar_ts", "temp_c": "metar_temp_c"}).sort_values("metar_ts"),
        left_on="ts",
        right_on="metar_ts",
        by="station",
        direction="backward",
        tolerance=pd.Timedelta(SYNOP_DUPLICATE_WINDOW),
    )
    same = prior["metar_temp_c"].notna() & (prior["metar_temp_c"] == prior["temp_c"])
    dup_rows = set(prior.loc[same, "_row"])
    kept_synop = int(synop.sum()) - len(dup_rows)
    ctx.issue(
        SUMMARY,
        "source_report_type",
        "FM12",
        f"{len(dup_rows)} SYNOP rows repeat the METAR/SPECI of the previous "
        f"{SYNOP_DUPLICATE_WINDOW.seconds // 60} min and are not stored; {kept_synop} SYNOP "
        "rows with a value of their own are stored as SYNOP",
    )
    return df.drop(index=list(dup_rows))


def _load(path: Path, ctx: ImportContext, source: str) -> None:
    rows: list[_Row] = []
    n_members = 0
    for name, lines in _members(path, ctx):
        got = _parse_member(name, lines, source, ctx)
        if got is not None:
            n_members += 1
            rows.extend(got)
    if not rows:
        raise ValueError(f"no report of {path.name} could be read ({len(ctx.issues)} issues)")
    df = pd.DataFrame(
        {
            "station": [r.station for r in rows],
            "ts": pd.to_datetime([r.ts for r in rows], utc=True),
            "temp_c": pd.array([r.temp_c for r in rows], dtype="Float64"),
            "dewpoint_c": pd.array([r.dew_c for r in rows], dtype="Float64"),
            "report_type": [r.report_type for r in rows],
            "label": [r.label for r in rows],
        }
    )
    dup = df.duplicated(["station", "ts", "report_type"], keep="first")
    for idx in dup[dup].index:
        ctx.issue(df.at[idx, "label"], "valid_time_utc", df.at[idx, "ts"], "duplicate; skipped")
    df = df[~dup]
    if source == SOURCE_GHCNH:
        df = _drop_synop_duplicates(df, ctx)
    for station, times in df[df["report_type"] == "METAR"].groupby("station")["ts"]:
        # Routine METARs are hourly; a longer spacing is a gap in the record.
        note_gaps(ctx, times, pd.Timedelta(hours=1), f"{station} hourly METAR valid_time_utc")
    temp_source = "tenths" if source == SOURCE_GHCNH else "whole_f"
    out = pd.DataFrame(
        {
            "station": df["station"],
            "ts": df["ts"],
            "temp_c": df["temp_c"],
            "temp_source": df["temp_c"].notna().map({True: temp_source, False: None}),
            "dewpoint_c": df["dewpoint_c"],
            "report_type": df["report_type"],
            "source": source,
            "source_file": ctx.source_file,
        }
    ).sort_values(["station", "ts"], kind="stable")
    ctx.write(WeatherObsRecord, out)


def load_ghcnh(path: Path, ctx: ImportContext) -> None:
    """Import the GHCNh hourly archive (tenths °C; SYNOP duplicates and bad quality dropped)."""
    _load(path, ctx, SOURCE_GHCNH)


def load_wunderground(path: Path, ctx: ImportContext) -> None:
    """Import the Weather Underground hourly archive (whole °F)."""
    _load(path, ctx, SOURCE_WU)


register(
    Importer(
        "weather.ghcnh_hourly",
        ("weather/obs_hourly_ghcnh_wu/ghcnh_hourly_*.tar.xz",),
        load_ghcnh,
        "NOAA GHCNh hourly METAR/SPECI reports (tenths °C, quality codes, SYNOP duplicates)",
        order=42,
    )
)
register(
    Importer(
        "weather.wunderground_hourly",
        ("weather/obs_hourly_ghcnh_wu/wunderground_hourly_*.tar.xz",),
        load_wunderground,
        "Weather Underground hourly METAR/SPECI reports (whole °F)",
        order=43,
    )
)
