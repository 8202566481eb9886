"""Parsers for NWS text products: the daily climate report (CLI) and the monthly CF6.

:func:`parse_cli` reads the settlement product (see ``shared/docs/weather-apis.md`` §1.5): the
report date comes from ``...THE <NAME> CLIMATE SUMMARY FOR <MONTH> <D> <YYYY>...`` (never from
the issuance time), the observed maximum is the first value after ``MAXIMUM`` in the
``TEMPERATURE (F)`` block, followed by its time (LST). A ``TODAY`` block label or a
``VALID ... AS OF`` line marks a preliminary report, ``YESTERDAY`` a final one. ``MM`` is
missing (``None``, never 0). One product can hold several sites' summaries (CLIHOU: Houston
Intercontinental and Hobby); all are returned.

:func:`parse_cf6` reads the daily rows of a CF6 (preliminary local climatological data) page.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        (
            "JANUARY",
            "FEBRUARY",
            "MARCH",
            "APRIL",
            "MAY",
            "JUNE",
            "JULY",
            "AUGUST",
            "SEPTEMBER",
            "OCTOBER",
            "NOVEMBER",
            "DECEMBER",
        )
    )
}
_MON3 = {m[:3]: i for m, i in MONTHS.items()}
# Clock offsets of the zone abbreviations NWS prints in issuance lines.
_TZ_ABBR = {
    "UTC": 0, "GMT": 0, "AST": -4, "ADT": -3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
}  # fmt: skip

_WMO = re.compile(r"^(?P<ttaaii>[A-Z]{4}\d\d) (?P<cccc>[A-Z]{4}) (?P<ddhhmm>\d{6})")
_AWIPS = re.compile(r"^(?P<awips>[A-Z0-9]{4,6})\s*$")
_ISSUED = re.compile(
    r"^(?P<hm>\d{3,4}) (?P<ampm>AM|PM) (?P<tz>[A-Z]{2,4}) [A-Z]{3} (?P<mon>[A-Z]{3}) "
    r"(?P<day>\d{1,2}) (?P<year>\d{4})\s*$",
    re.M,
)
_SUMMARY = re.compile(
    r"\.\.\.THE (?P<name>.+?) CLIMATE SUMMARY FOR (?P<month>[A-Z]+)\s+(?P<day>\d{1,2})\s+"
    r"(?P<year>\d{4})\.\.\."
)
_VALUE = re.compile(r"^(?P<v>-?\d+|MM)R?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):?(?P<m>\d{2})$")


class NwsTextError(ValueError):
    """A text product that lacks a part the parser needs; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def normalize(text: str) -> str:
    """Plain ``\n`` lines: NWS products come with ``\r\r\n`` endings and SOH/ETX bytes."""
    return re.sub(r"\r+\n?", "\n", text).replace("\x01", "").replace("\x03", "")


_GUIDANCE_TIME = re.compile(r"\b(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\s+(?P<hm>\d{4}) UTC\b")


def issuance_time(text: str) -> dt.datetime | None:
    """The product's own time, aware UTC: its local issuance line (``116 AM EST THU JAN 3
    2013``) or, for MOS/NBM/LAMP guidance, the run line (``4/07/2026  1500 UTC``); else None.
    """
    text = normalize(text)
    issued = _header(text)["issued_at"]
    if issued is not None:
        return issued
    m = _GUIDANCE_TIME.search(text)
    if m is None:
        return None
    try:
        hour, minute = divmod(int(m["hm"]), 100)
        return dt.datetime(int(m["y"]), int(m["mo"]), int(m["d"]), hour, minute, tzinfo=dt.UTC)
    except ValueError:
        return None


def unreadable_issuance_line(text: str) -> str | None:
    """The local issuance line when the product has one that cannot be read, else None.

    Products without such a line (CF6, DSM, BUFKIT, guidance with a run line) return None.
    """
    head = _header(normalize(text))
    if head["issued_at"] is None and head["issued_line"]:
        return head["issued_line"]
    return None


