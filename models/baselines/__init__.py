"""The reference bracket PMFs every model must beat, shared by every experiment kind.

One idea per module:

* :mod:`~models.baselines.forecasts`: what a baseline returns (PMFs per event and time);
* :mod:`~models.baselines.trade_prices`: ``market_last`` (last trade before ``t``) and
  ``market_vwap30`` (VWAP of ``[t - 30 min, t)``), floored and normalised over the ladder;
* :mod:`~models.baselines.discrete`: Normal and Gaussian-kernel PMFs of the whole-°F high;
* :mod:`~models.baselines.climatology`: the kernel PMF of the same month's highs in earlier
  years;
* :mod:`~models.baselines.forecast_normal`: a Normal around the latest forecast issued before
  ``t``, its scale fitted on training events.

:func:`baseline_forecasts` runs the chosen ones over an experiment's events. Only data stamped
before ``t`` is used (DESIGN 4); outcomes are read only as labels (and, for the forecast scale,
only those of training events).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kbayes.market.prices import CC_PER_CENT
from models.baselines.climatology import ClimatologyParams, climatology_pmfs
from models.baselines.discrete import climatology_pmf, floored, kernel_mass, normal_pmf
from models.baselines.forecast_normal import (
    ForecastNormalParams,
    daily_forecasts,
    fit_sigma,
    forecast_normal_pmfs,
    latest_forecasts,
)
from models.baselines.forecasts import BaselinePMFs, Key
from models.baselines.trade_prices import (
    decision_grid,
    market_pmfs,
    market_prices,
    normalized_last_trade,
)

if TYPE_CHECKING:
    from kbayes.experiment.context import RunContext

MODELS = ("market_last", "market_vwap30", "climatology", "forecast_normal")
DEFAULTS: dict[str, Any] = {
    "models": list(MODELS),
    "market_last": {"floor_cents": 1},
    "market_vwap30": {"window_minutes": 30},
    "climatology": ClimatologyParams()._asdict(),
    "forecast_normal": ForecastNormalParams()._asdict(),
}


def baseline_forecasts(ctx: RunContext, params: dict[str, Any]) -> pd.DataFrame:
    """Forecast rows ``(model, decision_time, event_ticker, probs)`` of ``params["models"]``.

    Notes go to ``ctx.note``, the fitted forecast scales to
    ``ctx.fitted["forecast_normal_sigma_f"]``; each baseline is one ``ctx.step``.
    """
    events, times = ctx.data.events, ctx.config.decision_times
    forecasts: dict[str, dict[Key, np.ndarray]] = defaultdict(dict)
    wanted = params["models"]
    if {"market_last", "market_vwap30"} & set(wanted):
        with ctx.step("market prices"):
            grid = decision_grid(events, times)
            trades = ctx.data.trades()
            floor = params["market_last"]["floor_cents"] * CC_PER_CENT
            if "market_last" in wanted:
                price = market_prices(grid, trades, None, floor)
                forecasts["market_last"] = market_pmfs(grid, price, floor)
            if "market_vwap30" in wanted:
                w = params["market_vwap30"]["window_minutes"]
                price = market_prices(grid, trades, w, floor)
                forecasts["market_vwap30"] = market_pmfs(grid, price, floor)
    if "climatology" in wanted:
        with ctx.step("climatology"):
            clim = climatology_pmfs(
                events,
                times,
                ctx.data.store.read("official_highs"),
                ClimatologyParams(**params["climatology"]),
            )
            for text in clim.notes:
                ctx.note(text)
            forecasts["climatology"] = clim.pmfs
    if "forecast_normal" in wanted:
        with ctx.step("forecast normal"):
            fn_params = ForecastNormalParams(**params["forecast_normal"])
            forecasts["forecast_normal"] = forecast_normal_forecasts(ctx, fn_params)
    rows = [(m, lab, ev, p) for m in wanted for (ev, lab), p in forecasts[m].items()]
    return pd.DataFrame(rows, columns=["model", "decision_time", "event_ticker", "probs"])


def forecast_normal_forecasts(
    ctx: RunContext, params: ForecastNormalParams
) -> dict[Key, np.ndarray]:
    """The forecast-Normal PMFs of ``ctx``'s events; notes to ``ctx.note``, the fitted scales
    to ``ctx.fitted["forecast_normal_sigma_f"]``."""
    fn = forecast_normal_pmfs(
        ctx.data.events,
        ctx.config.decision_times,
        daily_forecasts(ctx.data.store, params.provider),
        params,
    )
    if fn.sigmas is not None:
        ctx.fitted["forecast_normal_sigma_f"] = fn.sigmas
    for text in fn.pmfs.notes:
        ctx.note(text)
    return fn.pmfs.pmfs


__all__ = [
    "DEFAULTS",
    "MODELS",
    "BaselinePMFs",
    "ClimatologyParams",
    "ForecastNormalParams",
    "Key",
    "baseline_forecasts",
    "climatology_pmf",
    "climatology_pmfs",
    "daily_forecasts",
    "decision_grid",
    "fit_sigma",
    "floored",
    "forecast_normal_forecasts",
    "forecast_normal_pmfs",
    "kernel_mass",
    "latest_forecasts",
    "market_pmfs",
    "market_prices",
    "normal_pmf",
    "normalized_last_trade",
]
