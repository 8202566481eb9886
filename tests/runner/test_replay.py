"""The runner over the simulator: columns, determinism, and the decision-time guard."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kbayes.clock import merge, tick_source
from kbayes.clock.merge import RANK_MARKET, Source
from kbayes.io.store import DuckDBStore
from kbayes.market.events import NS_PER_S, Quote, TradePrint
from kbayes.runner import FrameSink, LadderPipeline, LadderSpec, Runner, TopColumns
from kbayes.runner.components import WeatherColumns
from kbayes.runner.replay import EventRef, ReplayParams, replay_events
from tests.sim_store import simulated_store

DAY = dt.date(2025, 1, 6)


@pytest.fixture(scope="module")
def sim_store():
    store = simulated_store(2, 11)
    yield store
    store.close()


def _refs(store: DuckDBStore) -> list[EventRef]:
    m = store.query("SELECT event_ticker, ticker, city, climate_date, lo_f FROM markets")
    out = []
    for ev, g in m.groupby("event_ticker", sort=True):
        g = g.sort_values("lo_f", na_position="first")
        out.append(EventRef(str(ev), tuple(g["ticker"]), str(g["city"].iloc[0]),
                            pd.Timestamp(g["climate_date"].iloc[0]).date()))  # fmt: skip
    return out


def _components(spec: LadderSpec):
    del spec
    return [TopColumns(), WeatherColumns()]


def test_replay_writes_the_tick_table_and_is_byte_identical(sim_store, tmp_path) -> None:
    refs = _refs(sim_store)
    params = ReplayParams(tick_s=60.0)
    a = replay_events(sim_store, refs, _components, tmp_path / "a", params)
    b = replay_events(sim_store, refs, _components, tmp_path / "b", params)
    assert a.n_ticks > 0 and len(a.paths) == len(refs) + 1
    for pa, pb in zip(a.paths, b.paths, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    df = pd.read_parquet(a.paths[0])
    k_num = len(refs[0].tickers)
    assert len(df) % k_num == 0 and (df["t"].diff().dropna() >= pd.Timedelta(0)).all()
    # The simulator quotes every bracket: mids exist and lie inside the quotes.
    ok = df["mid"].notna()
    assert ok.mean() > 0.5
    assert (
        (df.loc[ok, "bid"] <= df.loc[ok, "mid"]) & (df.loc[ok, "mid"] <= df.loc[ok, "ask"])
    ).all()
    # Volume per tick bin sums to the stored trades of the ladder inside the tick range.
    trades = sim_store.query(
        f"SELECT ts, count_centi FROM trades WHERE event_ticker = '{refs[0].event_ticker}'"
    )
    t = pd.to_datetime(trades["ts"], utc=True)
    first, last = df["t"].min(), df["t"].max()
    inside = trades["count_centi"][(t >= first) & (t < last)]
    assert df["volume"][df["t"] > first].sum() == pytest.approx(inside.sum() / 100)
    assert df["high_f"].notna().any()


def test_a_tick_sees_only_what_was_available_strictly_before_it() -> None:
    """A trade and a quote available exactly at a tick belong to the next tick's bin."""
    t = 1_000 * 60 * NS_PER_S
    spec = LadderSpec("E", ("A",), "", 0, 10 * t, 0, 10 * t)
    pipe = LadderPipeline(spec, [TopColumns()])
    sink = FrameSink()
    market = [
        Quote(t - 1, t - 1, "A", 4000, 4200),
        TradePrint(t, t, "A", 4100, 300, "yes"),
        Quote(t, t, "A", 5000, 5200),
    ]
    Runner([pipe], sink).run(merge([Source("m", RANK_MARKET, market),
                                    tick_source(t, t + 60 * NS_PER_S, 60.0)]))  # fmt: skip
    df = sink.frame("E")
    assert df["mid"].tolist() == [pytest.approx(0.41), pytest.approx(0.51)]
    assert df["volume"].tolist() == [0.0, 3.0]


def test_bad_replay_params_name_the_field() -> None:
    with pytest.raises(ValueError, match="tick_s=0"):
        ReplayParams(tick_s=0).check()
    with pytest.raises(ValueError, match="lead_hours=-1"):
        ReplayParams(lead_hours=-1).check()
    assert np.isfinite(ReplayParams().tick_s)
