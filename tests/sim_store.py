"""A small simulated store for pipeline tests (one city, a few days, cheap posterior)."""

from __future__ import annotations

import datetime as dt

from kbayes.io.store import DuckDBStore
from kbayes.sim import SimConfig, simulate_to_store

DAY = dt.date(2025, 1, 6)


def simulated_store(n_days: int, seed: int, start: dt.date = DAY) -> DuckDBStore:
    """An in-memory store with ``n_days`` simulated New York days (close it when done)."""
    store = DuckDBStore(":memory:")
    config = SimConfig(start=start, n_days=n_days, cities=("NY",), n_mc=16, n_prior_years=0,
                       seed=seed)  # fmt: skip
    simulate_to_store(store, config)
    return store
