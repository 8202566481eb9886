"""Simulated forecasts: nested noisy information about the day's curve parameters.

A provider issues forecasts at fixed UTC cycle times (04, 10, 16, 22 Z: the 00/06/12/18 Z
model runs plus latency) from 48 h before the climate day until 18 h into it. Issue ``i``
carries a noisy reading of the true curve parameters ``θ = (H, A, β)``
(:mod:`kbayes.sim.weather`)::

    Z_i = θ + n_i,   n_I ~ N(0, ν_I²),   n_i = n_{i+1} + N(0, ν_i² − ν_{i+1}²)   (i < I),

componentwise, with ``ν_i`` shrinking as the issue nears the day. The noise is nested, so the
latest ``Z_i`` is sufficient for all issues so far, and the exact posterior is::

    θ | Z_i ~ N(m_i, diag(s_i²)),   s_i = σ₀ ρ_i,   m_i = s_i² (μ₀ / σ₀² + Z_i / ν_i²),
    ν_i² = σ₀² ρ_i² / (1 − ρ_i²),

where ``N(μ₀, diag(σ₀²))`` is the climatological prior of ``θ`` and ``ρ_i`` is the forecast's
error ratio: with ``L_i`` the hours from the issue to the day's peak (≥ 0),

    sd(H | Z_i) = min(0.95 σ_H, f₁ (0.45 + 0.55 L_i / 24)),   ρ_i = sd(H | Z_i) / σ_H,

``f₁`` being the city's one-day-lead forecast error. So errors shrink with lead.

Emitted products (provider ``'sim'``): the hourly forecast is the posterior-mean curve
``x_sᵀ m_i`` at each whole LST hour of the day still ahead of the issue; the daily forecast
``tmax_f`` is the posterior predictive mean of the 1-minute maximum ``E[M1 | Z_i]`` (computed by
the Monte Carlo of :mod:`kbayes.sim.posterior`) and ``tmin_f`` the minimum of the mean curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kbayes.sim.emit import ts_col
from kbayes.sim.seeds import rng_for
from kbayes.sim.weather import WeatherBatch, linear_path

CYCLE_HOURS_UTC = (4, 10, 16, 22)
FIRST_ISSUE_H = -48  # hours before the window start
LAST_ISSUE_H = 18  # hours after it (exclusive)
HOUR_NS = 3600 * 10**9


@dataclass(frozen=True)
class ForecastInfo:
    """The forecast information of one city's days.

    Attributes:
        issue_ns: issue instants (UTC ns), ``(D, I)``, increasing along ``I``.
        lead_h: hours from each issue to the day's peak (clipped at 0), ``(D, I)``.
        mean: posterior mean ``m_i`` of ``θ``, ``(D, I, 3)``.
        sd: posterior sd ``s_i`` of ``θ``, ``(D, I, 3)``.
    """

    issue_ns: np.ndarray
    lead_h: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    def latest(self, day_index: int, t_ns: int) -> int:
        """Index of the latest issue at or before ``t_ns`` (``-1`` if none)."""
        return int(np.searchsorted(self.issue_ns[day_index], t_ns, side="right")) - 1


def issue_times(window_start_ns: np.ndarray) -> np.ndarray:
    """Cycle issue instants in ``[start − 48 h, start + 18 h)`` per day, ``(D, I)``."""
    out = []
    for ws in window_start_ns:
        lo, hi = ws + FIRST_ISSUE_H * HOUR_NS, ws + LAST_ISSUE_H * HOUR_NS
        day0 = (lo // (24 * HOUR_NS)) * 24 * HOUR_NS
        cand = day0 + HOUR_NS * np.array(
            [24 * k + h for k in range(5) for h in CYCLE_HOURS_UTC], dtype=np.int64
        )
        out.append(cand[(cand >= lo) & (cand < hi)])
    return np.array(out, dtype=np.int64)


def simulate_forecasts(seed: int, wx: WeatherBatch) -> ForecastInfo:
    """Draw the nested forecast information of every day of ``wx`` (module equations)."""
    issue_ns = issue_times(wx.window_start_ns)
    n, n_issue = issue_ns.shape
    peak_ns = wx.window_start_ns + int(wx.params.peak_hour * HOUR_NS)
    lead_h = np.maximum(0.0, (peak_ns[:, None] - issue_ns) / HOUR_NS)
    sd_h = wx.prior_sd[:, 0:1]
    post_sd_h = np.minimum(0.95 * sd_h, wx.params.forecast_sd_1d * (0.45 + 0.55 * lead_h / 24.0))
    ratio = post_sd_h / sd_h  # (D, I), non-increasing along I
    s_post = wx.prior_sd[:, None, :] * ratio[:, :, None]  # (D, I, 3)
    nu2 = wx.prior_sd[:, None, :] ** 2 * (ratio**2 / (1.0 - ratio**2))[:, :, None]
    z = np.empty((n, n_issue, 3))
    for k, d in enumerate(wx.days):
        z[k] = rng_for(seed, wx.city.key, d, "forecast").standard_normal((n_issue, 3))
    noise = np.empty_like(z)
    noise[:, -1] = np.sqrt(nu2[:, -1]) * z[:, -1]
    for i in range(n_issue - 2, -1, -1):  # nested: earlier issues add independent noise
        noise[:, i] = noise[:, i + 1] + np.sqrt(np.maximum(nu2[:, i] - nu2[:, i + 1], 0)) * z[:, i]
    reading = wx.theta[:, None, :] + noise
    prior_m, prior_v = wx.prior_mean[:, None, :], wx.prior_sd[:, None, :] ** 2
    mean = s_post**2 * (prior_m / prior_v + reading / nu2)
    return ForecastInfo(issue_ns=issue_ns, lead_h=lead_h, mean=mean, sd=s_post)


def hourly_frame(
    wx: WeatherBatch, fc: ForecastInfo, provider: str, source_file: str
) -> pd.DataFrame:
    """Rows of :class:`~kbayes.market.records.ForecastHourlyRecord` (°F, one decimal)."""
    hours = np.arange(24)
    curve = linear_path(fc.mean, wx.model.X)[..., hours * 12]  # (D, I, 24)
    target = wx.window_start_ns[:, None, None] + HOUR_NS * hours[None, None, :]
    issued = np.broadcast_to(fc.issue_ns[:, :, None], curve.shape)
    target = np.broadcast_to(target, curve.shape)
    keep = (target >= issued).ravel()
    n = int(keep.sum())
    return pd.DataFrame(
        {
            "station": [wx.city.station] * n,
            "city": [wx.city.key] * n,
            "target_ts": ts_col(target.ravel()[keep]),
            "issued_at": ts_col(issued.ravel()[keep]),
            "lead_hours": (target.ravel()[keep] - issued.ravel()[keep]) / HOUR_NS,
            "temp_f": np.round(curve.ravel()[keep], 1),
            "dew_f": None,
            "humidity": None,
            "precip_in": None,
            "precipprob": None,
            "windspeed_mph": None,
            "cloudcover": None,
            "provider": [provider] * n,
            "source_file": [source_file] * n,
        }
    )


def daily_frame(
    wx: WeatherBatch,
    fc: ForecastInfo,
    tmax_mean: np.ndarray,
    provider: str,
    source_file: str,
) -> pd.DataFrame:
    """Rows of :class:`~kbayes.market.records.ForecastDailyRecord`.

    Args:
        tmax_mean: predictive mean ``E[M1 | Z_i]`` per day and issue, ``(D, I)``.
    """
    n_day, n_issue = fc.issue_ns.shape
    curve_min = linear_path(fc.mean, wx.model.X).min(axis=-1)
    issue_day = (fc.issue_ns + wx.city.lst_offset_hours * HOUR_NS) // (24 * HOUR_NS)
    target_day = (wx.window_start_ns + wx.city.lst_offset_hours * HOUR_NS) // (24 * HOUR_NS)
    n = n_day * n_issue
    return pd.DataFrame(
        {
            "station": [wx.city.station] * n,
            "city": [wx.city.key] * n,
            "target_date": [d for d in wx.days for _ in range(n_issue)],
            "issued_at": ts_col(fc.issue_ns.ravel()),
            "lead_days": (target_day[:, None] - issue_day).astype(float).ravel(),
            "tmax_f": np.round(tmax_mean, 1).ravel(),
            "tmin_f": np.round(curve_min, 1).ravel(),
            "provider": [provider] * n,
            "source_file": [source_file] * n,
        }
    )
