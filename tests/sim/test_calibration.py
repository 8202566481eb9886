"""Statistical checks on the default demo: the market's PMF is calibrated against the truth.

Each test also runs a negative control (a distorted PMF on the same data) to show that the
tolerance is tight enough to fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbayes.sim import SimConfig, SimResult
from tests.sim.helpers import climatology_pmf, ece, log_loss, mid_pmf

#: Decision times, hours from 00:00 LST of the climate day (-4 = 20:00 the evening before).
HOURS = [-4, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22]
ECE_TOL = 0.025

pytestmark = pytest.mark.slow


def _power(p: np.ndarray, a: float) -> np.ndarray:
    q = p**a
    return q / q.sum(axis=1, keepdims=True)


def test_default_demo_is_the_default_config(demo: SimResult) -> None:
    # Its CPU time (target < 20 s) is a benchmark: benchmarks/bench_sim.py.
    assert len(demo.events) == 180 and demo.config == SimConfig()


def test_market_mid_pmf_is_calibrated(demo: SimResult) -> None:
    p, y, _ = mid_pmf(demo, HOURS)
    assert len(p) >= 2000 and (y.sum(axis=1) == 1).all()
    assert np.allclose(p.sum(axis=1), 1.0)
    assert ece(p, y) < ECE_TOL
    # negative controls: over- and under-confident versions of the same quotes fail
    assert ece(_power(p, 2.0), y) > ECE_TOL
    assert ece(_power(p, 0.6), y) > ECE_TOL
    assert ece(np.roll(p, 1, axis=1), y) > ECE_TOL


def test_market_beats_climatology_and_sharpens_through_the_day(demo: SimResult) -> None:
    p, y, keys = mid_pmf(demo, HOURS)
    clim = climatology_pmf(demo, keys)
    assert log_loss(p, y) < log_loss(clim, y) - 0.5
    by_hour = {h: log_loss(p[keys["h"] == h], y[keys["h"] == h]) for h in HOURS}
    assert by_hour[-4] > by_hour[12] > by_hour[16] > by_hour[20]
    assert by_hour[22] < 0.3  # the high is all but known by late evening


def test_oracle_pmf_is_calibrated_and_better_than_the_market(demo: SimResult) -> None:
    p, y, keys = mid_pmf(demo, HOURS)
    dec = keys.merge(demo.events[["event_ticker", "window_start"]], on="event_ticker", how="left")
    dec["t"] = dec["window_start"] + pd.to_timedelta(dec["h"], unit="h")
    fair = demo.fair.copy()
    fair["j"] = fair.groupby(["event_ticker", "ts"]).cumcount()
    wide = fair.pivot_table(index=["event_ticker", "ts"], columns="j", values="p").reset_index()
    wide = wide.sort_values("ts")
    m = pd.merge_asof(
        dec.reset_index().sort_values("t"), wide, left_on="t", right_on="ts", by="event_ticker"
    ).sort_values("index")
    q = m[list(range(p.shape[1]))].to_numpy(float)
    assert np.allclose(q.sum(axis=1), 1.0)
    assert ece(q, y) < 0.02
    assert log_loss(q, y) < log_loss(p, y)  # quote noise costs the market a little


def test_daily_forecast_error_shrinks_with_lead(demo: SimResult) -> None:
    fd = demo.forecast_daily.merge(
        demo.official_highs[["station", "date", "tmax_f"]].rename(
            columns={"date": "target_date", "tmax_f": "official"}
        ),
        on=["station", "target_date"],
    )
    err = (fd["official"] - fd["tmax_f"]).astype(float)
    sd = err.groupby(fd["lead_days"].astype(float)).std()
    assert sd[0.0] < sd[1.0] < sd[2.0]
    assert abs(err.mean()) < 0.5  # the published forecast is unbiased for the official high
