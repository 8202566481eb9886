"""Iowa Environmental Mesonet ASOS/METAR CSV (weather-apis.md §4).

``valid`` is read in UTC (``tz=Etc/UTC``); missing values are ``M``. The METAR ``T`` group is
preferred over ``tmpf`` (which IEM derives from it when present anyway). ``report_type`` 3
(routine) and 4 (specials) are requested explicitly: without one the result can be empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import httpx

from kbayes.io.weather.http import get
from kbayes.io.weather.metar import t_group
from kbayes.market.records import WeatherObsRecord

BASE_URL = "https://mesonet.agron.iastate.edu/cgi-bin/request/asos.py"


class IEMClient:
    """ASOS observations from IEM."""

    def __init__(
        self,
        *,
        base_url: str = BASE_URL,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self._http = httpx.Client(transport=transport, timeout=60.0)
        self._sleep = sleep

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def asos(
        self,
        station: str,
        start: dt.datetime,
        end: dt.datetime,
        report_types: tuple[int, ...] = (3, 4),
    ) -> list[WeatherObsRecord]:
        """Observations of an IEM station (``NYC``; a leading ``K`` is dropped) in a window."""
        sid = station[1:] if len(station) == 4 and station.startswith("K") else station
        params: list[tuple[str, object]] = [
            ("station", sid), ("data", "tmpf"), ("data", "dwpf"), ("data", "metar"),
            ("sts", start.strftime("%Y-%m-%dT%H:%MZ")), ("ets", end.strftime("%Y-%m-%dT%H:%MZ")),
            ("tz", "Etc/UTC"), ("format", "onlycomma"), ("latlon", "no"), ("elev", "no"),
            ("missing", "M"), ("trace", "T"), ("direct", "no"),
            *(("report_type", r) for r in report_types),
        ]  # fmt: skip
        kw = {"sleep": self._sleep} if self._sleep else {}
        return parse_asos_csv(get(self._http, "iem", self.base_url, params, **kw).text, station)


def _num(v: str | None) -> float | None:
    return None if v in (None, "", "M", "null") else float(v)  # type: ignore[arg-type]


def parse_asos_csv(text: str, station: str) -> list[WeatherObsRecord]:
    """Records of an ``onlycomma`` CSV (``station,valid,tmpf[,dwpf],metar``)."""
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        ts = dt.datetime.strptime(row["valid"], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
        tg = t_group(row.get("metar"))
        if tg is not None:
            temp, dew, kind = tg[0], tg[1], "tenths"
        else:
            f, d = _num(row.get("tmpf")), _num(row.get("dwpf"))
            temp = None if f is None else round((f - 32) * 5 / 9, 4)
            dew = None if d is None else round((d - 32) * 5 / 9, 4)
            kind = None if temp is None else "whole"
        out.append(WeatherObsRecord(station, ts, temp, kind, dew, "metar", "iem_asos", "iem_api"))
    return out
