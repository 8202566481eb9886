"""Baseline path ``f_{d,s}`` of each day on the 5-minute LST grid.

* **Forecast path** when an hourly forecast exists: for each target hour the latest value
  issued before the cutoff (``hours_before`` hours before the climate day starts, so before
  every standard decision time including ``T-1 20:00``), converted to °C and linearly
  interpolated onto the grid.
* **Climatological diurnal curve** otherwise: the mean shape ``a(s) = E[T_d(s) - max_s T_d]``
  over the station's training days of the same month (all training months pooled when that
  month has fewer than ``min_days``), smoothed by least squares on ``K = 4`` Fourier harmonics
  of the time of day, and lifted to a daily-high prior: ``f(s) = H_prior + a(s)`` with
  ``H_prior`` the mean official high (°C) of the same calendar month in earlier years (no
  look-ahead; the training days' mean maximum when there are fewer than ``min_years`` such
  values).

Whatever the baseline gets wrong on average or on a given day is absorbed by the day offset
``delta_d`` and its hierarchical mean (:mod:`models.tmax_ar.model`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from jaxtyping import Float

from models.tmax_ar.curves import fourier_design
from models.tmax_ar.grid import STEP_MINUTES, STEPS, TENTHS, DayObs

SHAPE_HARMONICS = 4


class BaselineWarning(UserWarning):
    """A baseline fell back to a less informed source."""


class DiurnalClimate(NamedTuple):
    """Diurnal shapes of one station (°C below the day's maximum).

    Attributes:
        by_month: shape per calendar month with enough training days.
        pooled: shape over all training days.
        mean_max_c: mean 5-minute maximum of the training days (°C).
        n_days: training days used.
    """

    by_month: dict[int, Float[np.ndarray, " 288"]]
    pooled: Float[np.ndarray, " 288"]
    mean_max_c: float
    n_days: int


def _smooth_shape(rows: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    anom = rows - np.where(kinds == TENTHS, rows, -np.inf).max(axis=1, keepdims=True)
    b = fourier_design(STEPS, SHAPE_HARMONICS)
    use = kinds == TENTHS
    design = np.broadcast_to(b, (*rows.shape, b.shape[1]))[use]
    coef, *_ = np.linalg.lstsq(design, anom[use], rcond=None)
    return b @ coef


def fit_diurnal(days: DayObs, min_coverage: float = 0.8, min_days: int = 10) -> DiurnalClimate:
    """Diurnal shapes from training days with at least ``min_coverage`` tenths reports."""
    cover = (days.kind == TENTHS).mean(axis=1)
    keep = cover >= min_coverage
    if keep.sum() < 3:
        raise ValueError(
            f"only {int(keep.sum())} training days with >= {min_coverage:.0%} reports: "
            "cannot fit a diurnal curve"
        )
    y, k = days.y[keep], days.kind[keep]
    months = np.array([d.month for d in days.dates])[keep]
    by_month = {
        int(mo): _smooth_shape(y[months == mo], k[months == mo])
        for mo in np.unique(months)
        if (months == mo).sum() >= min_days
    }
    mean_max = float(np.where(k == TENTHS, y, -np.inf).max(axis=1).mean())
    return DiurnalClimate(by_month, _smooth_shape(y, k), mean_max, int(keep.sum()))


def high_prior_c(
    highs: pd.DataFrame, station: str, day: dt.date, fallback_c: float, min_years: int = 5
) -> float:
    """Mean official high (°C) of ``day``'s calendar month in years before ``day.year``."""
    h = highs[highs["station"] == station]
    if not h.empty:
        months = np.array([d.month for d in h["date"]])
        years = np.array([d.year for d in h["date"]])
        vals = h["tmax_f"].to_numpy(dtype=float)[(months == day.month) & (years < day.year)]
        if len(vals) >= min_years * 20:
            return float((vals.mean() - 32.0) / 1.8)
    return fallback_c


def climatology_path(clim: DiurnalClimate, day: dt.date, prior_high_c: float) -> np.ndarray:
    """``f(s) = H_prior + a_month(s)`` (pooled shape when the month has none)."""
    shape = clim.by_month.get(day.month, clim.pooled)
    return prior_high_c + shape


def forecast_path(
    hourly: pd.DataFrame, station: str, window_start: dt.datetime, cutoff: dt.datetime
) -> np.ndarray | None:
    """Hourly forecast issued before ``cutoff``, interpolated to the day's grid (°C).

    Returns ``None`` when no forecast covers the whole climate day.
    """
    if hourly.empty:
        return None
    start = pd.Timestamp(window_start)
    f = hourly[
        (hourly["station"] == station)
        & (hourly["issued_at"] < pd.Timestamp(cutoff))
        & (hourly["target_ts"] >= start - pd.Timedelta(hours=1))
        & (hourly["target_ts"] <= start + pd.Timedelta(hours=25))
        & hourly["temp_f"].notna()
    ]
    if f.empty:
        return None
    f = f.sort_values("issued_at").drop_duplicates("target_ts", keep="last")
    f = f.sort_values("target_ts")
    hours = (f["target_ts"] - start).dt.total_seconds().to_numpy() / 3600.0
    if hours.min() > 0 or hours.max() < 24 - STEP_MINUTES / 60:
        return None
    grid_h = np.arange(STEPS) * STEP_MINUTES / 60.0
    temp_c = (f["temp_f"].to_numpy(dtype=float) - 32.0) / 1.8
    return np.interp(grid_h, hours, temp_c)


def baseline_paths(
    days: DayObs,
    clim: DiurnalClimate,
    highs: pd.DataFrame,
    hourly: pd.DataFrame,
    windows: list[tuple[dt.datetime, dt.datetime]],
    use_forecast: bool = True,
    hours_before: float = 4.0,
) -> tuple[Float[np.ndarray, "D 288"], list[str]]:
    """Baseline per day and its source (``"forecast"`` or ``"climatology"``).

    Warns (:class:`BaselineWarning`) once, with a count, when days that should have had a
    forecast fell back to the climatological curve.
    """
    out = np.zeros((len(days.dates), STEPS))
    src: list[str] = []
    missing = 0
    for i, (st, day, (w0, _)) in enumerate(zip(days.station, days.dates, windows, strict=True)):
        path = None
        if use_forecast:
            path = forecast_path(hourly, st, w0, w0 - dt.timedelta(hours=hours_before))
            missing += path is None
        if path is None:
            prior = high_prior_c(highs, st, day, clim.mean_max_c)
            path = climatology_path(clim, day, prior)
            src.append("climatology")
        else:
            src.append("forecast")
        out[i] = path
    if use_forecast and missing:
        warnings.warn(
            f"{missing} of {len(days.dates)} days have no hourly forecast covering the climate "
            "day: using the climatological diurnal curve scaled to the daily-high prior",
            BaselineWarning,
            stacklevel=2,
        )
    return out, src
