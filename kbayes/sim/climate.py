"""Per-city climate of the simulator: seasonal daily-high climatology and the diurnal curve.

Seasonal climatology of the *peak level* ``H`` of the day's temperature curve (°F), with
``d`` the day of the year and ``d*`` the warmest day::

    c(d)       = cos(2π (d − d*) / 365.25)
    mean_H(d)  = mean_high − excess + amplitude · c(d)
    sd_H(d)    = sd_summer + (sd_winter − sd_summer) · (1 − c(d)) / 2

``excess`` is the average amount by which the realised maximum (curve + AR(1) residual +
1-minute excursions, see :mod:`kbayes.sim.weather`) exceeds ``H``, so that the simulated
official highs average about ``mean_high + amplitude · c(d)``: round numbers near the NOAA
1991–2020 normals of each settlement station.

Day-to-day persistence (weather regimes): the standardised anomaly of day ``t`` is a
normalised moving average of independent daily shocks ``ε`` (one per city and date, from the
``regime`` stream)::

    a_t = sqrt((1 − ρ²) / (1 − ρ^(2K))) · Σ_{k<K} ρ^k ε_{t−k},    Var(a_t) = 1,
    corr(a_t, a_{t+1}) ≈ ρ,

and ``H_t = mean_H(d_t) + sd_H(d_t) · a_t``. Being a finite moving average over *named* days,
the anomaly of a date depends only on ``(seed, city, date)``.

Diurnal shape ``g(h) ∈ [0, 1]`` over the local-standard-time hour ``h``: a half-cosine rise
from the minimum at ``min_hour`` to the peak at ``peak_hour``, and a half-cosine fall over the
remaining ``24 − (peak_hour − min_hour)`` hours back to the next minimum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from kbayes.sim.seeds import rng_for

REGIME_RHO = 0.6  # lag-1 autocorrelation of the daily anomaly
REGIME_LAGS = 12  # length K of the moving average


@dataclass(frozen=True, slots=True)
class ClimateParams:
    """Climate and weather-noise parameters of one city (all temperatures in °F).

    Attributes:
        mean_high: annual mean of the daily high.
        amplitude: half the seasonal range of the mean daily high.
        peak_doy: day of the year of the warmest mean high.
        sd_summer: standard deviation of the peak level at the warm peak of the season.
        sd_winter: the same at the cold trough.
        diurnal_range: mean depth ``A`` of the morning minimum below the afternoon peak.
        peak_hour: LST hour of the peak of the mean diurnal curve.
        min_hour: LST hour of its minimum.
        resid_sd: stationary standard deviation of the AR(1) residual.
        resid_tau_min: e-folding time of the residual, minutes (``φ = exp(−5/τ)`` per step).
        trend_sd: standard deviation of the within-day linear trend ``β`` (°F per day; fronts).
        excursion_mean: mean of the 1-minute excursion above each 5-minute sample.
        forecast_sd_1d: forecast error (sd of ``H``) at one day lead.
        excess: average ``max − H`` (subtracted from the mean so the highs match the normals).
    """

    mean_high: float
    amplitude: float
    peak_doy: float
    sd_summer: float
    sd_winter: float
    diurnal_range: float
    peak_hour: float = 14.5
    min_hour: float = 6.0
    resid_sd: float = 2.0
    resid_tau_min: float = 150.0
    trend_sd: float = 5.0
    excursion_mean: float = 0.1
    forecast_sd_1d: float = 2.5
    excess: float = 2.9


#: Parameters per city key of :data:`kbayes.market.cities.CITIES` (normals rounded from NOAA
#: 1991-2020; ``excess`` measured from the simulator itself).
CLIMATE: dict[str, ClimateParams] = {
    "NY": ClimateParams(
        mean_high=62.3,
        amplitude=22.8,
        peak_doy=201,
        sd_summer=6.0,
        sd_winter=9.0,
        diurnal_range=14.0,
        peak_hour=14.5,
        min_hour=6.0,
        resid_sd=2.0,
        resid_tau_min=150,
        trend_sd=4.0,
        excursion_mean=0.1,
        forecast_sd_1d=2.5,
        excess=2.9,
    ),
    "CHI": ClimateParams(
        mean_high=58.5,
        amplitude=26.5,
        peak_doy=201,
        sd_summer=7.0,
        sd_winter=11.0,
        diurnal_range=17.0,
        peak_hour=14.5,
        min_hour=6.0,
        resid_sd=2.5,
        resid_tau_min=150,
        trend_sd=5.0,
        excursion_mean=0.1,
        forecast_sd_1d=3.0,
        excess=3.6,
    ),
    "MIA": ClimateParams(
        mean_high=83.8,
        amplitude=7.3,
        peak_doy=215,
        sd_summer=2.2,
        sd_winter=4.5,
        diurnal_range=11.0,
        peak_hour=13.5,
        min_hour=6.0,
        resid_sd=1.3,
        resid_tau_min=120,
        trend_sd=1.5,
        excursion_mean=0.08,
        forecast_sd_1d=1.6,
        excess=2.0,
    ),
    "AUS": ClimateParams(
        mean_high=79.5,
        amplitude=17.5,
        peak_doy=215,
        sd_summer=3.5,
        sd_winter=9.0,
        diurnal_range=21.0,
        peak_hour=15.5,
        min_hour=6.5,
        resid_sd=2.2,
        resid_tau_min=150,
        trend_sd=4.0,
        excursion_mean=0.1,
        forecast_sd_1d=2.4,
        excess=3.0,
    ),
    "DEN": ClimateParams(
        mean_high=67.5,
        amplitude=22.5,
        peak_doy=200,
        sd_summer=6.0,
        sd_winter=12.0,
        diurnal_range=26.0,
        peak_hour=14.5,
        min_hour=6.0,
        resid_sd=3.0,
        resid_tau_min=150,
        trend_sd=6.0,
        excursion_mean=0.12,
        forecast_sd_1d=3.5,
        excess=4.0,
    ),
    "LAX": ClimateParams(
        mean_high=71.3,
        amplitude=4.3,
        peak_doy=235,
        sd_summer=3.5,
        sd_winter=5.5,
        diurnal_range=11.0,
        peak_hour=12.5,
        min_hour=6.0,
        resid_sd=1.6,
        resid_tau_min=150,
        trend_sd=1.5,
        excursion_mean=0.08,
        forecast_sd_1d=2.0,
        excess=2.3,
    ),
    "PHIL": ClimateParams(
        mean_high=64.5,
        amplitude=23.5,
        peak_doy=201,
        sd_summer=6.0,
        sd_winter=9.0,
        diurnal_range=17.0,
        peak_hour=14.5,
        min_hour=6.0,
        resid_sd=2.0,
        resid_tau_min=150,
        trend_sd=4.0,
        excursion_mean=0.1,
        forecast_sd_1d=2.5,
        excess=2.7,
    ),
}


def climate_params(city: str) -> ClimateParams:
    """Parameters of a city key, with a clear error for cities the simulator does not know."""
    try:
        return CLIMATE[city]
    except KeyError:
        raise KeyError(
            f"no simulator climate for city {city!r}; known: {sorted(CLIMATE)}"
        ) from None


def day_of_year(days: list[dt.date] | tuple[dt.date, ...]) -> np.ndarray:
    """Day of the year (1..366) of each date."""
    return np.array([d.timetuple().tm_yday for d in days], dtype=float)


def seasonal_mean_sd(p: ClimateParams, doy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean_H(d), sd_H(d))`` of the peak level on days of the year ``doy`` (module formulas)."""
    c = np.cos(2.0 * np.pi * (np.asarray(doy, dtype=float) - p.peak_doy) / 365.25)
    mean = p.mean_high - p.excess + p.amplitude * c
    sd = p.sd_summer + (p.sd_winter - p.sd_summer) * (1.0 - c) / 2.0
    return mean, sd


