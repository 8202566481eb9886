"""api.weather.gov station observations (weather-apis.md §3).

A ``User-Agent`` is required. Temperatures are °C ``QuantitativeValue``s (``wmoUnit:degC`` or
the older ``unit:degC``); ``value: null`` is "not measured", never 0. The hourly METAR's
``T``-group (0.1 °C) is preferred over the whole-degree ``temperature.value``. Quality flags
other than V (verified), C (corrected) or absent are dropped and counted in ``rejected``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from kbayes.io.kalshi_wire import parse_utc
from kbayes.io.weather.http import get
from kbayes.io.weather.metar import t_group
from kbayes.market.records import WeatherObsRecord

BASE_URL = "https://api.weather.gov"
GOOD_QC = frozenset({"V", "C", None})


def _celsius(q: Any) -> tuple[float | None, str | None]:
    """(°C value, qc flag) of a QuantitativeValue; ``None`` when missing."""
    if not isinstance(q, dict) or q.get("value") is None:
        return None, None
    unit = str(q.get("unitCode", "")).split(":")[-1]
    value = float(q["value"])
    if unit == "degF":
        value = (value - 32) * 5 / 9
    elif unit != "degC":
        raise ValueError(f"temperature unit {q.get('unitCode')!r}")
    qc = q.get("qualityControl")
    return value, None if qc is None else str(qc).split(":")[-1]


class NWSClient:
    """Observations of one or more stations from api.weather.gov."""

    def __init__(
        self,
        user_agent: str,
        *,
        base_url: str = BASE_URL,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``user_agent`` like ``"(kbayes, you@example.com)"`` is mandatory for this API."""
        if not user_agent:
            raise ValueError("api.weather.gov requires a User-Agent")
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": user_agent, "Accept": "application/geo+json"}
        self._http = httpx.Client(transport=transport, timeout=30.0)
        self._sleep = sleep
        self.rejected = 0

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def observations(
        self, station: str, start: dt.datetime, end: dt.datetime, limit: int = 500
    ) -> list[WeatherObsRecord]:
        """Observations of ``station`` in ``[start, end]`` (UTC)."""
        url = f"{self.base_url}/stations/{station}/observations"
        params = {"start": start.isoformat().replace("+00:00", "Z"),
                  "end": end.isoformat().replace("+00:00", "Z"), "limit": limit}  # fmt: skip
        kw = {"sleep": self._sleep} if self._sleep else {}
        body = get(self._http, "nws", url, params, self.headers, **kw).json()
        return self.parse(body, station)

    def parse(self, body: dict[str, Any], station: str) -> list[WeatherObsRecord]:
        """Records of a GeoJSON FeatureCollection of observations."""
        out = []
        for feature in body.get("features") or []:
            p = feature.get("properties") or {}
            raw = p.get("rawMessage") or ""
            temp, qc = _celsius(p.get("temperature"))
            dew, _ = _celsius(p.get("dewpoint"))
            if qc not in GOOD_QC:
                self.rejected += 1
                continue
            tg = t_group(raw)
            if tg is not None:
                temp, dew, kind = tg[0], tg[1], "tenths"
            else:
                kind = None if temp is None else "whole"
            out.append(
                WeatherObsRecord(
                    str(p.get("stationId") or station), parse_utc(p["timestamp"], "timestamp"),
                    temp, kind, dew, "metar" if raw else "5min", "nws_api", "nws_api",
                )
            )  # fmt: skip
        return sorted(out, key=lambda r: r.ts)
