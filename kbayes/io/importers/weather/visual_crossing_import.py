"""Visual Crossing historical forecasts → ``forecast_hourly`` / ``forecast_daily``.

Files: ``weather/forecasts/visualcrossing_hourly/vc_hist_fcst_hourly_<city>.csv.gz`` and
``visualcrossing_daily/vc_hist_fcst_daily_<city>.csv.gz``; ``provider = "visualcrossing"``.

**No-look-ahead convention for ``issued_at``.** A row carries only a ``forecast_basis_date``
(the VC ``forecastBasisDate``), not an issue time. kbayes treats the forecast as available at
**12:00 UTC on the basis date**, the same anchor the producer used for its ``lead_hours``
(PROVENANCE: ``lead_hours = target − (basis + 12 h)``). A backtest may only use a row once its
``issued_at`` has passed, so this is the single place the availability assumption lives.
``lead_hours`` is stored as ``target_ts − issued_at`` and ``lead_days`` as ``target_date −``
the basis date (the LST date of 12:00 UTC is the basis date for every US zone).

**Time zones (hourly).** PROVENANCE says ``target_datetime_local`` is really UTC. That is true
for most rows, but not all: in the Chicago file 150 919 of 178 752 rows, and 5 376 Austin rows,
carry the real local clock time (CST/CDT) there, while ``target_datetime_utc`` is UTC in every
row (diurnal peak at ≈21 UTC either way, no duplicate UTC instants per basis date). So
``target_ts`` is always taken from the ``…Z`` column; the local column must equal it either
as-is or converted to the city's civil zone, otherwise the row is skipped with an issue. The
producer's ``lead_hours`` is 12 h larger on exactly the local-clock rows (it measured from
basis 00 UTC there); the recomputed value is stored and the disagreement reported once.

Daily ``tempmax_f`` is VC's maximum over the *civil* local day, not the LST climate day.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.weather._common import (
    SUMMARY,
    describe_rows,
    drop_duplicates,
    find_city,
    issue_rows,
    line_labels,
    note_nulls,
    parse_aware_utc,
    parse_dates,
)
from kbayes.market.records import ForecastDailyRecord, ForecastHourlyRecord

PROVIDER = "visualcrossing"
ISSUE_HOUR_UTC = 12

_HOURLY_VALUES = {
    "temp_f": "temp_f",
    "dew_f": "dew_f",
    "humidity": "humidity",
    "precip_in": "precip_in",
    "precipprob": "precipprob",
    "windspeed_mph": "windspeed_mph",
    "cloudcover": "cloudcover",
}


def _read(path: Path, required: set[str]) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if missing := required - set(raw.columns):
        raise ValueError(f"missing columns {sorted(missing)} (have {list(raw.columns)})")
    return raw


def _stations(
    ctx: ImportContext, raw: pd.DataFrame, labels: pd.Series
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """``(station, city key, tz name, ok)`` per row from the station/city columns."""
    station = pd.Series("", index=raw.index, dtype=object)
    key = pd.Series("", index=raw.index, dtype=object)
    tz = pd.Series("", index=raw.index, dtype=object)
    ok = pd.Series(False, index=raw.index)
    for (st, name), idx in raw.groupby(["station", "city"], dropna=False).groups.items():
        city = find_city(st)
        if city is None or (find_city(name) not in (None, city)):
            why = "not in the city table" if city is None else f"city {name!r} is not {city.key}"
            issue_rows(
                ctx,
                pd.Series(True, index=idx),
                labels,
                "station",
                raw["station"],
                f"station {why}; row skipped",
            )
            continue
        station[idx], key[idx], tz[idx], ok[idx] = city.station, city.key, city.tz_name, True
    return station, key, tz, ok


def _issued_at(ctx: ImportContext, raw: pd.DataFrame, labels: pd.Series) -> pd.Series:
    basis = pd.to_datetime(raw["forecast_basis_date"], format="%Y-%m-%d", errors="coerce")
    issue_rows(
        ctx,
        basis.isna(),
        labels,
        "forecast_basis_date",
        raw["forecast_basis_date"],
        "missing or not YYYY-MM-DD; row skipped",
    )
    return basis.dt.tz_localize("UTC") + pd.Timedelta(hours=ISSUE_HOUR_UTC)


def _numbers(
    ctx: ImportContext, raw: pd.DataFrame, labels: pd.Series, cols: dict[str, str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric columns; non-numeric text is reported and the row skipped (``ok`` mask)."""
    out = pd.DataFrame(index=raw.index)
    ok = pd.Series(True, index=raw.index)
    for src, dst in cols.items():
        num = pd.to_numeric(raw[src], errors="coerce")
        bad = num.isna() & raw[src].notna()
        issue_rows(ctx, bad, labels, src, raw[src], "not a number; row skipped")
        ok &= ~bad
        out[dst] = num
    return out, ok


