"""Nowcast consistency: PMF above the running max, hazard limits, thin-data behaviour."""

from __future__ import annotations

import datetime as dt
import warnings

import jax
import numpy as np
import pandas as pd
import pytest

from models.tmax_ar.baseline import BaselineWarning, baseline_paths, fit_diurnal
from models.tmax_ar.gap_5min import DEFAULT_GAP
from models.tmax_ar.grid import MISSING, STEPS, DayObs
from models.tmax_ar.nowcast import NowcastDay, NowcastWarning, nowcast, two_degree_ladder
from models.tmax_ar.simulate import simulate_days


@pytest.fixture(scope="module")
def day() -> NowcastDay:
    d = simulate_days(5, 1, gap_frac=0.0)
    return NowcastDay(
        np.asarray(d.data.y[0]), np.asarray(d.data.kind[0]), np.asarray(d.data.base[0]), 0
    )


def _check(nc) -> None:
    assert np.isfinite(nc.pmf).all() and abs(nc.pmf.sum() - 1) < 1e-9
    assert np.isfinite(nc.hazard).all() and ((nc.hazard >= 0) & (nc.hazard <= 1)).all()
    assert np.isfinite(nc.quantiles).all()
    assert np.isfinite(nc.paths).all()


@pytest.mark.parametrize("s_t", [60, 150, 200])
def test_pmf_has_no_mass_below_running_max(tiny_fit, day, s_t) -> None:
    ladder = two_degree_ladder(int(day.base.max() * 1.8 + 32))
    nc = nowcast(
        jax.random.PRNGKey(s_t), tiny_fit.posterior, DEFAULT_GAP, day, s_t, ladder, 300, 600
    )
    _check(nc)
    assert nc.running_max_f is not None
    assert nc.high_f.min() >= nc.running_max_f
    for b, p in zip(ladder.brackets, nc.pmf, strict=True):
        if b.hi is not None and b.hi < nc.running_max_f:
            assert p == 0.0
    assert nc.quantiles[0] >= nc.running_max_f


def test_hazard_falls_to_no_rise_limit_late(tiny_fit, day) -> None:
    key = jax.random.PRNGKey(1)
    end = nowcast(key, tiny_fit.posterior, DEFAULT_GAP, day, STEPS, None, 300, 600)
    late = nowcast(key, tiny_fit.posterior, DEFAULT_GAP, day, STEPS - 1, None, 300, 600)
    noon = nowcast(key, tiny_fit.posterior, DEFAULT_GAP, day, 130, None, 300, 600)
    _check(end)
    assert np.all(end.hazard == 0.0)  # no time left: no new high
    # One step left: the 5/15/60-min windows all reduce to that step.
    assert late.hazard[0] == late.hazard[1] == late.hazard[2]
    assert late.hazard[2] <= noon.hazard[2] + 0.05
    assert np.all(np.diff(noon.hazard) >= 0)  # longer windows, more chance


def test_no_reports_yet_warns_and_is_defined(tiny_fit, day) -> None:
    empty = day._replace(kind=np.zeros(STEPS, dtype=int))
    with pytest.warns(NowcastWarning, match="no report"):
        nc = nowcast(jax.random.PRNGKey(2), tiny_fit.posterior, DEFAULT_GAP, empty, 100)
    _check(nc)
    assert nc.running_max_f is None and np.all(nc.hazard == 1.0)
    nc0 = nowcast(jax.random.PRNGKey(2), tiny_fit.posterior, DEFAULT_GAP, day, 0)  # T-1 20:00
    _check(nc0)


def test_long_gap_warns_and_is_defined(tiny_fit, day) -> None:
    kind = day.kind.copy()
    kind[40:200] = MISSING
    with pytest.warns(NowcastWarning, match="long gap"):
        nc = nowcast(
            jax.random.PRNGKey(3), tiny_fit.posterior, DEFAULT_GAP, day._replace(kind=kind), 200
        )
    _check(nc)
    # The gap's paths are free to exceed the reports seen around it.
    assert nc.paths[:, 40:200].std() > 0


def test_missing_forecast_falls_back_with_warning() -> None:
    d = simulate_days(6, 12)
    dates = [dt.date(2025, 6, 1) + dt.timedelta(days=i) for i in range(12)]
    days = DayObs(["KNYC"] * 12, dates, np.asarray(d.data.y), np.asarray(d.data.kind))
    clim = fit_diurnal(days)
    empty = pd.DataFrame(columns=["station", "target_ts", "issued_at", "temp_f"])
    highs = pd.DataFrame(columns=["station", "date", "tmax_f"])
    windows = [(dt.datetime(2025, 6, 1, 5, tzinfo=dt.UTC), None)] * 12
    with pytest.warns(BaselineWarning, match="no hourly forecast"):
        base, src = baseline_paths(days, clim, highs, empty, windows, use_forecast=True)
    assert np.isfinite(base).all() and set(src) == {"climatology"}


def test_1000_paths_after_compile(tiny_fit, day) -> None:
    # The time of this call is a benchmark (benchmarks/bench_nowcast.py), not asserted here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NowcastWarning)
        nowcast(jax.random.PRNGKey(0), tiny_fit.posterior, DEFAULT_GAP, day, 150, None, 1000)
        nc = nowcast(jax.random.PRNGKey(1), tiny_fit.posterior, DEFAULT_GAP, day, 151, None, 1000)
    assert len(nc.high_f) == 1000 and nc.paths.shape == (1000, STEPS)
    _check(nc)
