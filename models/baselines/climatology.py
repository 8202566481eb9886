"""Climatology baseline: a kernel PMF of the same calendar month's highs in *earlier* years.

For an event on day ``d`` at station ``s`` the history is the official highs of ``s`` in the
month of ``d`` in years before ``d``'s year (no look-ahead, not even earlier days of the same
month), one value per day from the most authoritative source
(:data:`~kbayes.experiment.data.OFFICIAL_SOURCE_PRIORITY`). The PMF is
:func:`~models.baselines.discrete.climatology_pmf`, the same at every decision time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from kbayes.experiment.config import DecisionTime
from kbayes.experiment.data import EventDay, best_official_highs
from kbayes.market.cities import city_of
from models.baselines.discrete import climatology_pmf
from models.baselines.forecasts import BaselinePMFs, Key


class ClimatologyParams(NamedTuple):
    kernel_sigma_f: float = 2.0
    """Standard deviation of the Gaussian kernel (°F)."""
    min_values: int = 20
    """Events with fewer earlier same-month highs get no climatology PMF."""


def climatology_pmfs(
    events: Sequence[EventDay],
    decision_times: Sequence[DecisionTime],
    highs: pd.DataFrame,
    params: ClimatologyParams,
) -> BaselinePMFs:
    """Climatology PMF of every event with enough history, at every decision time.

    Args:
        highs: the store's ``official_highs`` table (every source).
    """
    out: dict[Key, np.ndarray] = {}
    if highs.empty:
        return BaselinePMFs(out, ["climatology: no official highs in the store"])
    best = best_official_highs(highs)
    best["month"] = [d.month for d in best["date"]]
    best["year"] = [d.year for d in best["date"]]
    by_station = {s: g for s, g in best.groupby("station")}
    missing = 0
    for e in events:
        g = by_station.get(city_of(e.city).station)
        if g is None:
            missing += 1
            continue
        vals = g[(g["month"] == e.date.month) & (g["year"] < e.date.year)]["tmax_f"]
        if len(vals) < params.min_values:
            missing += 1
            continue
        p = climatology_pmf(e.ladder, vals.to_numpy(dtype=float), params.kernel_sigma_f)
        for d in decision_times:
            out[(e.event_ticker, d.label)] = p
    notes = []
    if missing:
        notes.append(
            f"climatology: {missing} events lack >= {params.min_values} earlier "
            "same-month official highs and are not scored for this model"
        )
    return BaselinePMFs(out, notes)
