"""Parser for NCEI DSI-6401 five-minute ASOS files (``asos-5min-KNYC-202507.dat``).

One line is one 5-minute observation, e.g.::

    94728KNYC NYC20250701201013907/01/25 20:10:31  5-MIN KNYC 020110Z AUTO 00000KT 4SM -RA BR
    BKN023 BKN085 BKN110 23/22 A2987 210 93 1200 000/00 RMK AO2 P0001 T02280217 $

(one line in the file). Fields used:

* chars 0-4 WBAN, 5-8 ICAO id, 13-24 ``YYYYMMDDHHMM`` in **local standard time** (no DST;
  UTC-5 for KNYC). The offset comes from the city table by station (or is passed in).
* then a ``MM/DD/YY HH:MM:SS`` local stamp, the report type (``5-MIN``) and a METAR-like body
  whose ``ddhhmmZ`` group is UTC. The UTC group must agree with LST minus the offset, and the
  ``MM/DD/YY`` date with the LST date, else the line is rejected (its time is then unknown).
* temperature: the remark ``Tsnnnsnnn`` gives temperature and dew point in tenths °C (``s`` = 1
  means negative); without it, the body ``TT/DD`` group in whole °C (``M`` prefix = minus).
  ``temp_source`` says which was used (``"tenths"`` or ``"whole"``), ``None`` when both are
  missing (``M M M M /M`` lines exist): the observation is kept, with no temperature.

:func:`parse_dsi6401_line` is pure and raises :class:`Dsi6401Error` (naming the field) on a line
it cannot read; :func:`parse_dsi6401_file` collects those as :class:`LineError` with line
numbers, so an importer can report every rejected line.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kbayes.market.cities import UnknownCityError, city_of

# After char 25: an unexplained 3-digit field, the local stamp, report type and the body.
_REST = re.compile(
    r"^\d*(?P<mdy>\d\d/\d\d/\d\d) (?P<hms>\d\d:\d\d:\d\d)\s+(?P<rtype>\S+)\s+(?P<body>.*?)\s*$"
)
_UTC_GROUP = re.compile(r"^(?P<d>\d\d)(?P<h>\d\d)(?P<m>\d\d)Z$")
# Body temperature/dew point: exactly two digits each, so wind groups like 000/00 never match.
_TT_DD = re.compile(r"^(?P<t>M?\d\d)/(?P<d>M?\d\d)?$")
_T_REMARK = re.compile(r"^T(?P<ts>[01])(?P<t>\d{3})(?:(?P<ds>[01])(?P<d>\d{3}))?$")

COLUMNS: tuple[str, ...] = (
    "line_no",
    "wban",
    "station",
    "valid_lst",
    "valid_utc",
    "report_type",
    "temp_c_whole",
    "dewpoint_c_whole",
    "temp_c_tenths",
    "dewpoint_c_tenths",
    "temp_c",
    "temp_source",
    "dewpoint_c",
    "dewpoint_source",
)


class Dsi6401Error(ValueError):
    """A DSI-6401 line that cannot be parsed; ``field`` names the part that failed."""

    def __init__(self, field: str, value: str, message: str) -> None:
        super().__init__(f"{field}={value!r}: {message}")
        self.field = field
        self.value = value
        self.message = message


@dataclass(frozen=True, slots=True)
class LineError:
    """A rejected line of a DSI-6401 file (1-based ``line_no``)."""

    line_no: int
    field: str
    value: str
    message: str


def _whole_c(token: str | None) -> int | None:
    if not token:
        return None
    return -int(token[1:]) if token.startswith("M") else int(token)


def _tenths_c(sign: str | None, digits: str | None) -> float | None:
    if digits is None:
        return None
    v = int(digits) / 10.0
    return -v if sign == "1" else v


def _resolve_utc_group(group: str, expected: dt.datetime) -> dt.datetime:
    """The UTC instant of a ``ddhhmmZ`` group, in the month nearest ``expected``."""
    m = _UTC_GROUP.match(group)
    if m is None:
        raise Dsi6401Error("ddhhmmZ", group, "not a ddhhmmZ UTC group")
    day, hour, minute = int(m["d"]), int(m["h"]), int(m["m"])
    best: dt.datetime | None = None
    for month_shift in (-1, 0, 1):
        y, mo = expected.year, expected.month + month_shift
        if mo == 0:
            y, mo = y - 1, 12
        elif mo == 13:
            y, mo = y + 1, 1
        try:
            cand = dt.datetime(y, mo, day, hour, minute, tzinfo=dt.UTC)
        except ValueError:
            continue
        if best is None or abs(cand - expected) < abs(best - expected):
            best = cand
    if best is None:
        raise Dsi6401Error("ddhhmmZ", group, "day/hour/minute out of range")
    return best


def parse_dsi6401_line(line: str, lst_offset_hours: int | None = None) -> dict[str, Any]:
    """Parse one DSI-6401 line.

    Args:
        line: one line of the file (trailing newline allowed).
        lst_offset_hours: local standard time minus UTC (``-5`` for New York). ``None`` looks
            it up in the city table by the line's ICAO station.

    Returns:
        ``wban``, ``station``, ``valid_lst`` (naive LST ``datetime``), ``valid_utc`` (aware UTC),
        ``report_type``, ``temp_c_whole``/``dewpoint_c_whole`` (int °C or ``None``),
        ``temp_c_tenths``/``dewpoint_c_tenths`` (float °C or ``None``), ``temp_c`` and
        ``dewpoint_c`` (tenths when present, else whole) with ``temp_source`` /
        ``dewpoint_source`` = ``"tenths"``, ``"whole"`` or ``None``.

    Raises:
        Dsi6401Error: the line is too short, a time field is malformed or inconsistent, the
            station is unknown (with no offset given), or the temperature groups are ambiguous.
    """
    line = line.rstrip("\r\n")
    if len(line) < 26:
        raise Dsi6401Error("line", line, "shorter than the fixed-width header (26 chars)")
    wban, station, lst_raw = line[0:5], line[5:9], line[13:25]
    if not wban.isdigit():
        raise Dsi6401Error("wban", wban, "WBAN (chars 0-4) is not 5 digits")
    if not re.fullmatch(r"[A-Z0-9]{4}", station):
        raise Dsi6401Error("station", station, "ICAO id (chars 5-8) is not 4 letters/digits")
    try:
        if not lst_raw.isdigit():
            raise ValueError("not digits")
        # int slicing, not strptime: this runs once per line of 35k-line files.
        valid_lst = dt.datetime(
            int(lst_raw[0:4]),
            int(lst_raw[4:6]),
            int(lst_raw[6:8]),
            int(lst_raw[8:10]),
            int(lst_raw[10:12]),
        )
    except ValueError as exc:
        raise Dsi6401Error("lst", lst_raw, f"chars 13-24 are not YYYYMMDDHHMM ({exc})") from exc
    if lst_offset_hours is None:
        try:
            lst_offset_hours = city_of(station).lst_offset_hours
        except UnknownCityError as exc:
            raise Dsi6401Error(
                "station", station, "not in the city table; pass lst_offset_hours"
            ) from exc
    valid_utc = (valid_lst - dt.timedelta(hours=lst_offset_hours)).replace(tzinfo=dt.UTC)

    m = _REST.match(line[25:])
    if m is None:
        raise Dsi6401Error(
            "header", line[25:60], "expected 'MM/DD/YY HH:MM:SS  <type> <body>' after char 25"
        )
    mdy = m["mdy"]
    if (int(mdy[0:2]), int(mdy[3:5]), int(mdy[6:8])) != (
        valid_lst.month,
        valid_lst.day,
        valid_lst.year % 100,
    ):
        raise Dsi6401Error(
            "local_date", m["mdy"], f"disagrees with the LST date {valid_lst.date()} (chars 13-24)"
        )
    report_type = m["rtype"]

    tokens = m["body"].split()
    if len(tokens) < 2:
        raise Dsi6401Error("body", m["body"], "no station and ddhhmmZ group")
    if tokens[0] != station:
        raise Dsi6401Error("body_station", tokens[0], f"body station differs from {station}")
    expected = f"{valid_utc.day:02d}{valid_utc.hour:02d}{valid_utc.minute:02d}Z"
    body_utc = valid_utc if tokens[1] == expected else _resolve_utc_group(tokens[1], valid_utc)
    if body_utc != valid_utc:
        raise Dsi6401Error(
            "ddhhmmZ",
            tokens[1],
            f"UTC group is {body_utc:%Y-%m-%d %H:%MZ} but LST {valid_lst:%Y-%m-%d %H:%M} "
            f"minus UTC{lst_offset_hours:+d} is {valid_utc:%Y-%m-%d %H:%MZ}",
        )
    try:
        rmk = tokens.index("RMK")
    except ValueError:
        rmk = len(tokens)
    body, remarks = tokens[2:rmk], tokens[rmk + 1 :]

    whole = [g for g in (_TT_DD.match(t) for t in body) if g is not None]
    if len(whole) > 1:
        raise Dsi6401Error(
            "TT/DD", " ".join(g.group(0) for g in whole), "more than one temperature group"
        )
    temp_whole = _whole_c(whole[0]["t"]) if whole else None
    dew_whole = _whole_c(whole[0]["d"]) if whole else None

    tenths = [g for g in (_T_REMARK.match(t) for t in remarks) if g is not None]
    if len(tenths) > 1:
        raise Dsi6401Error(
            "T_remark", " ".join(g.group(0) for g in tenths), "more than one T remark"
        )
    temp_tenths = _tenths_c(tenths[0]["ts"], tenths[0]["t"]) if tenths else None
    dew_tenths = _tenths_c(tenths[0]["ds"], tenths[0]["d"]) if tenths else None

    def pick(tenths_v: float | None, whole_v: int | None) -> tuple[float | None, str | None]:
        if tenths_v is not None:
            return tenths_v, "tenths"
        if whole_v is not None:
            return float(whole_v), "whole"
        return None, None

    temp_c, temp_source = pick(temp_tenths, temp_whole)
    dew_c, dew_source = pick(dew_tenths, dew_whole)
    return {
        "wban": wban,
        "station": station,
        "valid_lst": valid_lst,
        "valid_utc": valid_utc,
        "report_type": report_type,
        "temp_c_whole": temp_whole,
        "dewpoint_c_whole": dew_whole,
        "temp_c_tenths": temp_tenths,
        "dewpoint_c_tenths": dew_tenths,
        "temp_c": temp_c,
        "temp_source": temp_source,
        "dewpoint_c": dew_c,
        "dewpoint_source": dew_source,
    }


def _read_lines(source: str | Path | Iterable[str]) -> Iterable[str]:
    if isinstance(source, str | Path):
        path = Path(source)
        opener = gzip.open if path.suffix == ".gz" else open
        # latin-1 never fails to decode, so a stray byte becomes a field error, not a crash.
        with opener(path, "rt", encoding="latin-1", newline="") as f:
            yield from f
    else:
        yield from source


def parse_dsi6401_file(
    source: str | Path | Iterable[str], lst_offset_hours: int | None = None
) -> tuple[pd.DataFrame, list[LineError]]:
    """Parse a whole DSI-6401 file (``.dat`` or ``.dat.gz``) or an iterable of its lines.

    Blank lines are ignored. Every other line either becomes a row or a :class:`LineError`.

    Returns:
        A frame with :data:`COLUMNS` (``line_no`` is 1-based; ``valid_utc`` is aware UTC,
        ``valid_lst`` naive LST; optional values are ``None``/NA, never invented) and the list
        of rejected lines.
    """
    rows: list[dict[str, Any]] = []
    errors: list[LineError] = []
    for n, line in enumerate(_read_lines(source), start=1):
        if not line.strip():
            continue
        try:
            rec = parse_dsi6401_line(line, lst_offset_hours)
        except Dsi6401Error as exc:
            errors.append(LineError(n, exc.field, exc.value, exc.message))
            continue
        rec["line_no"] = n
        rows.append(rec)
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["valid_utc"] = pd.to_datetime(df["valid_utc"], utc=True)
    df["valid_lst"] = pd.to_datetime(df["valid_lst"])
    for col in ("temp_c_whole", "dewpoint_c_whole", "line_no"):
        df[col] = df[col].astype("Int64")
    for col in ("temp_c_tenths", "dewpoint_c_tenths", "temp_c", "dewpoint_c"):
        df[col] = df[col].astype("Float64")
    return df, errors
