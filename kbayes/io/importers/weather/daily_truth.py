"""Official daily maxima (``weather/daily_truth/*.csv``) → ``official_highs``.

The file kind is recognised by its header, not its name. One ``source`` tag per file and
column, so labels from different producers can be compared and never mixed silently:

=========================================  =================================================
file / column                              ``source``
=========================================  =================================================
cli_settlement ``tmax_final`` (iem)        ``cli_iem``: NWS CLI high via the IEM CLI service
cli_settlement ``tmax_final`` (ncei)       ``ncei``: the producer's fallback to NCEI TMAX
cli_settlement ``tmax_ncei_f``             ``ncei_daily``: NCEI daily-summaries TMAX, the
                                           producer's validator column, kept for comparison
cli_settlement ``tmax_cli_f``              ``cli`` (always empty in the staged file)
ghcnd_tmax ``tmax_f`` (KNYC/KMDW)          ``ghcnd``: unrounded °F, rounded half up; checked
                                           against ``tmax_c`` (GHCN tenths °C)
acis_maxt ``maxt_f``                       ``acis``: RCC-ACIS maxt (= CLI/CF6)
NOAA CDO ``nws_settlement_temp``           ``ghcnd_cdo``: GHCN-D TMAX as whole °F
=========================================  =================================================

Stations outside the city table (ACIS's KMSP, KIAH ...) are stored with their ICAO id and the
file's city name (see :mod:`kbayes.io.importers.weather._common`). A missing or non-integer
value skips that row with an issue; a zero-padded or float-formatted integer (``35.0``) is
accepted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.weather._common import (
    drop_duplicates,
    issue_rows,
    line_labels,
    note_gaps,
    parse_dates,
    place,
)
from kbayes.market.fahrenheit import c_to_f, round_half_up
from kbayes.market.records import OfficialHighRecord


def _whole_f(values: pd.Series) -> pd.Series:
    """Whole-°F integers from text; NA where missing or not an integer (``35.0`` is 35)."""
    num = pd.to_numeric(values, errors="coerce")
    ok = num.notna() & (num == np.round(num))
    return num.where(ok).astype("Int64")


def _places(df: pd.DataFrame, station_col: str, city_col: str | None) -> pd.DataFrame:
    """``station``/``city`` columns, resolved once per distinct (station, name) pair."""
    stations = df[station_col].tolist()
    names = df[city_col].tolist() if city_col else [None] * len(df)
    lookup: dict[tuple[object, object], tuple[str, str]] = {}
    for key in set(zip(stations, names, strict=True)):
        lookup[key] = place(key[0], key[1])
    rows = [lookup[k] for k in zip(stations, names, strict=True)]
    return pd.DataFrame(rows, columns=["station", "city"], index=df.index)


def _emit(
    ctx: ImportContext,
    df: pd.DataFrame,
    labels: pd.Series,
    value: pd.Series,
    source: pd.Series | str,
    field: str,
    raw: pd.Series,
    required: bool = True,
) -> pd.DataFrame:
    """Rows with a valid ``value``; invalid ones are reported (missing ones too if required)."""
    missing = raw.isna() | (raw.astype("string").str.strip() == "")
    bad = value.isna() & ~missing
    issue_rows(ctx, bad, labels, field, raw, "not a whole °F number; row skipped")
    if required:
        issue_rows(ctx, missing, labels, field, raw, "value missing; row skipped")
    keep = value.notna() & df["date"].notna()
    return pd.DataFrame(
        {
            "station": df["station"][keep],
            "city": df["city"][keep],
            "date": df["date"][keep],
            "tmax_f": value[keep],
            "source": source[keep] if isinstance(source, pd.Series) else source,
            "source_file": ctx.source_file,
            "_label": labels[keep],
        }
    )


def _base(
    ctx: ImportContext,
    raw: pd.DataFrame,
    station_col: str,
    city_col: str | None,
    date_col: str,
) -> tuple[pd.DataFrame, pd.Series]:
    labels = line_labels(raw.index)
    base = _places(raw, station_col, city_col)
    base["date"] = parse_dates(raw[date_col])
    issue_rows(
        ctx,
        base["date"].isna(),
        labels,
        date_col,
        raw[date_col],
        "missing or not YYYY-MM-DD; row skipped",
    )
    empty_station = base["station"] == ""
    issue_rows(ctx, empty_station, labels, station_col, raw[station_col], "no station; skipped")
    base.loc[empty_station, "date"] = None
    return base, labels


def _cli_settlement(ctx: ImportContext, raw: pd.DataFrame) -> list[pd.DataFrame]:
    base, labels = _base(ctx, raw, "station", "city", "date_local")
    final = _whole_f(raw["tmax_final"])
    src = raw["source_final"].str.strip().str.lower()
    tag = src.map({"iem": "cli_iem", "ncei": "ncei"})
    unknown = tag.isna() & base["date"].notna()
    issue_rows(ctx, unknown, labels, "source_final", raw["source_final"], "unknown; row skipped")
    base.loc[unknown, "date"] = None
    iem = _whole_f(raw["tmax_iem_f"])
    differ = (src == "iem") & iem.notna() & final.notna() & (iem != final)
    issue_rows(
        ctx, differ, labels, "tmax_iem_f", raw["tmax_iem_f"], "differs from tmax_final (kept)"
    )
    out = [_emit(ctx, base, labels, final, tag, "tmax_final", raw["tmax_final"])]
    # Optional comparison columns: only an unusable non-empty value is reported.
    out.append(
        _emit(
            ctx,
            base,
            labels,
            _whole_f(raw["tmax_ncei_f"]),
            "ncei_daily",
            "tmax_ncei_f",
            raw["tmax_ncei_f"],
            required=False,
        )
    )
    out.append(
        _emit(
            ctx,
            base,
            labels,
            _whole_f(raw["tmax_cli_f"]),
            "cli",
            "tmax_cli_f",
            raw["tmax_cli_f"],
            required=False,
        )
    )
    return out


def _ghcnd(ctx: ImportContext, raw: pd.DataFrame) -> list[pd.DataFrame]:
    base, labels = _base(ctx, raw, "station_id", None, "obs_date")
    tmax_f = pd.to_numeric(raw["tmax_f"], errors="coerce")
    tmax_c = pd.to_numeric(raw["tmax_c"], errors="coerce")
    value = pd.Series(
        [pd.NA if pd.isna(v) else round_half_up(v) for v in tmax_f], index=raw.index, dtype="Int64"
    )
    # tmax_f is tmax_c * 9/5 + 32 unrounded; a mismatch means one of them was altered.
    from_c = pd.Series(
        [np.nan if pd.isna(v) else c_to_f(v) for v in tmax_c], index=raw.index, dtype=float
    )
    differ = tmax_f.notna() & tmax_c.notna() & ((from_c - tmax_f).abs() > 0.011)
    issue_rows(ctx, differ, labels, "tmax_c", raw["tmax_c"], "inconsistent with tmax_f (kept)")
    return [_emit(ctx, base, labels, value, "ghcnd", "tmax_f", raw["tmax_f"])]


def _acis(ctx: ImportContext, raw: pd.DataFrame) -> list[pd.DataFrame]:
    base, labels = _base(ctx, raw, "station", "city", "date_local")
    return [_emit(ctx, base, labels, _whole_f(raw["maxt_f"]), "acis", "maxt_f", raw["maxt_f"])]


def _ghcnd_cdo(ctx: ImportContext, raw: pd.DataFrame) -> list[pd.DataFrame]:
    base, labels = _base(ctx, raw, "station_id", "city", "date")
    # The GHCN id decides the station; the short city code must agree with it.
    by_city = _places(raw, "city", None)
    disagree = (by_city["city"] != base["city"]) & (base["station"] != "")
    issue_rows(ctx, disagree, labels, "city", raw["city"], "disagrees with station_id; skipped")
    base.loc[disagree, "date"] = None
    # GHCN ids of unknown stations: keep the id without its "GHCND:" prefix.
    base["station"] = base["station"].str.replace(r"^GHCND:", "", regex=True)
    value = _whole_f(raw["nws_settlement_temp"])
    return [
        _emit(
            ctx, base, labels, value, "ghcnd_cdo", "nws_settlement_temp", raw["nws_settlement_temp"]
        )
    ]


_DAILY_SERIES = {"ghcnd", "acis", "ghcnd_cdo"}

# Header → parser. A header that matches none of them makes the file unreadable (raise).
_KINDS = (
    ({"station", "date_local", "tmax_final", "source_final", "tmax_iem_f"}, _cli_settlement),
    ({"station_id", "obs_date", "tmax_c", "tmax_f"}, _ghcnd),
    ({"station", "city", "date_local", "maxt_f"}, _acis),
    ({"city", "date", "nws_settlement_temp", "station_id"}, _ghcnd_cdo),
)


def load_daily_truth(path: Path, ctx: ImportContext) -> None:
    """Import one daily-truth CSV (kind detected from its header)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    parse = next((p for cols, p in _KINDS if cols <= set(raw.columns)), None)
    if parse is None:
        raise ValueError(f"unknown daily-truth schema: columns {list(raw.columns)}")
    if "tmax_cli_f" not in raw.columns and parse is _cli_settlement:
        raw["tmax_cli_f"] = None
    if "tmax_ncei_f" not in raw.columns and parse is _cli_settlement:
        raw["tmax_ncei_f"] = None
    out = pd.concat(parse(ctx, raw), ignore_index=True)
    out = drop_duplicates(ctx, out, out["_label"], ["station", "date", "source"])
    for (station, source), dates in out.groupby(["station", "source"])["date"]:
        if source in _DAILY_SERIES:  # the fallback/validator columns are sparse by design
            note_gaps(ctx, dates, pd.Timedelta(days=1), f"{station} {source} date")
    ctx.write(OfficialHighRecord, out.drop(columns="_label"))


register(
    Importer(
        "weather.daily_truth",
        ("weather/daily_truth/*.csv",),
        load_daily_truth,
        "official daily maxima: CLI/IEM settlement, GHCN-D, ACIS, NOAA CDO",
        order=40,
    )
)
