"""The UKF component in the runner equals the batch builder + scanned tracker at decisions."""

from __future__ import annotations

import datetime as dt

import jax
import numpy as np
import pandas as pd
import pytest

from kbayes.market.cities import city_of
from kbayes.market.events import utc_to_ns
from kbayes.runner import LadderSpec, TopColumns
from kbayes.runner.replay import EventRef, ReplayParams, replay_events
from models.bracket_pmf.component import UKFComponent
from models.bracket_pmf.params import default_params
from models.bracket_pmf.steps import build_event_steps
from models.bracket_pmf.tracker import track, ukf_tracker
from tests.sim_store import simulated_store

DAY = dt.date(2025, 1, 6)
HOURS = (8, 11, 14, 17)


@pytest.fixture(scope="module")
def sim_store():
    store = simulated_store(1, 21)
    yield store
    store.close()


@pytest.mark.slow  # two XLA compilations and a day of ticks (~40 s here)
def test_runner_ukf_pmf_equals_the_batch_tracker_at_decisions(sim_store, tmp_path) -> None:
    m = sim_store.query("SELECT event_ticker, ticker, city, lo_f FROM markets")
    m = m.sort_values("lo_f", na_position="first")
    ref = EventRef(str(m.event_ticker.iloc[0]), tuple(m.ticker), str(m.city.iloc[0]), DAY)
    city = city_of(ref.city)
    decisions = [city.lst_time(DAY, h) for h in HOURS]
    close = city.lst_time(DAY, 0, 0, 1)
    with jax.enable_x64(True):
        params = default_params()

        def components(spec: LadderSpec):
            ukf = UKFComponent(spec.tickers, utc_to_ns(close), params,
                               [utc_to_ns(d) for d in decisions])  # fmt: skip
            return [TopColumns(), ukf]

        stats = replay_events(sim_store, [ref], components, tmp_path, ReplayParams(tick_s=60))
        df = pd.read_parquet(stats.paths[0])
        trades = sim_store.query(f"SELECT * FROM trades WHERE event_ticker = '{ref.event_ticker}'")
        book = sim_store.query(f"SELECT * FROM book_top WHERE event_ticker = '{ref.event_ticker}'")
        batch = build_event_steps(ref.tickers, trades, [pd.Timestamp(d) for d in decisions],
                                  pd.Timestamp(close), book=book)  # fmt: skip
        _, info = track(ukf_tracker(params, len(ref.tickers), with_pmf=True), batch.steps)
        want = np.asarray(info.pmf)[batch.decision_index]
    k_num = len(ref.tickers)
    for d, w in zip(decisions, want, strict=True):
        got = df.loc[df["t"] == pd.Timestamp(d), "pmf"].to_numpy()
        assert got.shape == (k_num,)
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-12)
    assert df["pmf"].notna().any()
