"""Weather truth: diurnal path, AR(1) residuals, station reports, official highs, forecasts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kbayes.market.cities import CITIES
from kbayes.sim import (
    SimResult,
    climate_params,
    diurnal_shape,
    issue_times,
    regime_anomaly,
    simulate_forecasts,
    simulate_weather,
)

DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(366)]


@pytest.fixture(scope="module")
def year():
    city = CITIES["NY"]
    return simulate_weather(5, city, climate_params("NY"), DAYS)


def test_diurnal_shape_peaks_mid_afternoon() -> None:
    h = np.arange(0, 24, 1 / 12)
    g = diurnal_shape(h, 14.5, 6.0)
    assert g.min() == pytest.approx(0.0) and g.max() == pytest.approx(1.0)
    assert h[np.argmax(g)] == pytest.approx(14.5) and h[np.argmin(g)] == pytest.approx(6.0)
    assert np.abs(np.diff(g)).max() < 0.05  # continuous around the clock


def test_path_peaks_mid_afternoon_and_official_high_bounds(year) -> None:
    peak_hour = np.argmax(year.temp_f, axis=1) / 12
    assert 13.0 < np.median(peak_hour) < 17.0
    rounded5 = np.floor(year.max5_f + 0.5)
    assert (year.max1_f >= year.max5_f).all()
    assert (year.official_f >= rounded5).all()  # never below the 5-minute max
    gap = year.official_f - rounded5
    assert gap.max() <= 2 and 0.03 < (gap > 0).mean() < 0.3  # ...and only slightly above it


def test_residual_is_ar1_with_known_coefficient(year) -> None:
    resid = year.temp_f - year.theta @ year.model.X.T
    r0, r1 = resid[:, :-1].ravel(), resid[:, 1:].ravel()
    phi_hat = (r0 * r1).sum() / (r0 * r0).sum()
    assert phi_hat == pytest.approx(year.model.phi, abs=0.01)
    innov = resid[:, 1:] - year.model.phi * resid[:, :-1]
    assert innov.std(axis=0).mean() == pytest.approx(year.model.sigma[1:].mean(), rel=0.05)


def test_seasonal_climatology_and_persistence(year) -> None:
    month = np.array([d.month for d in DAYS])
    jan, jul = year.official_f[month == 1].mean(), year.official_f[month == 7].mean()
    assert 30 < jan < 50 and 75 < jul < 95
    a = regime_anomaly(5, "NY", DAYS)
    assert 0.4 < np.corrcoef(a[:-1], a[1:])[0, 1] < 0.8
    assert a.std() == pytest.approx(1.0, abs=0.15)


def test_a_date_does_not_depend_on_its_neighbours_in_the_request(year) -> None:
    one = simulate_weather(5, CITIES["NY"], climate_params("NY"), [DAYS[100]])
    assert np.array_equal(one.temp_f[0], year.temp_f[100])
    assert one.official_f[0] == year.official_f[100]


def test_forecast_information_is_calibrated_and_sharpens_with_lead(year) -> None:
    fc = simulate_forecasts(5, year)
    ws = year.window_start_ns
    assert fc.issue_ns.shape[1] == len(issue_times(ws[:1])[0]) == 11
    assert (fc.issue_ns >= ws[:, None] - 48 * 3600 * 10**9).all()
    assert (np.diff(fc.issue_ns, axis=1) > 0).all()
    err = year.theta[:, None, 0] - fc.mean[..., 0]  # truth minus forecast mean, per issue
    z = err / fc.sd[..., 0]
    assert np.abs(z.mean(axis=0)).max() < 0.2  # unbiased
    assert np.abs(z.std(axis=0) - 1).max() < 0.12  # the stated sd is the true error sd
    sd = err.std(axis=0)
    assert sd[0] > 1.5 * sd[-1]  # errors shrink as the day nears
    assert (np.diff(fc.sd[..., 0], axis=1) <= 1e-12).all()


def test_station_reports_look_like_asos(small: SimResult) -> None:
    obs = small.weather_obs
    assert set(obs["temp_source"]) == {"tenths", "whole"}
    whole = (obs["temp_source"] == "whole").mean()
    assert 0.01 < whole < 0.15
    assert (obs["report_type"] == "5-MIN").all()
    ts = obs["ts"]
    assert str(ts.dt.tz) == "UTC" and (ts.dt.minute % 5 == 0).all() and (ts.dt.second == 0).all()
    per_day = len(small.config.days) * len(small.config.cities) * 288
    assert 0.9 * per_day < len(obs) < per_day  # a few missing steps
    t = obs.loc[obs["temp_source"] == "tenths", "temp_c"].to_numpy(float)
    assert np.allclose(np.round(t * 10), t * 10)
    w = obs.loc[obs["temp_source"] == "whole", "temp_c"].to_numpy(float)
    assert np.array_equal(w, np.round(w))


def test_official_high_never_below_reported_5min_max(small: SimResult) -> None:
    obs = small.weather_obs
    obs = obs[obs["temp_source"] == "tenths"].copy()
    st = {c.station: c for c in CITIES.values()}
    obs["date"] = [
        st[s].climate_day_of(t.to_pydatetime())
        for s, t in zip(obs["station"], obs["ts"], strict=True)
    ]
    obs["f"] = np.floor(obs["temp_c"].to_numpy(float) * 9 / 5 + 32 + 0.5)
    mx = obs.groupby(["station", "date"])["f"].max().rename("max5").reset_index()
    oh = small.official_highs.merge(mx, on=["station", "date"])
    assert len(oh) == len(small.events)
    assert (oh["tmax_f"] >= oh["max5"]).all()
    truth = small.truth.merge(small.events[["event_ticker", "outcome_f"]], on="event_ticker")
    assert (truth["official_f"] == truth["outcome_f"]).all()
    assert (truth["official_f"] >= np.floor(truth["max5_f"] + 0.5)).all()


def test_prior_years_of_official_highs(small: SimResult) -> None:
    oh = small.official_highs
    cfg = small.config
    assert len(oh) == len(cfg.cities) * cfg.n_days * (1 + cfg.n_prior_years)
    years = pd.to_datetime(oh["date"]).dt.year
    assert sorted(years.unique()) == [2023, 2024, 2025]
    assert not oh.duplicated(["station", "date"]).any()


def test_forecast_frames(small: SimResult) -> None:
    hourly, daily = small.forecast_hourly, small.forecast_daily
    assert (hourly["provider"] == "sim").all() and (daily["provider"] == "sim").all()
    assert (hourly["lead_hours"] >= 0).all()
    lead = (hourly["target_ts"] - hourly["issued_at"]).dt.total_seconds() / 3600
    assert np.allclose(lead, hourly["lead_hours"].to_numpy(float))
    assert (hourly["target_ts"].dt.minute == 0).all()
    assert set(daily["lead_days"].astype(float)) <= {0.0, 1.0, 2.0}
    assert (daily["tmax_f"] > daily["tmin_f"]).all()
    assert len(daily) == len(small.events) * 11