def _header(text: str) -> dict[str, Any]:
    """WMO heading (``CDUS41 KOKX 030616``), AWIPS id (``CLINYC``) and issuance time."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    out: dict[str, Any] = {
        "wmo_header": None,
        "office": None,
        "product": None,
        "issued_at": None,
        "issued_line": None,
    }
    for i, ln in enumerate(lines[:10]):
        m = _WMO.match(ln)
        if m:
            out["wmo_header"], out["office"] = m["ttaaii"], m["cccc"]
            for nxt in lines[i + 1 : i + 4]:
                a = _AWIPS.match(nxt)
                if a:
                    out["product"] = a["awips"]
                    break
            break
    m = _ISSUED.search(text)
    if m:
        out["issued_line"] = m.group(0).strip()
    if m and m["tz"] in _TZ_ABBR and m["mon"] in _MON3:
        hm = int(m["hm"])
        hour, minute = divmod(hm, 100)
        hour = hour % 12 + (12 if m["ampm"] == "PM" else 0)
        tz = dt.timezone(dt.timedelta(hours=_TZ_ABBR[m["tz"]]))
        try:
            local = dt.datetime(
                int(m["year"]), _MON3[m["mon"]], int(m["day"]), hour, minute, tzinfo=tz
            )
            out["issued_at"] = local.astimezone(dt.UTC)
        except ValueError:
            pass
    return out


def _clock(tokens: list[str]) -> dt.time | None:
    """``["301", "PM"]`` → 15:01; ``["11:20", "AM"]`` → 11:20; anything else → None."""
    if len(tokens) < 2 or tokens[1] not in ("AM", "PM"):
        return None
    m = _CLOCK.match(tokens[0])
    if m is None:
        return None
    hour, minute = int(m["h"]), int(m["m"])
    if not (1 <= hour <= 12 and minute < 60):
        return None
    return dt.time(hour % 12 + (12 if tokens[1] == "PM" else 0), minute)


def _temperature_row(block: list[str], label: str) -> tuple[int | None, dt.time | None, bool]:
    """``(value, time, found)`` of the first ``MAXIMUM``/``MINIMUM`` row of the block."""
    for ln in block:
        tokens = ln.split()
        if tokens and tokens[0] == label:
            if len(tokens) < 2:
                raise NwsTextError(label, f"row has no value: {ln.strip()!r}")
            m = _VALUE.match(tokens[1])
            if m is None:
                raise NwsTextError(label, f"observed value {tokens[1]!r} is not a number or MM")
            value = None if m["v"] == "MM" else int(m["v"])
            return value, _clock(tokens[2:4]), True
    return None, None, False


def _summary(name: str, date: dt.date, body: str) -> dict[str, Any]:
    lines = body.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "TEMPERATURE (F)"), None)
    if start is None:
        raise NwsTextError("TEMPERATURE (F)", f"no temperature block in the {name} summary")
    block: list[str] = []
    for ln in lines[start + 1 :]:
        if ln.strip() and not ln.startswith(" "):  # next unindented heading ends the block
            break
        block.append(ln)
    labels = [ln.strip() for ln in block if ln.strip() in ("TODAY", "YESTERDAY")]
    label = labels[0] if labels else None
    valid_as_of = re.search(r"^\s*VALID\b.*\bAS OF\b", body, re.M) is not None
    max_f, max_time, found = _temperature_row(block, "MAXIMUM")
    if not found:
        raise NwsTextError("MAXIMUM", f"no MAXIMUM row in the {name} temperature block")
    min_f, min_time, _ = _temperature_row(block, "MINIMUM")
    return {
        "station_name": name,
        "date": date,
        "max_f": max_f,
        "max_time": max_time,
        "min_f": min_f,
        "min_time": min_time,
        "period_label": label,
        "preliminary": label == "TODAY" or valid_as_of,
    }


def parse_cli(text: str) -> dict[str, Any]:
    """Parse an NWS Daily Climate Report (CLI).

    Args:
        text: the product text (WMO heading optional).

    Returns:
        ``product`` (``"CLINYC"``), ``wmo_header``, ``office``, ``issued_at`` (aware UTC or
        ``None``), ``summaries`` (one dict per site summary), and the first summary's keys at
        top level: ``station_name``, ``date`` (the climate day), ``max_f`` (int or ``None``
        for ``MM``), ``max_time`` (LST ``time`` or ``None``), ``min_f``, ``min_time``,
        ``period_label`` (``"YESTERDAY"``/``"TODAY"``) and ``preliminary``.

    Raises:
        NwsTextError: no climate summary, no temperature block or an unreadable MAXIMUM row.
    """
    text = normalize(text)
    out = _header(text)
    heads = list(_SUMMARY.finditer(text))
    if not heads:
        raise NwsTextError("CLIMATE SUMMARY", "no '...THE <NAME> CLIMATE SUMMARY FOR ...' line")
    summaries = []
    for k, h in enumerate(heads):
        month = MONTHS.get(h["month"])
        if month is None:
            raise NwsTextError("CLIMATE SUMMARY", f"unknown month {h['month']!r}")
        try:
            date = dt.date(int(h["year"]), month, int(h["day"]))
        except ValueError as exc:
            raise NwsTextError("CLIMATE SUMMARY", f"bad date in {h.group(0)!r}: {exc}") from exc
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        summaries.append(_summary(h["name"].strip(), date, text[h.end() : end]))
    out["summaries"] = summaries
    out.update(summaries[0])
    return out


_CF6_FIELD = re.compile(r"^\s*(?P<key>STATION|MONTH|YEAR):\s*(?P<value>.+?)\s*$", re.M)
_CF6_ROW = re.compile(r"^\s*(?P<dy>\d{1,2})\s+(?P<max>-?\d+|M)\s+(?P<min>-?\d+|M)\s")


def parse_cf6(text: str) -> dict[str, Any]:
    """Parse the daily rows of a CF6 (WS form F-6) product.

    Returns:
        ``product``, ``wmo_header``, ``office``, ``issued_at``, ``station_name``, ``year``,
        ``month`` and ``days``: a list of ``{"date", "max_f", "min_f", "line"}`` (``None``
        for ``M``), one per daily row of the first page's table.

    Raises:
        NwsTextError: the STATION/MONTH/YEAR heading or the daily table is missing.
    """
    text = normalize(text)
    out = _header(text)
    fields: dict[str, str] = {}
    for m in _CF6_FIELD.finditer(text):
        fields.setdefault(m["key"], m["value"])
    for key in ("STATION", "MONTH", "YEAR"):
        if key not in fields:
            raise NwsTextError(key, f"no '{key}:' line in the CF6 heading")
    month = MONTHS.get(fields["MONTH"].upper())
    if month is None or not fields["YEAR"].isdigit():
        raise NwsTextError("MONTH", f"bad month/year {fields['MONTH']!r} {fields['YEAR']!r}")
    year = int(fields["YEAR"])
    lines = text.splitlines()
    try:
        head = next(i for i, ln in enumerate(lines) if ln.split()[:3] == ["DY", "MAX", "MIN"])
    except StopIteration as exc:
        raise NwsTextError("DY MAX MIN", "no daily table heading") from exc
    days = []
    # The table runs from the '=====' rule after the heading to the next rule.
    started = False
    for n, ln in enumerate(lines[head + 1 :], start=head + 2):
        if ln.startswith("====="):
            if started:
                break
            started = True
            continue
        m = _CF6_ROW.match(ln)
        if not started or m is None:
            continue
        try:
            date = dt.date(year, month, int(m["dy"]))
        except ValueError as exc:
            raise NwsTextError("DY", f"line {n}: day {m['dy']} invalid: {exc}") from exc
        days.append(
            {
                "date": date,
                "max_f": None if m["max"] == "M" else int(m["max"]),
                "min_f": None if m["min"] == "M" else int(m["min"]),
                "line": n,
            }
        )
    if not days:
        raise NwsTextError("DY MAX MIN", "daily table has no rows")
    out.update(station_name=fields["STATION"], year=year, month=month, days=days)
    return out
