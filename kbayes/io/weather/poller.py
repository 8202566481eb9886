"""Every 5 minutes: new observations and forecasts as typed events, with the running high.

Each source is a function ``(start, end) -> (observations, hourly forecasts)`` (wrap any of
the clients of this package). A poll asks every source for the current climate day so far,
drops what was already emitted (de-duplicated on source, station and time; forecasts on
provider, target and issue time) and emits, in time order:

* :class:`ObsEvent`: a new observation with the running maximum (°F) of the climate day
  (midnight to midnight local *standard* time, the CLI's day) over all sources so far;
* :class:`ForecastEvent`: a new hourly forecast;
* :class:`GapEvent`: consecutive observations of a source further apart than
  ``max_gap``, or a source silent for longer than that at poll time (reported once), or a
  source that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

from kbayes.market.cities import City
from kbayes.market.fahrenheit import c_to_f
from kbayes.market.records import ForecastHourlyRecord, WeatherObsRecord

Source = Callable[
    [dt.datetime, dt.datetime], tuple[Sequence[WeatherObsRecord], Sequence[ForecastHourlyRecord]]
]


@dataclasses.dataclass(frozen=True, slots=True)
class ObsEvent:
    """A new observation and the climate day's running high (°F) including it."""

    source: str
    record: WeatherObsRecord
    climate_date: dt.date
    running_high_f: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class ForecastEvent:
    """A new hourly forecast."""

    source: str
    record: ForecastHourlyRecord


@dataclasses.dataclass(frozen=True, slots=True)
class GapEvent:
    """Missing data: no observation of ``source`` in ``(start, end)``, or a failed poll."""

    source: str
    start: dt.datetime
    end: dt.datetime
    reason: str


Event = ObsEvent | ForecastEvent | GapEvent


class WeatherPoller:
    """Polls sources for one city and emits de-duplicated events.

    Args:
        city: The settlement city (its LST climate day and station).
        sources: ``{name: fetch(start, end)}``.
        interval: Time between polls of :meth:`run`.
        max_gap: Longest tolerated spacing of one source's observations.
    """

    def __init__(
        self,
        city: City,
        sources: dict[str, Source],
        *,
        interval: dt.timedelta = dt.timedelta(minutes=5),
        max_gap: dt.timedelta = dt.timedelta(minutes=20),
    ) -> None:
        self.city = city
        self.sources = sources
        self.interval = interval
        self.max_gap = max_gap
        self.climate_date: dt.date | None = None
        self.running_high_f: float | None = None
        self._seen_obs: set[tuple[str, str, dt.datetime]] = set()
        self._seen_fcst: set[tuple[str, dt.datetime, dt.datetime]] = set()
        self._last_obs: dict[str, dt.datetime] = {}
        self._gap_reported: dict[str, dt.datetime] = {}

    def poll(self, now: dt.datetime) -> list[Event]:
        """One poll at ``now`` (aware UTC)."""
        day = self.city.climate_day_of(now)
        start, _ = self.city.climate_day_window(day)
        if day != self.climate_date:  # a new climate day: the high starts over
            self.climate_date, self.running_high_f = day, None
            self._last_obs = {k: max(v, start) for k, v in self._last_obs.items()}
        events: list[Event] = []
        new_obs: list[tuple[str, WeatherObsRecord]] = []
        for name, fetch in self.sources.items():
            try:
                obs, fcst = fetch(start, now)
            except Exception as exc:  # one failing feed must not stop the others
                events.append(
                    GapEvent(name, self._last_obs.get(name, start), now, f"poll failed: {exc}")
                )
                continue
            for r in fcst:
                key = (r.provider, r.target_ts, r.issued_at)
                if key not in self._seen_fcst:
                    self._seen_fcst.add(key)
                    events.append(ForecastEvent(name, r))
            for r in sorted(obs, key=lambda r: r.ts):
                key = (name, r.station, r.ts)
                if key in self._seen_obs or not start <= r.ts <= now:
                    continue
                self._seen_obs.add(key)
                new_obs.append((name, r))
        for name, r in sorted(new_obs, key=lambda x: x[1].ts):
            last = self._last_obs.get(name)
            if (
                last is not None
                and r.ts - last > self.max_gap
                and self._gap_reported.get(name) != last
            ):
                events.append(GapEvent(name, last, r.ts, "observations missing"))
            if last is None or r.ts > last:
                self._last_obs[name] = r.ts
            if r.temp_c is not None:
                f = c_to_f(r.temp_c)
                self.running_high_f = (
                    f if self.running_high_f is None else max(self.running_high_f, f)
                )
            events.append(ObsEvent(name, r, day, self.running_high_f))
        for name in self.sources:
            last = self._last_obs.get(name, start)
            if now - last > self.max_gap and self._gap_reported.get(name) != last:
                self._gap_reported[name] = last
                events.append(GapEvent(name, last, now, "no new observation"))
        return events

    async def run(
        self,
        sink: Callable[[Event], None],
        stop: asyncio.Event,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """Poll every :attr:`interval` until ``stop`` is set (blocking fetches run in a thread)."""
        while not stop.is_set():
            for event in await asyncio.to_thread(self.poll, clock()):
                sink(event)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval.total_seconds())