def load_hourly(path: Path, ctx: ImportContext) -> None:
    """Import one VC hourly historical-forecast file."""
    raw = _read(
        path,
        {
            "city",
            "station",
            "target_datetime_local",
            "target_datetime_utc",
            "forecast_basis_date",
            "lead_hours",
            *_HOURLY_VALUES,
        },
    )
    labels = line_labels(raw.index)
    station, key, tz, ok = _stations(ctx, raw, labels)

    target, naive = parse_aware_utc(raw["target_datetime_utc"])
    bad_target = target.isna() & ok
    for idx in bad_target[bad_target].index:
        why = "has no time zone (naive)" if naive[idx] else "is missing or unparseable"
        ctx.issue(
            labels[idx],
            "target_datetime_utc",
            raw.at[idx, "target_datetime_utc"],
            f"timestamp {why}; row skipped",
        )
    ok &= target.notna()

    # The "local" column is UTC in most rows and local clock time in others; anything else
    # means the row's time is doubtful.
    local = pd.to_datetime(raw["target_datetime_local"], format="ISO8601", errors="coerce")
    if local.dt.tz is not None:
        raise ValueError("target_datetime_local carries a time zone; expected naive text")
    as_utc = target.dt.tz_localize(None)
    as_civil = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    for zone, idx in tz[ok].groupby(tz[ok]).groups.items():
        as_civil[idx] = target[idx].dt.tz_convert(zone).dt.tz_localize(None)
    is_utc = local == as_utc
    is_civil = (local == as_civil) & ~is_utc
    bad_local = ok & ~is_utc & ~is_civil
    issue_rows(
        ctx,
        bad_local,
        labels,
        "target_datetime_local",
        raw["target_datetime_local"],
        "neither equal to target_datetime_utc nor its local clock time; row skipped",
    )
    ok &= ~bad_local
    if (is_civil & ok).any():
        ctx.issue(
            SUMMARY,
            "target_datetime_local",
            f"{int((is_civil & ok).sum())} rows",
            f"local column holds local clock time in {int((is_civil & ok).sum())} rows and UTC "
            f"in {int((is_utc & ok).sum())}; target_ts taken from target_datetime_utc in all",
        )

    issued = _issued_at(ctx, raw, labels)
    ok &= issued.notna()
    values, ok_num = _numbers(ctx, raw, labels, {**_HOURLY_VALUES, "lead_hours": "lead_file"})
    ok &= ok_num
    lead = (target - issued) / pd.Timedelta(hours=1)
    differ = ok & values["lead_file"].notna() & (values["lead_file"] != lead)
    if differ.any():
        delta = (values["lead_file"] - lead)[differ].value_counts().head(3).to_dict()
        ctx.issue(
            f"{int(differ.sum())} rows: {describe_rows(labels[differ].tolist())}",
            "lead_hours",
            "",
            f"file lead_hours − (target − (basis + 12 h)) = {delta}; the recomputed lead is stored",
        )

    df = pd.DataFrame(
        {
            "station": station,
            "city": key,
            "target_ts": target,
            "issued_at": issued,
            "lead_hours": lead,
            **{c: values[c] for c in _HOURLY_VALUES.values()},
            "provider": PROVIDER,
            "source_file": ctx.source_file,
        }
    )[ok]
    labels = labels[ok]
    df = drop_duplicates(ctx, df, labels, ["station", "target_ts", "issued_at"])
    note_nulls(ctx, df, labels[df.index], list(_HOURLY_VALUES.values()))
    ctx.write(ForecastHourlyRecord, df)


def load_daily(path: Path, ctx: ImportContext) -> None:
    """Import one VC daily historical-forecast file."""
    raw = _read(
        path,
        {
            "city",
            "station",
            "target_date",
            "forecast_basis_date",
            "lead_days",
            "tempmax_f",
            "tempmin_f",
        },
    )
    labels = line_labels(raw.index)
    station, key, _, ok = _stations(ctx, raw, labels)
    target = parse_dates(raw["target_date"])
    issue_rows(
        ctx,
        target.isna() & ok,
        labels,
        "target_date",
        raw["target_date"],
        "missing or not YYYY-MM-DD; row skipped",
    )
    ok &= target.notna()
    issued = _issued_at(ctx, raw, labels)
    ok &= issued.notna()
    values, ok_num = _numbers(
        ctx, raw, labels, {"tempmax_f": "tmax_f", "tempmin_f": "tmin_f", "lead_days": "lead_file"}
    )
    ok &= ok_num
    lead = pd.Series(
        [
            (t - i.date()).days if ok_i else float("nan")
            for t, i, ok_i in zip(target, issued, ok, strict=True)
        ],
        index=raw.index,
        dtype=float,
    )
    differ = ok & values["lead_file"].notna() & (values["lead_file"] != lead)
    issue_rows(
        ctx,
        differ,
        labels,
        "lead_days",
        raw["lead_days"],
        "differs from target_date − forecast_basis_date; recomputed value stored",
    )
    df = pd.DataFrame(
        {
            "station": station,
            "city": key,
            "target_date": target,
            "issued_at": issued,
            "lead_days": lead,
            "tmax_f": values["tmax_f"],
            "tmin_f": values["tmin_f"],
            "provider": PROVIDER,
            "source_file": ctx.source_file,
        }
    )[ok]
    labels = labels[ok]
    df = drop_duplicates(ctx, df, labels, ["station", "target_date", "issued_at"])
    note_nulls(ctx, df, labels[df.index], ["tmax_f", "tmin_f"])
    ctx.write(ForecastDailyRecord, df)


register(
    Importer(
        "weather.visualcrossing_hourly",
        ("weather/forecasts/visualcrossing_hourly/*.csv.gz",),
        load_hourly,
        "Visual Crossing hourly historical forecasts (issued basis date 12:00 UTC)",
        order=45,
    )
)
register(
    Importer(
        "weather.visualcrossing_daily",
        ("weather/forecasts/visualcrossing_daily/*.csv.gz",),
        load_daily,
        "Visual Crossing daily historical forecasts (issued basis date 12:00 UTC)",
        order=45,
    )
)
