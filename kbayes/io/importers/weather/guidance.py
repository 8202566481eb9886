"""Model guidance and logged NWS point forecasts → ``forecast_daily`` (+ ``official_highs``).

* ``weather/forecasts/noaa_guidance/*.csv``: per target day the maximum 2-m temperature over the
  producer's (undocumented) "peak window" from the 12 UTC HRRR/NBM run of the previous day.
  ``provider`` = the ``model`` column (``"hrrr"``, ``"nbm"``), ``issued_at`` =
  ``run_datetime_utc`` (must carry a zone), ``tmax_f`` = ``peak_window_max_f``, ``tmin_f`` NULL.
  The ``timezone`` column must be the city's civil zone.
* ``weather/forecasts/nws_point_forecast_log/*.json(.gz)``: snapshots
  ``{"timestamp", "cities": {"<City>": {"<date>": °F, ...}}}`` of NWS gridpoint daily highs
  (``provider = "nws_gridpoint"``, ``issued_at`` = the snapshot timestamp), and ``actuals``
  ``{"<City>_<date>": °F}`` → ``official_highs`` with ``source = "nws_log_actual"``. A city entry
  ``{"error": "..."}`` is a failed fetch: reported, nothing stored. Cities outside the city
  table (Phoenix, Boston ...) have no station or LST offset here, so their values are skipped
  with one issue per city, not stored.

``lead_days`` everywhere = ``target_date −`` the LST date of ``issued_at`` at the city, so a
snapshot taken at 03:37 UTC (22:37 EST the day before) forecasting "today" has lead 0.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from kbayes.io.importers import register
from kbayes.io.importers.base import ImportContext, Importer
from kbayes.io.importers.weather._common import (
    drop_duplicates,
    find_city,
    line_labels,
    parse_aware_utc,
    parse_aware_utc_one,
    parse_dates,
)
from kbayes.market.cities import City
from kbayes.market.records import ForecastDailyRecord, OfficialHighRecord

NWS_PROVIDER = "nws_gridpoint"
NWS_ACTUAL_SOURCE = "nws_log_actual"
_DAILY_COLS = (
    "station",
    "city",
    "target_date",
    "issued_at",
    "lead_days",
    "tmax_f",
    "tmin_f",
    "provider",
    "source_file",
)


def load_noaa_guidance(path: Path, ctx: ImportContext) -> None:
    """Import the HRRR/NBM peak-window maximum CSV."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    need = {"city", "station", "target_date", "model", "run_datetime_utc", "peak_window_max_f"}
    if missing := need - set(raw.columns):
        raise ValueError(f"missing columns {sorted(missing)} (have {list(raw.columns)})")
    labels = line_labels(raw.index)
    rows: list[dict[str, Any]] = []
    run, naive = parse_aware_utc(raw["run_datetime_utc"])
    target = parse_dates(raw["target_date"])
    tmax = pd.to_numeric(raw["peak_window_max_f"], errors="coerce")
    zones = raw["timezone"] if "timezone" in raw.columns else pd.Series(None, index=raw.index)
    cities: dict[tuple[str, str], City | None] = {}
    for idx, st, name, zone, model in zip(
        raw.index, raw["station"], raw["city"], zones, raw["model"], strict=True
    ):
        label = labels[idx]
        if (st, name) not in cities:
            found = find_city(st)
            cities[(st, name)] = found if find_city(name) in (None, found) else None
        city = cities[(st, name)]
        if city is None:
            ctx.issue(label, "station", st, "unknown or inconsistent with city; skipped")
            continue
        if isinstance(zone, str) and zone != city.tz_name:
            ctx.issue(label, "timezone", zone, f"{city.station} is in {city.tz_name}; skipped")
            continue
        if pd.isna(run[idx]):
            why = "has no time zone (naive)" if naive[idx] else "is missing or unparseable"
            ctx.issue(
                label,
                "run_datetime_utc",
                raw.at[idx, "run_datetime_utc"],
                f"timestamp {why}; skipped",
            )
            continue
        if target[idx] is None:
            ctx.issue(label, "target_date", raw.at[idx, "target_date"], "not YYYY-MM-DD; skipped")
            continue
        model = str(model).strip().lower() if isinstance(model, str) else ""
        if not model:
            ctx.issue(label, "model", "", "missing model; skipped")
            continue
        if pd.isna(tmax[idx]):
            ctx.issue(
                label,
                "peak_window_max_f",
                raw.at[idx, "peak_window_max_f"],
                "missing or not a number; skipped",
            )
            continue
        issued = run[idx].to_pydatetime()
        rows.append(
            {
                "station": city.station,
                "city": city.key,
                "target_date": target[idx],
                "issued_at": issued,
                "lead_days": float((target[idx] - city.climate_day_of(issued)).days),
                "tmax_f": float(tmax[idx]),
                "tmin_f": None,
                "provider": model,
                "source_file": ctx.source_file,
                "_label": label,
            }
        )
    df = pd.DataFrame(rows, columns=[*_DAILY_COLS, "_label"])
    df = drop_duplicates(ctx, df, df["_label"], ["station", "provider", "target_date", "issued_at"])
    ctx.write(ForecastDailyRecord, df.drop(columns="_label"))


