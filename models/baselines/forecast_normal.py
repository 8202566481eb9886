"""Forecast baseline: a Normal around the latest daily-high forecast issued before ``t``.

``P(T = n) = Phi((n + 1/2 - mu) / s) - Phi((n - 1/2 - mu) / s)``
(:func:`~models.baselines.discrete.normal_pmf`), ``mu`` the provider's latest forecast of the
day's high issued strictly before the decision instant ``t`` (DESIGN 4). The scale ``s`` is
fitted per decision time on the *training* events by maximum likelihood of the realised
brackets over a grid (:func:`fit_sigma`); with fewer than five training events it is
``default_sigma``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import ndtr

from kbayes.experiment.config import DecisionTime
from kbayes.experiment.data import EventDay
from kbayes.experiment.errors import ConfigError
from kbayes.io.store import Store
from kbayes.market.cities import city_of
from models.baselines.discrete import PMF_FLOOR, normal_pmf
from models.baselines.forecasts import BaselinePMFs, Key

SIGMA_GRID_POINTS = 116
MIN_TRAIN_EVENTS = 5


class ForecastNormalParams(NamedTuple):
    provider: str = "visualcrossing"
    """``forecast_daily.provider`` whose forecasts are the centres."""
    sigma_grid_min: float = 0.5
    sigma_grid_max: float = 12.0
    default_sigma: float = 3.0
    """The scale (°F) at decision times with fewer than five training events."""


class ForecastNormalPMFs(NamedTuple):
    """The PMFs, the notes, and the fitted scale per decision label (``None``: no forecasts)."""

    pmfs: BaselinePMFs
    sigmas: dict[str, float] | None


def daily_forecasts(store: Store, provider: str) -> pd.DataFrame:
    """``(station, target_date, issued_at, tmax_f)`` of one provider, oldest issue first.

    Raises:
        ConfigError: The store has daily forecasts, but none from ``provider`` (a typo would
            otherwise drop the model from the results with only a note).
    """
    fc = store.query(
        "SELECT station, target_date, issued_at, tmax_f FROM forecast_daily "
        "WHERE provider = ? AND tmax_f IS NOT NULL ORDER BY issued_at",
        [provider],
    )
    if fc.empty:
        have = store.query("SELECT DISTINCT provider FROM forecast_daily WHERE tmax_f IS NOT NULL")
        known = sorted(have["provider"].astype(str))
        if known:
            raise ConfigError(
                f"params provider: {provider!r} has no daily forecasts in the store; "
                f"providers there: {known}"
            )
    return fc


def latest_forecasts(
    events: Sequence[EventDay], decision_times: Sequence[DecisionTime], forecasts: pd.DataFrame
) -> dict[Key, float]:
    """Per (event, decision time): the latest forecast high issued strictly before ``t``."""
    by_key = {k: g for k, g in forecasts.groupby(["station", "target_date"])}
    mus: dict[Key, float] = {}
    for e in events:
        g = by_key.get((city_of(e.city).station, e.date))
        if g is None:
            continue
        issued = g["issued_at"].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
        for d in decision_times:
            t = np.datetime64(pd.Timestamp(d.instant(e.city, e.date)).tz_convert(None), "us")
            i = np.searchsorted(issued, t, side="left") - 1
            if i >= 0:
                mus[(e.event_ticker, d.label)] = float(g["tmax_f"].iloc[i])
    return mus


def fit_sigma(train: Sequence[tuple[EventDay, float]], grid: np.ndarray) -> float:
    """The grid scale maximising ``sum_i log P(bracket_i | Normal(mu_i, s))``, rounded to 1e-4.

    Args:
        train: ``(event, mu)`` pairs of training events (the outcome is the label).
    """
    # Likelihood of each realised bracket [lo, hi] under every sigma on the grid at once.
    b = [e.ladder[e.outcome] for e, _ in train]
    mu = np.array([m for _, m in train])[:, None]
    hi = np.array([np.inf if x.hi is None else x.hi + 0.5 for x in b])[:, None]
    lo = np.array([-np.inf if x.lo is None else x.lo - 0.5 for x in b])[:, None]
    lik = ndtr((hi - mu) / grid[None, :]) - ndtr((lo - mu) / grid[None, :])
    nll = -np.log(np.maximum(lik, PMF_FLOOR)).sum(axis=0)
    return round(float(grid[int(np.argmin(nll))]), 4)


def forecast_normal_pmfs(
    events: Sequence[EventDay],
    decision_times: Sequence[DecisionTime],
    forecasts: pd.DataFrame,
    params: ForecastNormalParams,
) -> ForecastNormalPMFs:
    """Forecast-Normal PMFs of every event-time with a forecast issued before it.

    Args:
        forecasts: :func:`daily_forecasts` of ``params.provider``.
    """
    out: dict[Key, np.ndarray] = {}
    if forecasts.empty:
        note = f"forecast_normal: no daily forecasts from provider {params.provider!r}"
        return ForecastNormalPMFs(BaselinePMFs(out, [note]), None)
    notes = []
    mus = latest_forecasts(events, decision_times, forecasts)
    by_ticker = {e.event_ticker: e for e in events}
    grid = np.linspace(params.sigma_grid_min, params.sigma_grid_max, SIGMA_GRID_POINTS)
    sigmas: dict[str, float] = {}
    for d in decision_times:
        train = [
            (by_ticker[ev], mu)
            for (ev, lab), mu in mus.items()
            if lab == d.label and by_ticker[ev].split == "train"
        ]
        if len(train) < MIN_TRAIN_EVENTS:
            sigmas[d.label] = params.default_sigma
            notes.append(
                f"forecast_normal {d.label}: {len(train)} training events; "
                f"sigma = default {params.default_sigma}"
            )
            continue
        sigmas[d.label] = fit_sigma(train, grid)
    for (ev, lab), mu in mus.items():
        out[(ev, lab)] = normal_pmf(by_ticker[ev].ladder, mu, sigmas[lab])
    unscored = len(events) * len(decision_times) - len(out)
    if unscored:
        notes.append(
            f"forecast_normal: {unscored} event-times have no forecast issued before the "
            "decision time and are not scored for this model"
        )
    return ForecastNormalPMFs(BaselinePMFs(out, notes), sigmas)
