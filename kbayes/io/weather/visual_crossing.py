"""Visual Crossing Timeline API, pinned to the settlement station (weather-apis.md §2).

Requests use ``stn:<ICAO>`` with ``maxStations=1`` so records are not blended with other
stations, ``unitGroup=us`` (°F), and read instants from ``datetimeEpoch`` (UTC). Sub-hourly
data comes the two documented ways: ``include=days,hours,minutes`` (minutes nested in each
hour; ``nested``) or ``include=minutes`` alone (``minutes_only``), both with
``options=minuteinterval_<n>``. Records with ``source == "obs"`` become
:class:`WeatherObsRecord`; forecast hours (``fcst``) become :class:`ForecastHourlyRecord`.
The API key comes from ``VISUAL_CROSSING_API_KEY`` (or ``VC_API_KEY``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import httpx

from kbayes.io.weather.http import WeatherAPIError, get
from kbayes.market.records import ForecastHourlyRecord, WeatherObsRecord

BASE_URL = "https://weather.visualcrossing.com/VisualCrossingWebServices/rest/services/timeline"
ENV_KEYS = ("VISUAL_CROSSING_API_KEY", "VC_API_KEY")
SUB_HOURLY = {"nested": "days,hours,minutes,obs,fcst", "minutes_only": "minutes"}


def _f_to_c(f: float) -> float:
    return round((f - 32) * 5 / 9, 4)


def _utc(epoch: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)


class VisualCrossingClient:
    """Timeline requests for one API key.

    Args:
        key: API key (default from the environment).
        transport: httpx transport (``MockTransport`` in tests).
        sleep: Sleep used between retries.
    """

    def __init__(
        self,
        key: str | None = None,
        *,
        base_url: str = BASE_URL,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        key = key or next((os.environ[k] for k in ENV_KEYS if os.environ.get(k)), None)
        if not key:
            raise WeatherAPIError(
                "visual_crossing", base_url, None, f"no API key: set {ENV_KEYS[0]}"
            )
        self.key = key
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(transport=transport, timeout=30.0)
        self._sleep = sleep
        self.query_cost = 0  # records billed so far (``queryCost``)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def timeline(
        self,
        station: str,
        start: dt.date | str,
        end: dt.date | str | None = None,
        *,
        sub_hourly: str | None = "nested",
        interval_min: int = 5,
    ) -> dict[str, Any]:
        """The Timeline body for ``stn:<station>`` over ``[start, end]`` (local dates, inclusive).

        Args:
            station: ICAO id (``KNYC``).
            start: First date (or a dynamic period such as ``today``).
            end: Last date (inclusive).
            sub_hourly: ``"nested"``, ``"minutes_only"`` or ``None`` (hours only).
            interval_min: Sub-hourly step (5 or 15).
        """
        path = f"{self.base_url}/stn:{station}/{start}" + (f"/{end}" if end else "")
        options = "nonulls"
        if sub_hourly:
            options += f",minuteinterval_{interval_min}"
        params = {
            "key": self.key,
            "unitGroup": "us",
            "contentType": "json",
            "include": SUB_HOURLY[sub_hourly] if sub_hourly else "days,hours,obs,fcst",
            "options": options,
            "elements": "datetime,datetimeEpoch,temp,tempmax,dew,humidity,precip,precipprob,"
            "windspeed,cloudcover,source,stations",
            "maxStations": 1,
            "maxDistance": 1609,
        }
        kw = {"sleep": self._sleep} if self._sleep else {}
        resp = get(self._http, "visual_crossing", path, params, **kw)
        try:
            body = resp.json()
        except ValueError as exc:  # VC errors are often plain text with a 200 from proxies
            raise WeatherAPIError("visual_crossing", path, resp.status_code, resp.text) from exc
        self.query_cost += int(body.get("queryCost") or 0)
        return body


def parse_timeline(
    body: dict[str, Any],
    station: str,
    city: str,
    issued_at: dt.datetime,
    source_file: str = "visual_crossing_api",
) -> tuple[list[WeatherObsRecord], list[ForecastHourlyRecord]]:
    """Observations (minutes when present, else hours) and hourly forecasts of a Timeline body."""
    obs: list[WeatherObsRecord] = []
    fcst: list[ForecastHourlyRecord] = []
    for day in body.get("days") or []:
        for hour in day.get("hours") or []:
            minutes = hour.get("minutes") or []
            for rec, kind in [(m, "vc_obs_minute") for m in minutes] or [(hour, "vc_obs_hour")]:
                if rec.get("source") == "obs" and rec.get("temp") is not None:
                    obs.append(
                        WeatherObsRecord(
                            station, _utc(rec["datetimeEpoch"]), _f_to_c(float(rec["temp"])),
                            "vc_f", None if rec.get("dew") is None else _f_to_c(float(rec["dew"])),
                            kind, "visual_crossing", source_file,
                        )
                    )  # fmt: skip
            if hour.get("source") in ("fcst", "statsfcst", "stats"):
                target = _utc(hour["datetimeEpoch"])
                fcst.append(
                    ForecastHourlyRecord(
                        station, city, target, issued_at,
                        (target - issued_at).total_seconds() / 3600,
                        *(None if hour.get(k) is None else float(hour[k])
                          for k in ("temp", "dew", "humidity", "precip", "precipprob",
                                    "windspeed", "cloudcover")),
                        provider="visual_crossing", source_file=source_file,
                    )
                )  # fmt: skip
    return obs, fcst