def diurnal_shape(hours: np.ndarray, peak_hour: float, min_hour: float) -> np.ndarray:
    """Normalised diurnal curve ``g(h)``: 0 at ``min_hour``, 1 at ``peak_hour`` (LST hours)."""
    h = np.mod(np.asarray(hours, dtype=float), 24.0)
    rise = peak_hour - min_hour
    since_min = np.mod(h - min_hour, 24.0)
    since_peak = np.mod(h - peak_hour, 24.0)
    rising = since_min <= rise
    g_rise = 0.5 - 0.5 * np.cos(np.pi * since_min / rise)
    g_fall = 0.5 + 0.5 * np.cos(np.pi * since_peak / (24.0 - rise))
    return np.where(rising, g_rise, g_fall)


def regime_anomaly(seed: int, city: str, days: list[dt.date]) -> np.ndarray:
    """Standardised daily anomalies ``a_t`` (module formula) for ``days``."""
    if not days:
        return np.zeros(0)
    lags = [dt.timedelta(days=k) for k in range(REGIME_LAGS)]
    needed = sorted({d - lag for d in days for lag in lags})
    shock = {d: rng_for(seed, city, d, "regime").standard_normal() for d in needed}
    k = np.arange(REGIME_LAGS)
    w = REGIME_RHO**k * np.sqrt((1 - REGIME_RHO**2) / (1 - REGIME_RHO ** (2 * REGIME_LAGS)))
    eps = np.array([[shock[d - lag] for lag in lags] for d in days])
    return (eps * w).sum(axis=1)
