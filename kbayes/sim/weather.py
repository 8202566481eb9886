"""Simulated station weather of one city: 5-minute temperature path, reports, official high.

On the 5-minute grid ``s = 0..287`` of the local-standard-time climate day (hour
``h_s = s/12``), with ``g`` the diurnal shape of :mod:`kbayes.sim.climate`::

    x_s   = (1, a_s, u_s),   a_s = −(1 − g(h_s)),   u_s = s/288 − 1/2          (days)
    θ     = (H, A, β)        peak level, diurnal range, within-day trend
    T_s   = x_sᵀ θ + r_s                                                        (°F)
    r_0   ~ N(0, v₀),   r_s = φ r_{s−1} + σ_s ε_s,   ε_s ~ N(0, 1)
    φ     = exp(−5 / τ),   σ_s = σ_r √(1 − φ²) (0.7 + 0.6 g(h_s)),   v₀ = (0.85 σ_r)²

with priors ``H ~ N(mean_H, sd_H²)`` (seasonal, persistent; :mod:`kbayes.sim.climate`),
``A ~ N(A₀, (0.2 A₀)²)``, ``β ~ N(0, sd_β²)``, independent.

The 1-minute series peaks between 5-minute samples: the maximum over the 5 minutes starting at
``s`` is ``T_s + G_s`` with ``G_s ~ Exponential(mean g)`` i.i.d., so the 1-minute maximum and the
official high (CLI, whole °F, round half up) are::

    M1 = max_s (T_s + G_s) ≥ M5 = max_s T_s,      official = ⌊M1 + ½⌋ ≥ ⌊M5 + ½⌋.

Station reports mimic ASOS 5-minute data: the sensor value in whole °F ``F_s = ⌊T_s + ½⌋`` is
published as tenths °C ``round((F_s − 32)·5/9, 1)`` (``temp_source='tenths'``, converts back to
``F_s`` exactly) or, in a few rows, as whole °C only (``'whole'``, off by up to ~1 °F), and a
few steps (and occasionally an hour or more) are missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from kbayes.market.cities import City
from kbayes.sim.climate import (
    ClimateParams,
    day_of_year,
    diurnal_shape,
    regime_anomaly,
    seasonal_mean_sd,
)
from kbayes.sim.seeds import rng_for

STEPS = 288  # 5-minute steps per climate day
STEP_NS = 300 * 10**9
AMP_REL_SD = 0.2  # prior sd of the diurnal range, relative to its mean
MISSING_RATE = 0.01  # isolated missing 5-minute reports
GAP_DAY_RATE = 0.04  # probability that a day has one longer outage
WHOLE_ONLY_RATE = 0.05  # reports without the tenths remark


@dataclass(frozen=True)
class DayModel:
    """The fixed (non-random) part of a city's path model on the 5-minute grid.

    Attributes:
        X: design rows ``x_s = (1, a_s, u_s)``, shape ``(288, 3)``.
        sigma: innovation sd ``σ_s``, shape ``(288,)``.
        phi: AR(1) coefficient per 5-minute step.
        v0: variance of the residual at 00:00 LST.
        excursion_mean: mean ``g`` of the 1-minute excursion.
    """

    X: np.ndarray
    sigma: np.ndarray
    phi: float
    v0: float
    excursion_mean: float

    @classmethod
    def of(cls, p: ClimateParams) -> DayModel:
        hours = np.arange(STEPS) / 12.0
        g = diurnal_shape(hours, p.peak_hour, p.min_hour)
        X = np.stack([np.ones(STEPS), -(1.0 - g), np.arange(STEPS) / STEPS - 0.5], axis=1)
        phi = float(np.exp(-5.0 / p.resid_tau_min))
        sigma = p.resid_sd * np.sqrt(1.0 - phi**2) * (0.7 + 0.6 * g)
        return cls(X, sigma, phi, float((0.85 * p.resid_sd) ** 2), p.excursion_mean)

    def residuals(self, eps: np.ndarray) -> np.ndarray:
        """AR(1) residual paths ``r`` from standard normals ``eps[..., 288]`` (module formula)."""
        drive = eps * self.sigma
        drive[..., 0] = eps[..., 0] * np.sqrt(self.v0)
        return lfilter([1.0], [1.0, -self.phi], drive, axis=-1)


@dataclass(frozen=True)
class WeatherBatch:
    """Simulated weather of one city over a list of climate days (arrays indexed by day).

    Attributes:
        city: the settlement city.
        params: its climate parameters.
        model: the fixed part of the path model.
        days: the climate days.
        window_start_ns: UTC start of each climate day, ns since the epoch.
        prior_mean: prior mean of ``θ = (H, A, β)`` per day, ``(D, 3)``.
        prior_sd: prior sd of ``θ`` per day, ``(D, 3)``.
        theta: true ``θ`` per day, ``(D, 3)``.
        temp_f: true 5-minute path ``T_s`` (°F), ``(D, 288)``.
        excursion: 1-minute excursions ``G_s``, ``(D, 288)``.
        max5_f: ``M5``; max1_f: ``M1``; official_f: the official high (int).
    """

    city: City
    params: ClimateParams
    model: DayModel
    days: tuple[dt.date, ...]
    window_start_ns: np.ndarray
    prior_mean: np.ndarray
    prior_sd: np.ndarray
    theta: np.ndarray
    temp_f: np.ndarray
    excursion: np.ndarray
    max5_f: np.ndarray
    max1_f: np.ndarray
    official_f: np.ndarray


def window_start_ns(city: City, day: dt.date) -> int:
    """UTC start of the LST climate day, in ns since the epoch."""
    start, _ = city.climate_day_window(day)
    return int(start.timestamp()) * 10**9


def simulate_weather(
    seed: int, city: City, params: ClimateParams, days: list[dt.date]
) -> WeatherBatch:
    """Draw the true weather of ``city`` on ``days`` (module equations).

    Each day uses only its own ``weather`` stream and the ``regime`` shocks of itself and the
    preceding days, so the result for a date does not depend on which other dates are drawn.
    """
    model = DayModel.of(params)
    mean_h, sd_h = seasonal_mean_sd(params, day_of_year(days))
    anomaly = regime_anomaly(seed, city.key, days)
    n = len(days)
    z = np.empty((n, 2))
    eps = np.empty((n, STEPS))
    exc = np.empty((n, STEPS))
    for i, d in enumerate(days):
        rng = rng_for(seed, city.key, d, "weather")
        z[i] = rng.standard_normal(2)
        eps[i] = rng.standard_normal(STEPS)
        exc[i] = rng.exponential(params.excursion_mean, STEPS)
    prior_mean = np.stack([mean_h, np.full(n, params.diurnal_range), np.zeros(n)], axis=1)
    prior_sd = np.stack(
        [sd_h, np.full(n, AMP_REL_SD * params.diurnal_range), np.full(n, params.trend_sd)], axis=1
    )
    theta = prior_mean + prior_sd * np.concatenate([anomaly[:, None], z], axis=1)
    temp = linear_path(theta, model.X) + model.residuals(eps)
    max5 = temp.max(axis=1)
    max1 = (temp + exc).max(axis=1)
    official = np.floor(max1 + 0.5).astype(np.int64)
    return WeatherBatch(
        city=city,
        params=params,
        model=model,
        days=tuple(days),
        window_start_ns=np.array([window_start_ns(city, d) for d in days], dtype=np.int64),
        prior_mean=prior_mean,
        prior_sd=prior_sd,
        theta=theta,
        temp_f=temp,
        excursion=exc,
        max5_f=max5,
        max1_f=max1,
        official_f=official,
    )


def linear_path(theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``θ·x_s`` for every row of ``θ[..., 3]`` and step of ``X[288, 3]``."""
    t = np.asarray(theta)[..., None, :]
    return t[..., 0] * X[:, 0] + t[..., 1] * X[:, 1] + t[..., 2] * X[:, 2]


