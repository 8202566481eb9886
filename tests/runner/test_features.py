"""The runner's feature columns equal each feature's batch twin over the tick table.

The replay of a simulated day writes per-tick columns from the online steps; the research
path recomputes them from the ``mid`` column alone with the vectorised twins. Equal columns
mean a tick table is the research frame of the same numbers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from experiments.replay import DEFAULTS, component_factory
from kbayes.features.cusum import CusumParams, SeriesObsBatch, cusum_batch
from kbayes.features.flow import FlowParams, flow_batch, trade_arrays
from kbayes.features.kinematics import EwmParams, GridObsBatch, ewm_kinematics_batch
from kbayes.features.ladder_shape import LadderObsBatch, LadderParams, ladder_shape_batch
from kbayes.features.savgol import SavgolParams, savgol_kinematics_batch
from kbayes.io.store import DuckDBStore
from kbayes.market.events import TradePrint
from kbayes.runner.replay import EventRef, ReplayParams, replay_events
from kbayes.sim import SimConfig, simulate_to_store

DAY = dt.date(2025, 1, 6)
TICK_S = 30.0


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> tuple[pd.DataFrame, EventRef]:
    store = DuckDBStore(":memory:")
    simulate_to_store(store, SimConfig(start=DAY, n_days=1, cities=("NY",), n_mc=16,
                                       n_prior_years=0, seed=5))  # fmt: skip
    m = store.query("SELECT event_ticker, ticker, city, lo_f, hi_f FROM markets")
    m = m.sort_values("lo_f", na_position="first")
    mids = tuple(float(x) for x in np.arange(len(m)) * 2.0 + 40.0)
    ref = EventRef(str(m.event_ticker.iloc[0]), tuple(m.ticker), str(m.city.iloc[0]), DAY, mids)
    out = tmp_path_factory.mktemp("replay")
    build = component_factory(tick_s=TICK_S)
    stats = replay_events(store, [ref], build, out, ReplayParams(tick_s=TICK_S))
    trades = store.query(f"SELECT * FROM trades WHERE event_ticker = '{ref.event_ticker}'")
    store.close()
    return pd.read_parquet(stats.paths[0]), ref, trades


def _close(got: np.ndarray, want: np.ndarray) -> None:
    """Equal to 1e-12 of the series' scale (a decayed EWM near 0 has no relative digits)."""
    scale = np.nanmax(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale)


def _grid(df: pd.DataFrame, k: int, column: str) -> np.ndarray:
    return df[column].to_numpy(dtype=float).reshape(-1, k)


def test_kinematics_columns_equal_the_batch_twins(table) -> None:
    df, ref, _ = table
    k = len(ref.tickers)
    t = df["t"].astype("int64").to_numpy().reshape(-1, k)[:, 0]
    mid = _grid(df, k, "price")
    assert np.isfinite(mid).mean() > 0.5  # a real test: most ticks have a price
    f = DEFAULTS["features"]
    ewm = ewm_kinematics_batch(EwmParams(**f["ewm"]), GridObsBatch(t, mid))
    _close(_grid(df, k, "ewm_velocity"), ewm.velocity)
    _close(_grid(df, k, "ewm_acceleration"), ewm.acceleration)
    sg = savgol_kinematics_batch(
        SavgolParams(f["savgol"]["window"], f["savgol"]["order"], TICK_S), GridObsBatch(t, mid)
    )
    _close(_grid(df, k, "sg_velocity"), sg.velocity)
    cus = cusum_batch(CusumParams(**f["cusum_price"], difference=True), SeriesObsBatch(t, mid))
    # Bit-equal (the batch runs the same recursion): half-cent mids put the statistic exactly
    # on round thresholds, where any rounding difference would flip an alarm.
    np.testing.assert_array_equal(_grid(df, k, "cusum_price_alarm"), cus.alarm)
    np.testing.assert_array_equal(_grid(df, k, "cusum_price_pos"), cus.s_pos)
    lad = ladder_shape_batch(
        LadderParams(ref.midpoints, EwmParams(**f["ewm"])),
        LadderObsBatch(t, mid, _grid(df, k, "ewm_acceleration")),
    )
    _close(_grid(df, k, "rel_accel_mean"), lad.rel_accel_mean)
    _close(_grid(df, k, "centre")[:, 0], lad.centre)


def test_flow_columns_equal_the_batch_twin_over_the_stored_trades(table) -> None:
    df, ref, trades = table
    k = len(ref.tickers)
    t = df["t"].astype("int64").to_numpy().reshape(-1, k)[:, 0]
    f = DEFAULTS["features"]["flow"]
    params = FlowParams(tuple(f["windows_s"]), tuple(f["volume_windows_s"]))
    ts = pd.DatetimeIndex(pd.to_datetime(trades["ts"], utc=True)).as_unit("ns").asi8
    assert len(trades) > 20
    for j, ticker in enumerate(ref.tickers):
        mine = trades["ticker"].to_numpy() == ticker
        prints = sorted(
            TradePrint(int(a), int(a), ticker, int(p), int(c), str(s))
            for a, p, c, s in zip(ts[mine], trades["yes_price_cc"][mine],
                                  trades["count_centi"][mine], trades["taker_side"][mine],
                                  strict=True)
        )  # fmt: skip
        batch = flow_batch(params, trade_arrays(prints), t)
        for i, w in enumerate(params.windows_s):
            got = _grid(df, k, f"buy_{w:g}s")[:, j]
            np.testing.assert_array_equal(got, batch.buy_centi[:, i] / 100)
        for i, w in enumerate(params.volume_windows_s):
            got = _grid(df, k, f"volume_{w:g}s")[:, j]
            np.testing.assert_array_equal(got, batch.volume_centi[:, i] / 100)


def test_a_self_contradicting_candle_is_a_warned_nan_not_a_crash() -> None:
    from kbayes.market.events import Candle
    from kbayes.runner.features import BadCandleWarning, CandleComponent
    from kbayes.state import MarketState

    comp, market = CandleComponent(["A", "B"]), MarketState(["A", "B"])
    good = Candle(60, 60, "A", 0, 4000, 4400, 4000, 4200, 100)
    comp.on_event(good, 0, market)
    with pytest.warns(BadCandleWarning, match=r"close_cc=4500: outside \[low_cc=4000"):
        comp.on_event(good._replace(available_ns=120, ts_ns=120, close_cc=4500), 0, market)
    cols: dict = {}
    comp.on_tick(130, market, None, cols)
    assert np.isnan(cols["clv"][0]) and comp.bad == 1
    comp.on_event(good._replace(available_ns=180, ts_ns=180), 0, market)
    comp.on_tick(190, market, None, cols)
    assert cols["clv"][0] == pytest.approx(0.0)
