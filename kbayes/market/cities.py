"""Settlement cities: series, NWS climate station and local standard time.

The NWS climate day (and so the CLI maximum that settles a KXHIGH* event) runs midnight to
midnight **local standard time** all year, i.e. 01:00-01:00 clock time during daylight saving.
Everything here is computed from the fixed standard-time offset, never from a DST-aware zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    """One settlement site.

    Attributes:
        key: short city key used across kbayes (``"NY"``, ``"CHI"`` ...).
        series: current Kalshi series ticker (``"KXHIGHNY"``).
        legacy_series: pre-August-2024 series prefix (``"HIGHNY"``) or ``None``.
        station: ICAO id of the NWS climate station (``"KNYC"``).
        cli_product: NWS CLI product id (``"CLINYC"``).
        ghcnd_id: GHCN-Daily station id.
        lst_offset_hours: local standard time minus UTC, in hours (``-5`` for New York).
        tz_name: IANA zone of the civil clock (for display only).
        aliases: other names the data sources use for the city.
    """

    key: str
    series: str
    legacy_series: str | None
    station: str
    cli_product: str
    ghcnd_id: str
    lst_offset_hours: int
    tz_name: str
    aliases: tuple[str, ...]

    @property
    def lst(self) -> dt.timezone:
        """The fixed-offset local-standard-time zone."""
        return dt.timezone(dt.timedelta(hours=self.lst_offset_hours), name=f"{self.key}-LST")

    def climate_day_window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """UTC ``[start, end)`` of the climate day ``day`` (midnight to midnight LST)."""
        start = dt.datetime.combine(day, dt.time(0), tzinfo=self.lst).astimezone(dt.UTC)
        return start, start + dt.timedelta(days=1)

    def climate_day_of(self, ts: dt.datetime) -> dt.date:
        """The climate day (LST calendar date) that contains the aware instant ``ts``."""
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError(f"timestamp {ts!r} has no time zone; kbayes needs aware UTC times")
        return ts.astimezone(self.lst).date()

    def lst_time(
        self, day: dt.date, hour: int, minute: int = 0, day_offset: int = 0
    ) -> dt.datetime:
        """The UTC instant of clock time ``hour:minute`` LST on ``day + day_offset``."""
        local = dt.datetime.combine(
            day + dt.timedelta(days=day_offset), dt.time(hour, minute), tzinfo=self.lst
        )
        return local.astimezone(dt.UTC)


CITIES: dict[str, City] = {
    c.key: c
    for c in (
        City(
            "NY",
            "KXHIGHNY",
            "HIGHNY",
            "KNYC",
            "CLINYC",
            "USW00094728",
            -5,
            "America/New_York",
            ("nyc", "new york", "new_york", "ny"),
        ),
        City(
            "CHI",
            "KXHIGHCHI",
            "HIGHCHI",
            "KMDW",
            "CLIMDW",
            "USW00014819",
            -6,
            "America/Chicago",
            ("chicago", "chi"),
        ),
        City(
            "MIA",
            "KXHIGHMIA",
            "HIGHMIA",
            "KMIA",
            "CLIMIA",
            "USW00012839",
            -5,
            "America/New_York",
            ("miami", "mia"),
        ),
        City(
            "AUS",
            "KXHIGHAUS",
            "HIGHAUS",
            "KAUS",
            "CLIAUS",
            "USW00013904",
            -6,
            "America/Chicago",
            ("austin", "aus"),
        ),
        City(
            "DEN",
            "KXHIGHDEN",
            None,
            "KDEN",
            "CLIDEN",
            "USW00003017",
            -7,
            "America/Denver",
            ("denver", "den"),
        ),
        City(
            "LAX",
            "KXHIGHLAX",
            None,
            "KLAX",
            "CLILAX",
            "USW00023174",
            -8,
            "America/Los_Angeles",
            ("los angeles", "los_angeles", "la", "lax"),
        ),
        City(
            "PHIL",
            "KXHIGHPHIL",
            None,
            "KPHL",
            "CLIPHL",
            "USW00013739",
            -5,
            "America/New_York",
            ("philadelphia", "phil", "phl"),
        ),
    )
}

_BY_ANY: dict[str, City] = {}
for _c in CITIES.values():
    for _name in (_c.key, _c.series, _c.station, _c.cli_product, _c.ghcnd_id, *_c.aliases):
        _BY_ANY[_name.lower()] = _c
    if _c.legacy_series:
        _BY_ANY[_c.legacy_series.lower()] = _c


class UnknownCityError(KeyError):
    """A city, series or station name that is not in the city table."""


def city_of(name: str) -> City:
    """Look up a city by key, series, legacy series, station, CLI product, GHCN id or alias."""
    city = _BY_ANY.get(str(name).strip().lower())
    if city is None:
        raise UnknownCityError(
            f"unknown city/series/station {name!r}; known keys: {sorted(CITIES)}"
        )
    return city


def city_of_ticker(ticker: str) -> City:
    """The city of a series, event or market ticker (``KXHIGHNY-24NOV10-T55``, ``HIGHNY-...``)."""
    return city_of(ticker.split("-", 1)[0])
