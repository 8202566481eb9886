"""Seeded simulator of Kalshi daily-high markets with known truth.

``simulate(SimConfig(...))`` returns typed frames for every store table (markets, events,
trades, book tops/levels/deltas, candles, weather observations, hourly and daily forecasts,
official highs) plus the truth (curve parameters, maxima, oracle PMF, true paths);
``simulate_to_store(store, config)`` writes them into a store.
"""

from kbayes.sim.climate import (
    CLIMATE,
    ClimateParams,
    climate_params,
    diurnal_shape,
    regime_anomaly,
    seasonal_mean_sd,
)
from kbayes.sim.forecast import ForecastInfo, issue_times, simulate_forecasts
from kbayes.sim.hawkes import HawkesSample, intensity, ogata_thinning, simulate_hawkes
from kbayes.sim.ladder import (
    MarketSpec,
    build_ladder,
    event_ticker,
    interior_edges,
    ladder_center,
    ladder_specs,
)
from kbayes.sim.market import (
    EventInputs,
    EventTape,
    MarketParams,
    activity,
    simulate_event_market,
)
from kbayes.sim.orchestrate import SimConfig, SimResult, simulate, simulate_to_store
from kbayes.sim.posterior import (
    EventPaths,
    MCDraws,
    bracket_pmf,
    gls_stats,
    max_cdf,
    mc_draws,
    theta_posterior,
)
from kbayes.sim.seeds import STREAMS, city_code, rng_for, seed_sequence
from kbayes.sim.weather import (
    DayModel,
    WeatherBatch,
    simulate_weather,
    station_reports,
)

__all__ = [
    "CLIMATE",
    "STREAMS",
    "ClimateParams",
    "DayModel",
    "EventInputs",
    "EventPaths",
    "EventTape",
    "ForecastInfo",
    "HawkesSample",
    "MCDraws",
    "MarketParams",
    "MarketSpec",
    "SimConfig",
    "SimResult",
    "WeatherBatch",
    "activity",
    "bracket_pmf",
    "build_ladder",
    "city_code",
    "climate_params",
    "diurnal_shape",
    "event_ticker",
    "gls_stats",
    "intensity",
    "interior_edges",
    "issue_times",
    "ladder_center",
    "ladder_specs",
    "max_cdf",
    "mc_draws",
    "ogata_thinning",
    "regime_anomaly",
    "rng_for",
    "seasonal_mean_sd",
    "seed_sequence",
    "simulate",
    "simulate_event_market",
    "simulate_forecasts",
    "simulate_hawkes",
    "simulate_to_store",
    "simulate_weather",
    "station_reports",
    "theta_posterior",
]
