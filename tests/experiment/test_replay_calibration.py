"""The replay kind's stream calibration is fitted on training events only.

Scramble everything the test events could leak (their outcomes and their tick tables):
the fitted temperature is bit-identical. Feeding the test events to the fit (the broken
guard) does change it, so the check can fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

import jax
import numpy as np
import pandas as pd
import pytest

from experiments.replay import component_factory, fit_stream_calibration
from kbayes.experiment.config import DecisionTime
from kbayes.experiment.data import load_events
from kbayes.io.store import DuckDBStore
from kbayes.runner.replay import EventRef, ReplayParams, replay_events
from kbayes.sim import SimConfig, simulate_to_store

DAY = dt.date(2025, 1, 6)
DECISIONS = tuple(DecisionTime.parse(x) for x in ("T-1 20:00", "08:00", "11:00", "14:00"))


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    store = DuckDBStore(":memory:")
    simulate_to_store(store, SimConfig(start=DAY, n_days=4, cities=("NY",), n_mc=16,
                                       n_prior_years=0, seed=9))  # fmt: skip
    data = load_events(store, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2))
    refs = [EventRef(e.event_ticker, tuple(e.ladder.tickers), e.city, e.date) for e in data.events]
    out = tmp_path_factory.mktemp("replay")
    with jax.enable_x64(True):
        build = component_factory(DECISIONS, ukf={}, tick_s=600.0)
        replay_events(store, refs, build, out, ReplayParams(tick_s=600.0))
    store.close()
    ctx = SimpleNamespace(
        out_dir=out, data=data, config=SimpleNamespace(decision_times=DECISIONS),
        note=lambda text: None,
    )  # fmt: skip
    return ctx, refs


def test_the_map_ignores_test_outcomes_and_tick_tables(replayed) -> None:
    ctx, refs = replayed
    split = {e.event_ticker: e.split for e in ctx.data.events}
    train = [r for r in refs if split[r.event_ticker] == "train"]
    test = [r for r in refs if split[r.event_ticker] == "test"]
    assert len(train) == 2 and test
    fitted = fit_stream_calibration(ctx, train)
    assert fitted is not None and np.isfinite(fitted.temperature)
    rng = np.random.default_rng(0)
    for r in test:  # scramble the test days' PMF stream
        path = ctx.out_dir / "features" / f"{r.event_ticker}.parquet"
        df = pd.read_parquet(path)
        df["pmf"] = rng.dirichlet(np.ones(len(r.tickers)), len(df) // len(r.tickers)).ravel()
        df.to_parquet(path, index=False)
    events = [
        dataclasses.replace(e, outcome=(e.outcome + 1) % len(e.ladder)) if e.split == "test"
        else e
        for e in ctx.data.events
    ]  # fmt: skip
    assert fit_stream_calibration(_with(ctx, events), train) == fitted
    # A test event handed to the fit without its outcome is refused ...
    with pytest.raises(KeyError):
        fit_stream_calibration(_with(ctx, events), train + test)
    # ... and the broken guard (test days labelled train) moves the map: the check can fail.
    as_train = [dataclasses.replace(e, split="train") for e in events]
    leaked = fit_stream_calibration(_with(ctx, as_train), train + test)
    assert leaked is not None and leaked.temperature != fitted.temperature


def _with(ctx: SimpleNamespace, events: list) -> SimpleNamespace:
    return SimpleNamespace(**{**vars(ctx), "data": dataclasses.replace(ctx.data, events=events)})
