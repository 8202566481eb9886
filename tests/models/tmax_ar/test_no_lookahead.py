"""No look-ahead in the nowcast: what is reported at or after ``t`` cannot move it.

* :func:`steps_before` counts only grid steps whose reports are all stamped before ``t``, for
  any ``t`` (on or off the 5-minute marks) and any report times :func:`day_grid` sees;
* :func:`nowcast` at step ``s_t`` is bit-identical whatever the reports at steps ``>= s_t``
  are (values and kinds changed, gaps filled or opened).

The posterior is a fixed hand-made one (no NUTS: these are statements about the nowcast's
inputs, not about the fit).
"""

from __future__ import annotations

import datetime as dt
import warnings

import jax
import numpy as np
import pandas as pd
import pytest

from kbayes.market.cities import city_of
from models.tmax_ar.fit import Posterior
from models.tmax_ar.gap_5min import GapModel
from models.tmax_ar.grid import MISSING, STEP_MINUTES, STEPS, TENTHS, WHOLE, day_grid, steps_before
from models.tmax_ar.nowcast import NowcastDay, NowcastWarning, nowcast, two_degree_ladder
from models.tmax_ar.simulate import simulate_days

N_DRAWS = 8


@pytest.fixture(scope="module")
def posterior() -> Posterior:
    rng = np.random.default_rng(0)
    n = N_DRAWS
    return Posterior(
        phi_coef=np.array([6.0, 0.0, 0.0]) + 0.05 * rng.standard_normal((n, 3)),
        sigma_coef=np.array([np.log(0.15), 0, 0, 0, 0]) + 0.05 * rng.standard_normal((n, 5)),
        mu_delta=np.full((n, 1), 0.3),
        tau_delta=np.ones((n, 1)),
        u=np.zeros((n, 1)),
        v=np.zeros((n, 1)),
        tau_eta=np.full(n, 0.2),
        obs_jitter_sd=np.full(n, 0.1),
    )


@pytest.fixture(scope="module")
def day() -> NowcastDay:
    d = simulate_days(7, 1, gap_frac=0.1)
    return NowcastDay(
        np.asarray(d.data.y[0]), np.asarray(d.data.kind[0]), np.asarray(d.data.base[0]), 0
    )


def test_steps_before_t_hold_only_reports_stamped_before_t() -> None:
    rng = np.random.default_rng(11)
    city, day = city_of("NY"), dt.date(2024, 6, 3)
    start, _ = city.climate_day_window(day)
    seconds = np.sort(rng.choice(24 * 3600, 600, replace=False))
    ts = pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")
    obs = pd.DataFrame(
        {
            "station": city.station,
            "ts": ts,
            "temp_c": np.round(rng.normal(20.0, 3.0, len(ts)), 1),
            "temp_source": "tenths",
        }
    )
    for _ in range(300):
        t = pd.Timestamp(start) + pd.Timedelta(seconds=int(rng.integers(-3600, 25 * 3600)))
        s_t = steps_before(city, day, t)
        before = obs[obs["ts"] < t]
        g = day_grid(before, city, [day])
        full = day_grid(obs, city, [day])
        # The steps before s_t see exactly what they would if nothing after t existed.
        assert np.array_equal(g.kind[0, :s_t], full.kind[0, :s_t]), t
        assert np.array_equal(g.y[0, :s_t], full.y[0, :s_t]), t
        # ... and no step is dropped that lies entirely before t.
        minutes = (t - pd.Timestamp(start)).total_seconds() / 60
        assert s_t == int(np.clip(minutes // STEP_MINUTES, 0, STEPS)), t
    # On the 5-minute marks: every step stamped before t.
    assert steps_before(city, day, city.lst_time(day, 11)) == 11 * 12
    assert steps_before(city, day, city.lst_time(day, 20, 0, -1)) == 0


@pytest.mark.parametrize("s_t", [0, 1, 100, 151, STEPS - 1])
def test_nowcast_is_blind_to_reports_at_and_after_t(
    posterior: Posterior, day: NowcastDay, s_t: int
) -> None:
    rng = np.random.default_rng(s_t)
    y, kind = day.y.copy(), day.kind.copy()
    y[s_t:] = y[s_t:] + rng.normal(3.0, 2.0, STEPS - s_t)
    kind[s_t:] = rng.choice([MISSING, TENTHS, WHOLE], STEPS - s_t)
    later = day._replace(y=y, kind=kind)
    ladder = two_degree_ladder(int(day.base.max() * 1.8 + 32))
    gap = GapModel(0.8, 0.3, 10, 0)
    key = jax.random.PRNGKey(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NowcastWarning)
        a = nowcast(key, posterior, gap, day, s_t, ladder, 64, 128)
        b = nowcast(key, posterior, gap, later, s_t, ladder, 64, 128)
    assert np.array_equal(a.pmf, b.pmf)
    assert np.array_equal(a.high_f, b.high_f)
    assert np.array_equal(a.hazard, b.hazard)
    assert np.array_equal(a.quantiles, b.quantiles)
    assert np.array_equal(a.paths, b.paths)
    assert (a.running_max_c, a.n_obs, a.ess) == (b.running_max_c, b.n_obs, b.ess)
    # Control: the same change one step earlier is seen.
    if s_t > 0:
        earlier = day._replace(
            y=np.where(np.arange(STEPS) >= s_t - 1, y + 5.0, day.y),
            kind=np.where(np.arange(STEPS) >= s_t - 1, TENTHS, day.kind),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NowcastWarning)
            c = nowcast(key, posterior, gap, earlier, s_t, ladder, 64, 128)
        assert not np.array_equal(a.paths, c.paths)
