"""NWS text products (``weather/nws_text_examples/``) → ``official_highs``, ``raw_messages``.

* ``CLI*.txt``: parsed with :func:`kbayes.io.nws_text.parse_cli`; each site summary with a
  maximum becomes an ``official_highs`` row, ``source = "cli_text"`` for a final report and
  ``"cli_text_prelim"`` for a preliminary one (they must never be mixed: only the final
  settles). The product's own site (``CLINYC`` → KNYC/NY) comes from the city table; other
  summaries (CLIHOU's Houston Intercontinental and Hobby) keep their printed name as station
  and city. A ``MM`` maximum is reported, not stored.
* ``CF6*.txt``: the daily MAX column of the F-6 table → ``source = "cf6"`` (CF6XXX maps to
  the city of CLIXXX when that is a settlement site; else the printed station name).
* every file, the two above included, is also kept verbatim as one ``raw_messages`` row:
  ``msg_type`` ``"nws_text:<AWIPS prefix>"`` (``CLI``, ``NBS``, ``MAV``, ``LAV`` ...; ``DSM``
  for the ASOS daily summary bulletin, which has no AWIPS line) or ``"bufkit:<model>"`` for
  ``*.buf(.gz)`` soundings; ``received_ts`` = the product's stated issuance/run time where it
  states one (aware UTC), else NULL.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.weather._common import find_city
from kbayes.io.nws_text import (
    NwsTextError,
    issuance_time,
    normalize,
    parse_cf6,
    parse_cli,
    unreadable_issuance_line,
)
from kbayes.market.records import OfficialHighRecord, RawMessageRecord

SOURCE_CLI = "cli_text"
SOURCE_CLI_PRELIM = "cli_text_prelim"
SOURCE_CF6 = "cf6"
_HIGH_COLS = ["station", "city", "date", "tmax_f", "source", "source_file"]


def _read_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    # latin-1 maps every byte, so odd bytes in old products never abort the import.
    with opener(path, "rt", encoding="latin-1", newline="") as f:
        return f.read()


def _msg_type(path: Path, text: str) -> str:
    name = path.name.lower()
    if ".buf" in name:
        return "bufkit:" + re.split(r"[_.]", name)[0]
    lines = normalize(text).splitlines()
    for i, ln in enumerate(lines[:10]):
        if re.match(r"^[A-Z]{4}\d\d [A-Z]{4} \d{6}", ln):
            nxt = next((x.strip() for x in lines[i + 1 : i + 3] if x.strip()), "")
            if re.fullmatch(r"[A-Z0-9]{4,6}", nxt):
                return f"nws_text:{nxt[:3]}"
            if re.match(r"^[A-Z0-9]{4} DS ", nxt):
                return "nws_text:DSM"
            break
    return "nws_text:" + re.split(r"[_.]", path.name)[0].upper()


def _raw_message(ctx: ImportContext, path: Path, text: str) -> None:
    issued = issuance_time(text)
    bad_line = unreadable_issuance_line(text)
    if bad_line is not None:
        ctx.issue(
            path.name,
            "received_ts",
            bad_line,
            "issuance line not readable (unknown zone, month or date); stored with "
            "received_ts NULL",
        )
    df = pd.DataFrame(
        [
            {
                "source_file": ctx.source_file,
                "line_no": 1,
                "received_ts": issued,
                "msg_type": _msg_type(path, text),
                "ticker": None,
                "payload": text,
            }
        ]
    )
    df["received_ts"] = pd.to_datetime(df["received_ts"], utc=True)
    ctx.write(RawMessageRecord, df)


def load_cli(path: Path, ctx: ImportContext) -> None:
    """Import one CLI product: official highs plus the verbatim text."""
    text = _read_text(path)
    try:
        cli = parse_cli(text)
    except NwsTextError as exc:
        raise ValueError(f"not a readable CLI product: {exc}") from exc
    product = cli.get("product") or ""
    own = find_city(product) if product.startswith("CLI") else None
    rows = []
    for k, s in enumerate(cli["summaries"]):
        record = f"{product or path.name} summary {k + 1} ({s['station_name']} {s['date']})"
        if s["max_f"] is None:
            ctx.issue(record, "MAXIMUM", "MM", "maximum missing in the report; not stored")
            continue
        if k == 0 and own is not None:
            station, city = own.station, own.key
        else:
            station = city = s["station_name"]
        rows.append(
            {
                "station": station,
                "city": city,
                "date": s["date"],
                "tmax_f": s["max_f"],
                "source": SOURCE_CLI_PRELIM if s["preliminary"] else SOURCE_CLI,
                "source_file": ctx.source_file,
            }
        )
    ctx.write(OfficialHighRecord, pd.DataFrame(rows, columns=_HIGH_COLS))
    _raw_message(ctx, path, text)


def load_cf6(path: Path, ctx: ImportContext) -> None:
    """Import one CF6 product: daily maxima plus the verbatim text."""
    text = _read_text(path)
    try:
        cf6 = parse_cf6(text)
    except NwsTextError as exc:
        raise ValueError(f"not a readable CF6 product: {exc}") from exc
    product = cf6.get("product") or ""
    city = find_city("CLI" + product[3:]) if product.startswith("CF6") else None
    station, key = (city.station, city.key) if city else (cf6["station_name"], cf6["station_name"])
    rows = []
    for day in cf6["days"]:
        if day["max_f"] is None:
            ctx.issue(f"line {day['line']}", "MAX", "M", f"{day['date']}: missing; not stored")
            continue
        rows.append(
            {
                "station": station,
                "city": key,
                "date": day["date"],
                "tmax_f": day["max_f"],
                "source": SOURCE_CF6,
                "source_file": ctx.source_file,
            }
        )
    ctx.write(OfficialHighRecord, pd.DataFrame(rows, columns=_HIGH_COLS))
    _raw_message(ctx, path, text)


def load_raw(path: Path, ctx: ImportContext) -> None:
    """Keep any other NWS product (guidance, DSM, BUFKIT) verbatim."""
    text = _read_text(path)
    if not text.strip():
        raise ValueError("empty product")
    _raw_message(ctx, path, text)


_DIR = "weather/nws_text_examples"
# CLI and CF6 run before the catch-all so it only gets the remaining products.
register(Importer("weather.nws_cli", (f"{_DIR}/CLI*.txt",), load_cli, "NWS CLI text", order=46))
register(Importer("weather.nws_cf6", (f"{_DIR}/CF6*.txt",), load_cf6, "NWS CF6 text", order=46))
register(
    Importer(
        "weather.nws_text_raw",
        (f"{_DIR}/*.txt", f"{_DIR}/*.buf.gz", f"{_DIR}/*.buf"),
        load_raw,
        "other NWS text products (NBM, MOS, LAMP, DSM, BUFKIT) kept verbatim",
        order=47,
    )
)