_ACTUAL_KEY = re.compile(r"^(?P<city>.+)_(?P<date>\d{4}-\d{2}-\d{2})$")


def _whole(value: object) -> int | None:
    """An integer °F (``42``, ``42.0``); ``None`` for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def load_nws_point_log(path: Path, ctx: ImportContext) -> None:
    """Import the NWS gridpoint daily-high snapshot log (forecasts and actuals)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or not isinstance(data.get("forecasts"), list):
        raise ValueError("expected a JSON object with a 'forecasts' list")
    unknown: Counter[str] = Counter()
    forecasts: list[dict[str, Any]] = []
    for i, snap in enumerate(data["forecasts"]):
        rec = f"forecasts[{i}]"
        if not isinstance(snap, dict):
            ctx.issue(rec, "", type(snap).__name__, "snapshot is not an object; skipped")
            continue
        ts_text = snap.get("timestamp")
        issued, naive = parse_aware_utc_one(ts_text)
        if issued is None:
            why = "has no time zone (naive)" if naive else "is missing or unparseable"
            ctx.issue(rec, "timestamp", ts_text, f"snapshot time {why}; snapshot skipped")
            continue
        cities = snap.get("cities")
        if not isinstance(cities, dict):
            ctx.issue(rec, "cities", type(cities).__name__, "not an object; snapshot skipped")
            continue
        for name, days in cities.items():
            city = find_city(name)
            if city is None:
                unknown[name] += len(days) if isinstance(days, dict) else 1
                continue
            crec = f"{rec} {ts_text} {name}"
            if not isinstance(days, dict):
                ctx.issue(crec, "cities", type(days).__name__, "not an object; skipped")
                continue
            for day_text, value in days.items():
                if day_text == "error":
                    ctx.issue(crec, "error", value, "fetch failed in the source log; no values")
                    continue
                target, tmax = _date(day_text), _whole(value)
                if target is None or tmax is None:
                    field = "date" if target is None else day_text
                    ctx.issue(crec, field, value, "not '<YYYY-MM-DD>': whole °F; skipped")
                    continue
                forecasts.append(
                    {
                        "station": city.station,
                        "city": city.key,
                        "target_date": target,
                        "issued_at": issued,
                        "lead_days": float((target - city.climate_day_of(issued)).days),
                        "tmax_f": float(tmax),
                        "tmin_f": None,
                        "provider": NWS_PROVIDER,
                        "source_file": ctx.source_file,
                        "_label": f"{crec} {day_text}",
                    }
                )
    actuals: list[dict[str, Any]] = []
    raw_actuals = data.get("actuals", {})
    if not isinstance(raw_actuals, dict):
        ctx.issue("actuals", "", type(raw_actuals).__name__, "not an object; no actuals")
        raw_actuals = {}
    for key, value in raw_actuals.items():
        m = _ACTUAL_KEY.match(key)
        if m is None or _date(m["date"]) is None:
            ctx.issue(f"actuals[{key!r}]", "key", key, "not '<City>_<YYYY-MM-DD>'; skipped")
            continue
        city = find_city(m["city"])
        if city is None:
            unknown[m["city"]] += 1
            continue
        tmax = _whole(value)
        if tmax is None:
            ctx.issue(f"actuals[{key!r}]", "value", value, "not a whole °F; skipped")
            continue
        actuals.append(
            {
                "station": city.station,
                "city": city.key,
                "date": _date(m["date"]),
                "tmax_f": tmax,
                "source": NWS_ACTUAL_SOURCE,
                "source_file": ctx.source_file,
                "_label": f"actuals[{key!r}]",
            }
        )
    for name, n in sorted(unknown.items()):
        ctx.issue(name, "city", name, f"not in the city table (no station/LST); {n} values skipped")

    fc = pd.DataFrame(forecasts, columns=[*_DAILY_COLS, "_label"])
    fc = drop_duplicates(ctx, fc, fc["_label"], ["station", "target_date", "issued_at"])
    ctx.write(ForecastDailyRecord, fc.drop(columns="_label"))
    act = pd.DataFrame(
        actuals, columns=["station", "city", "date", "tmax_f", "source", "source_file", "_label"]
    )
    act = drop_duplicates(ctx, act, act["_label"], ["station", "date"])
    ctx.write(OfficialHighRecord, act.drop(columns="_label"))


register(
    Importer(
        "weather.noaa_guidance",
        ("weather/forecasts/noaa_guidance/*.csv",),
        load_noaa_guidance,
        "HRRR/NBM 12 UTC peak-window maximum per target day",
        order=45,
    )
)
register(
    Importer(
        "weather.nws_point_log",
        (
            "weather/forecasts/nws_point_forecast_log/*.json.gz",
            "weather/forecasts/nws_point_forecast_log/*.json",
        ),
        load_nws_point_log,
        "NWS gridpoint daily-high snapshots (forecasts) and logged actuals",
        order=45,
    )
)
