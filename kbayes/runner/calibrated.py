"""A calibration map applied to a PMF stream: any PMF column in, its calibrated twin out.

The map (here the multiclass temperature map ``q = softmax(ln p / T)``, Guo et al. 2017,
:mod:`kbayes.calibration.temperature`) is fitted elsewhere on training days' decision-time
PMFs; this component only applies it, tick by tick, to whatever the earlier components wrote
(the bracket UKF's ``pmf`` by default). A tick without a complete PMF gives ``nan``.
"""

from __future__ import annotations

import math

import numpy as np

from kbayes.calibration.temperature import TemperatureParams, apply_temperature_multiclass
from kbayes.market.events import Event
from kbayes.state import MarketState, WeatherState


class CalibratedPMF:
    """Writes ``<column>_cal`` = the temperature map applied to ``<column>``."""

    def __init__(self, params: TemperatureParams, column: str = "pmf") -> None:
        if not (math.isfinite(params.temperature) and params.temperature > 0):
            raise ValueError(f"temperature={params.temperature!r} must be finite and > 0")
        self.params = params
        self.column = column
        self.name = f"{column}_cal"

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: dict
    ) -> None:
        del t_ns, weather
        p = np.asarray(columns[self.column], dtype=float)
        if p.shape != (len(market),) or not np.all(np.isfinite(p)) or p.sum() <= 0:
            columns[self.name] = [math.nan] * len(market)
            return
        columns[self.name] = apply_temperature_multiclass(self.params, p[None, :] / p.sum())[0]
