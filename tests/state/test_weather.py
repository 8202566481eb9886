"""Running high over the climate-day window, missing steps and the forecast guard."""

from __future__ import annotations

import math

import pytest

from kbayes.clock import Clock, LookAheadError
from kbayes.market.events import ForecastIssued, WeatherObs
from kbayes.state import WeatherState

M = 60 * 1_000_000_000


def _obs(t_min: int, temp_c: float) -> WeatherObs:
    return WeatherObs(t_min * M + 3 * M, t_min * M, "KNYC", temp_c, "tenths_c", "METAR", "x")


def test_running_high_counts_only_reports_inside_the_window() -> None:
    w = WeatherState("KNYC", 60 * M, 24 * 60 * M, max_gap_s=90 * 60)
    w.apply(_obs(0, 40.0))  # before the window: the latest report, not the high
    assert math.isnan(w.high_f) and w.last is not None
    w.apply(_obs(60, 20.0))
    w.apply(_obs(120, 25.0))
    w.apply(_obs(180, 22.0))
    assert w.high_f == pytest.approx(77.0) and w.high_ns == 120 * M and w.n_obs == 3
    w.apply(_obs(24 * 60, 30.0))  # the end is exclusive
    assert w.high_f == pytest.approx(77.0)
    assert w.missing_step  # 21 h without a report
    w.apply(_obs(24 * 60 + 30, 10.0))
    assert not w.missing_step and not w.check_gap(24 * 60 * M + 60 * M)
    assert w.check_gap(24 * 60 * M + 121 * M)


def test_bad_reports_are_errors() -> None:
    w = WeatherState("KNYC", 0, M)
    with pytest.raises(ValueError, match="temp_c=nan"):
        w.apply(_obs(0, float("nan")))
    with pytest.raises(ValueError, match="station 'KMIA'"):
        w.apply(_obs(0, 1.0)._replace(station="KMIA"))
    with pytest.raises(ValueError, match="end_ns"):
        WeatherState("KNYC", M, M)


def test_a_forecast_not_yet_available_is_look_ahead() -> None:
    w = WeatherState("KNYC", 0, 24 * 60 * M)
    fc = ForecastIssued(10 * M, 5 * M, "KNYC", "vc", (60 * M,), (70.0,))
    w.apply(fc)
    clock = Clock()
    clock.advance(10 * M)
    assert w.forecast_path(clock) == ((60 * M,), (70.0,))
    early = Clock()
    early.advance(9 * M)  # a state updated ahead of its clock
    with pytest.raises(LookAheadError, match="vc forecast"):
        w.forecast_path(early)
