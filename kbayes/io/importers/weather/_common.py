"""Helpers shared by the weather importers: place lookup, row labels and issue reporting.

Convention for places that are not settlement cities (ACIS's KMSP, CLIHOU, CF6DSM ...): the
row is stored, not dropped, with ``station`` = the source's station id (or, when the source
has none, its printed station name) and ``city`` = the source's own place name (``"Minneapolis"``,
``"HOUSTON INTERCONTINENTAL"``). kbayes city keys are short upper-case codes (``"NY"``,
``"CHI"``), so ``city IN (SELECT key ...)`` keeps exactly the settlement sites.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from kbayes.io.importers.base import ImportContext
from kbayes.market.cities import City, UnknownCityError, city_of

SUMMARY = "(summary)"


def find_city(*names: object) -> City | None:
    """The first of ``names`` (station, GHCN id, city name ...) found in the city table."""
    for name in names:
        if name is None or (isinstance(name, float) and pd.isna(name)):
            continue
        text = str(name).strip()
        if not text:
            continue
        if text.upper().startswith("GHCND:"):
            text = text[6:]
        try:
            return city_of(text)
        except UnknownCityError:
            continue
    return None


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def place(station: object, place_name: object) -> tuple[str, str]:
    """``(station, city)`` for a row: city-table values when known, else the source's own.

    The station id decides when there is one; the place name is only used without one (an
    unknown station in a known city, e.g. a second Chicago airport, must not become KMDW).
    """
    st, name = _text(station).strip(), _text(place_name).strip()
    city = find_city(st) if st else find_city(name)
    if city is not None:
        return city.station, city.key
    return st or name, name or st


def line_labels(index: pd.Index, header_lines: int = 1) -> pd.Series:
    """``"line N"`` for each row of a CSV frame read with a default index (header = line 1)."""
    return pd.Series([f"line {i + 1 + header_lines}" for i in index], index=index)


def describe_rows(labels: Sequence[str], limit: int = 5) -> str:
    """``"line 3, line 9 (+12 more)"``."""
    labels = list(labels)
    head = ", ".join(labels[:limit])
    return head + (f" (+{len(labels) - limit} more)" if len(labels) > limit else "")


def issue_rows(
    ctx: ImportContext,
    mask: pd.Series,
    labels: pd.Series,
    field: str,
    values: pd.Series,
    message: str,
) -> None:
    """One issue per row where ``mask`` is true (used for rows that are skipped)."""
    for idx in mask[mask].index:
        ctx.issue(labels[idx], field, values[idx], message)


def note_nulls(
    ctx: ImportContext, df: pd.DataFrame, labels: pd.Series, cols: Sequence[str]
) -> None:
    """One summary issue per optional column that is empty somewhere (stored as NULL).

    Rows with a missing optional value are kept; the note makes the NULLs visible instead of
    silent.
    """
    for col in cols:
        na = df[col].isna()
        if na.any():
            ctx.issue(
                f"{int(na.sum())} rows: {describe_rows(labels[na].tolist())}",
                col,
                "",
                "value missing in the source; row kept with NULL",
            )


def drop_duplicates(
    ctx: ImportContext, df: pd.DataFrame, labels: pd.Series, key: Sequence[str]
) -> pd.DataFrame:
    """Drop rows repeating ``key`` (first kept), with one issue per dropped row."""
    dup = df.duplicated(list(key), keep="first")
    for idx in dup[dup].index:
        ctx.issue(
            labels[idx],
            "+".join(key),
            "/".join(str(df.at[idx, k]) for k in key),
            "duplicate key; the first occurrence is kept",
        )
    return df[~dup]


def parse_dates(values: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` strings to ``datetime.date`` (``NaT``/``None`` where unparseable)."""
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    return pd.Series(
        [None if pd.isna(v) else v.date() for v in parsed], index=values.index, dtype=object
    )


def parse_aware_utc_one(text: object) -> tuple[dt.datetime | None, bool]:
    """One ISO timestamp to aware UTC: ``(instant, naive)``; ``(None, True)`` if it has no
    zone, ``(None, False)`` if missing or unparseable."""
    if not isinstance(text, str):
        return None, False
    try:
        ts = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None, False
    if ts.tzinfo is None or ts.utcoffset() is None:
        return None, True
    return ts.astimezone(dt.UTC), False


def parse_aware_utc(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO timestamps to aware UTC; also a mask of values that carry no zone (naive).

    Returns:
        ``(timestamps, naive)``: ``timestamps`` is ``NaT`` where the value is missing, naive or
        unparseable; ``naive`` flags the values that parsed only as naive times.
    """
    text = values.astype("string").str.strip()
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    ts = pd.to_datetime(text.where(has_zone), utc=True, format="ISO8601", errors="coerce")
    return ts, text.notna() & ~has_zone


def note_gaps(
    ctx: ImportContext,
    times: pd.Series,
    step: pd.Timedelta,
    what: str,
    limit: int = 5,
) -> None:
    """One summary issue when a regular series (``step`` apart) has missing steps.

    Args:
        ctx: import context.
        times: the instants (or dates as ``Timestamp``) of one series, any order.
        step: the nominal spacing (5 min, 1 day).
        what: names the series in the message (``"KNYC 5-min"``).
        limit: how many of the longest gaps to list.
    """
    t = pd.Series(pd.to_datetime(times)).dropna().drop_duplicates().sort_values()
    if len(t) < 2:
        return
    d = t.diff()
    gaps = d[d > step]
    if gaps.empty:
        return
    missing = int(((gaps / step).round() - 1).sum())
    daily = step >= pd.Timedelta(days=1)
    fmt = "%Y-%m-%d" if daily else "%Y-%m-%dT%H:%MZ"
    unit, per = ("d", pd.Timedelta(days=1)) if daily else ("h", pd.Timedelta(hours=1))
    longest = gaps.sort_values(ascending=False).head(limit)
    shown = ", ".join(
        f"{t[i] - g:{fmt}} → {t[i]:{fmt}} ({g / per:.4g} {unit})" for i, g in longest.items()
    )
    ctx.issue(
        SUMMARY,
        what,
        f"{len(gaps)} gaps",
        f"{missing} missing steps of {step / per:.4g} {unit} between {t.iloc[0]:{fmt}} and "
        f"{t.iloc[-1]:{fmt}}; longest (last present → next present): {shown}",
    )
