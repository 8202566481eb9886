"""Forecast Normal: the latest forecast issued before ``t``; its scale from training events."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from models.baselines import ForecastNormalParams, fit_sigma, forecast_normal_pmfs, normal_pmf
from tests.models.baselines.helpers import EIGHT, event

PARAMS = ForecastNormalParams(provider="fx", default_sigma=2.0)


def _forecasts(rows: list[tuple[dt.date, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [("KNYC", d, pd.Timestamp(issued), v) for d, issued, v in rows],
        columns=["station", "target_date", "issued_at", "tmax_f"],
    ).sort_values("issued_at")


def test_latest_forecast_issued_before_t() -> None:
    day = dt.date(2024, 1, 10)
    e = event(day, 1)
    fc = _forecasts(
        [
            (day, "2024-01-09T12:00Z", 41.0),
            (day, "2024-01-10T13:00Z", 30.0),  # issued at t (08:00 EST): not known at t
            (day, "2024-01-10T14:00Z", 30.0),
        ]
    )
    res = forecast_normal_pmfs([e], [EIGHT], fc, PARAMS)
    assert res.sigmas == {"08:00": 2.0}  # one training event: the default scale
    np.testing.assert_array_equal(
        res.pmfs.pmfs[(e.event_ticker, "08:00")], normal_pmf(e.ladder, 41.0, 2.0)
    )


def _many(
    rng: np.random.Generator, n: int, split: str, start: dt.date
) -> tuple[list, pd.DataFrame]:
    """``n`` days with highs ~ Normal(forecast, 3) rounded, ladders around the forecast."""
    events, rows = [], []
    for i in range(n):
        day = start + dt.timedelta(days=i)
        mu = float(rng.integers(30, 60))
        high = int(np.floor(rng.normal(mu, 3.0) + 0.5))
        lo = int(mu) - 1
        e = event(day, 0, split, lo=lo)
        events.append(dataclasses.replace(e, outcome=e.ladder.index_of(high)))
        rows.append((day, f"{day - dt.timedelta(days=1)}T12:00Z", mu))
    return events, _forecasts(rows)


def test_sigma_is_the_training_maximum_likelihood_and_ignores_test_events() -> None:
    rng = np.random.default_rng(1)
    train, fc_train = _many(rng, 60, "train", dt.date(2023, 1, 1))
    res = forecast_normal_pmfs(train, [EIGHT], fc_train, PARAMS)
    sigma = res.sigmas["08:00"]

    def nll(s: float) -> float:
        total = 0.0
        for e, mu in zip(train, fc_train["tmax_f"], strict=True):
            b = e.ladder[e.outcome]
            hi = np.inf if b.hi is None else b.hi + 0.5
            lo = -np.inf if b.lo is None else b.lo - 0.5
            total -= np.log(norm.cdf(hi, mu, s) - norm.cdf(lo, mu, s))
        return total

    best = minimize_scalar(nll, bounds=(0.5, 12.0), method="bounded").x
    assert abs(sigma - best) <= 11.5 / 115 / 2 + 1e-9  # within half a grid step
    assert sigma == fit_sigma(
        list(zip(train, fc_train["tmax_f"], strict=True)), np.linspace(0.5, 12, 116)
    )
    # Test events with any outcome leave the fitted scale unchanged.
    test, fc_test = _many(rng, 30, "test", dt.date(2024, 1, 1))
    test = [dataclasses.replace(e, outcome=2) for e in test]
    both = forecast_normal_pmfs(train + test, [EIGHT], pd.concat([fc_train, fc_test]), PARAMS)
    assert both.sigmas == res.sigmas
