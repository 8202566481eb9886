"""Weather state of one station: latest report, running high of the climate day, forecast.

Updated by :class:`~kbayes.market.events.WeatherObs` and
:class:`~kbayes.market.events.ForecastIssued` events in clock order. The climate day is the
local-standard-time day of the settlement (the NWS Daily Climate Report), given as its UTC
window ``[start_ns, end_ns)``; the running high is the maximum of the reports observed in
that window so far, in °F (unrounded: the settlement rounds the official high, which the
nowcast models). A gap longer than ``max_gap_s`` between consecutive reports sets
:attr:`WeatherState.missing_step` until the next report, so a stale running high is visible.
"""

from __future__ import annotations

import math

from kbayes.clock.guard import Clock
from kbayes.market.events import ForecastIssued, WeatherObs
from kbayes.market.fahrenheit import c_to_f


class WeatherState:
    """What is known about one station's weather now.

    Attributes:
        station: ICAO id.
        start_ns, end_ns: the climate day's UTC window.
        last: the latest report (any source), ``None`` before the first.
        high_f: running high of the climate day (°F), ``nan`` before the first report in it.
        high_ns: observation time of that high.
        n_obs: reports in the window.
        forecast: the latest forecast issue, ``None`` before the first.
        missing_step: the gap before the latest report exceeded ``max_gap_s`` (or, via
            :meth:`check_gap`, the time since it does).
    """

    def __init__(self, station: str, start_ns: int, end_ns: int, max_gap_s: float = 5400.0):
        if end_ns <= start_ns:
            raise ValueError(f"climate day window end_ns={end_ns} must be after {start_ns}")
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s={max_gap_s} must be positive")
        self.station = station
        self.start_ns, self.end_ns = start_ns, end_ns
        self.max_gap_ns = round(max_gap_s * 1e9)
        self.last: WeatherObs | None = None
        self.high_f = math.nan
        self.high_ns = -1
        self.n_obs = 0
        self.forecast: ForecastIssued | None = None
        self.missing_step = False

    def apply(self, ev: WeatherObs | ForecastIssued) -> None:
        """Apply one weather event of this station."""
        if ev.station != self.station:
            raise ValueError(f"event for station {ev.station!r} given to {self.station!r}")
        if type(ev) is ForecastIssued:
            self.forecast = ev
            return
        if type(ev) is not WeatherObs:
            raise TypeError(f"WeatherState does not take {type(ev).__name__} events")
        if not math.isfinite(ev.temp_c):
            raise ValueError(f"{ev.station} report at {ev.ts.isoformat()}: temp_c={ev.temp_c}")
        prev = self.last
        self.missing_step = prev is not None and ev.ts_ns - prev.ts_ns > self.max_gap_ns
        if prev is None or ev.ts_ns >= prev.ts_ns:  # a late duplicate does not move "last"
            self.last = ev
        if self.start_ns <= ev.ts_ns < self.end_ns:
            self.n_obs += 1
            f = c_to_f(ev.temp_c)
            if not f <= self.high_f:  # also true when high_f is nan
                self.high_f, self.high_ns = f, ev.ts_ns

    def check_gap(self, now_ns: int) -> bool:
        """Whether the latest report is older than ``max_gap_s`` at ``now_ns`` (sets the flag)."""
        if self.last is not None and now_ns - self.last.ts_ns > self.max_gap_ns:
            self.missing_step = True
        return self.missing_step

    def forecast_path(self, clock: Clock) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """The latest forecast's ``(target_ns, temp_f)``; its issue must be known to ``clock``.

        Raises:
            LookAheadError: when the forecast was not yet available at the clock (a state
                updated out of clock order).
        """
        fc = self.forecast
        if fc is None:
            return (), ()
        clock.check(fc.available_ns, f"{fc.provider} forecast issued {fc.ts.isoformat()}")
        return fc.target_ns, fc.temp_f