def f_to_c(f: np.ndarray) -> np.ndarray:
    return (np.asarray(f, dtype=float) - 32.0) * 5.0 / 9.0


def station_reports(seed: int, wx: WeatherBatch) -> dict[str, np.ndarray]:
    """ASOS-like 5-minute reports of ``wx`` as columns of :class:`WeatherObsRecord`.

    Returns:
        Columns ``ts_ns``, ``temp_c``, ``temp_source``, ``dewpoint_c`` (rows sorted by time);
        the station, report type and source are constant and added by the caller.
    """
    n = len(wx.days)
    keep = np.ones((n, STEPS), dtype=bool)
    whole = np.zeros((n, STEPS), dtype=bool)
    spread = np.empty((n, STEPS))
    g = 1.0 + wx.model.X[:, 1]  # diurnal shape, 0..1
    for i, d in enumerate(wx.days):
        rng = rng_for(seed, wx.city.key, d, "obs")
        keep[i] = rng.random(STEPS) >= MISSING_RATE
        whole[i] = rng.random(STEPS) < WHOLE_ONLY_RATE
        if rng.random() < GAP_DAY_RATE:  # one longer outage (real 5-minute files have them)
            length = int(rng.integers(6, 48))
            start = int(rng.integers(0, STEPS - length))
            keep[i, start : start + length] = False
        # dew-point depression (°C): larger in the dry afternoon, a daily level, small noise
        spread[i] = np.maximum(
            0.3, 2.5 + 5.0 * g + 1.5 * rng.standard_normal() + 0.4 * rng.standard_normal(STEPS)
        )
    sensor_f = np.floor(wx.temp_f + 0.5)
    c_exact = f_to_c(sensor_f)
    tenths = np.round(c_exact, 1)
    whole_c = np.floor(c_exact + 0.5)
    temp_c = np.where(whole, whole_c, tenths)
    dew_exact = c_exact - spread
    dew_c = np.where(whole, np.floor(dew_exact + 0.5), np.round(dew_exact, 1))
    ts = wx.window_start_ns[:, None] + STEP_NS * np.arange(STEPS)[None, :]
    m = keep.ravel()
    return {
        "ts_ns": ts.ravel()[m],
        "temp_c": temp_c.ravel()[m],
        "temp_source": np.where(whole.ravel()[m], "whole", "tenths"),
        "dewpoint_c": dew_c.ravel()[m],
    }
