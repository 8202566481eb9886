"""The day-ahead prior's pool weight is fitted on earlier-year days only.

Not on the training events (the NUTS posterior was fitted on those days, so the model prior is
in sample there) and not on the test split: the weight is fitted on days of the same calendar
months in years before the data window. The nowcast kind is run on the guard tests' simulated
store (fake NUTS) with :func:`experiments.nowcast.prior_pool` wrapped to record the days it
is asked to score and what it returns. The checks fail if the pool's days reach a training or
test day, or if the recorded weights are fitted on anything but those days (e.g. on the
training events' priors, as the kind did before); changing the test split leaves them
bit-identical.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import experiments.nowcast as nowcast_kind
from experiments.nowcast import (
    PoolDay,
    fit_prior_on_pool,
    prior_pool_dates,
    window_months,
)
from kbayes.scoring import LOG_LOSS_EPS
from tests.experiment.guard_data import START, KindOutput, run_kind, store
from tests.experiment.nowcast_fake import fake_nuts

PARAMS = {
    "fit": {"num_warmup": 3, "num_samples": 3, "num_chains": 1, "max_tree_depth": 2},
    "nowcast": {"n_paths": 64, "n_candidates": 128},
    "hazard": {"eval_hours": [13]},
    "plots": {"n_path_days": 0},
    "baseline": {"use_forecast": False},
    # the simulated store has 6 pool days per city: let June have its own weight
    "prior": {"min_per_month": 3},
}
DECISIONS = ["T-1 20:00", "14:00"]


def _brute_dates(first: dt.date, months: set[int], n_years: int) -> list[dt.date]:
    out = []
    for y in range(first.year - n_years, first.year):
        for m in sorted(months):
            d = dt.date(y, m, 1)
            while d.month == m:
                out.append(d)
                d += dt.timedelta(days=1)
    return sorted(out)


@pytest.mark.parametrize(
    ("first", "months", "n_years"),
    [(dt.date(2025, 4, 1), {4, 5, 6, 7, 8}, 6), (dt.date(2024, 1, 15), {1, 12}, 2)],
)
def test_pool_dates_are_the_same_months_of_earlier_years(first, months, n_years) -> None:
    got = prior_pool_dates(first, months, n_years)
    assert got == _brute_dates(first, months, n_years)
    assert got and max(got) < dt.date(first.year, 1, 1) <= first


def test_window_months_and_bad_inputs() -> None:
    assert window_months(dt.date(2025, 4, 1), dt.date(2025, 8, 18)) == {4, 5, 6, 7, 8}
    assert window_months(dt.date(2024, 11, 30), dt.date(2025, 2, 1)) == {11, 12, 1, 2}
    assert window_months(dt.date(2024, 6, 1), dt.date(2026, 6, 1)) == set(range(1, 13))
    with pytest.raises(ValueError, match="before it starts"):
        window_months(dt.date(2025, 2, 1), dt.date(2025, 1, 1))
    with pytest.raises(ValueError, match="pool_years"):
        prior_pool_dates(dt.date(2025, 1, 1), {1}, -1)
    with pytest.raises(ValueError, match=r"1\.\.12"):
        prior_pool_dates(dt.date(2025, 1, 1), {13}, 1)


def _run(variant: str, out: Path) -> tuple[KindOutput, list[list[dt.date]], list[PoolDay]]:
    asked: list[list[dt.date]] = []
    pool: list[PoolDay] = []
    real = nowcast_kind.prior_pool

    def recording(*args, **kwargs):
        asked.append(list(args[9]))
        got = real(*args, **kwargs)
        pool.extend(got)
        return got

    with contextlib.ExitStack() as stack:
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        fake_nuts(mp)
        mp.setattr(nowcast_kind, "prior_pool", recording)
        res = run_kind("nowcast", store(variant), out, PARAMS, DECISIONS)
    return res, asked, pool


@pytest.mark.slow
def test_prior_pool_weight_is_fitted_on_earlier_years_only(tmp_path: Path) -> None:
    a, asked, pool = _run("base", tmp_path / "a")
    # The days scored for the pool precede every grid day (so every NUTS and test day).
    assert asked and all(d < START for days in asked for d in days)
    assert pool and all(p.date < START for p in pool)
    assert {p.date.month for p in pool} == {START.month}
    # The recorded weights are those of the pool days, and of nothing else.
    blend = fit_prior_on_pool(pool, PARAMS["prior"]["min_per_month"])
    assert blend is not None and str(START.month) in a.fitted["tmax_ar_prior_blend"]["by_month"]
    assert a.fitted["tmax_ar_prior_blend"] == json.loads(json.dumps(blend.as_record()))
    assert a.fitted["tmax_ar_prior_pool"]["n_days"] == len(pool)
    assert a.fitted["tmax_ar_prior_pool"]["last_day"] < START.isoformat()
    # The T-1 20:00 PMFs are the month's pool w p_model + (1 - w) p_clim: the weight is used.
    w = blend.for_month(START.month).weight
    prior = pd.read_csv(a.out_dir / "tmax_ar_prior.csv").set_index("split")
    assert set(prior.index) == {"earlier_years", "train", "test"}
    assert prior.loc["earlier_years", "n_events"] == len(pool)
    pm, pc = np.array([p.p_model for p in pool]), np.array([p.p_clim for p in pool])
    expect = float(-np.log(np.maximum(w * pm + (1 - w) * pc, LOG_LOSS_EPS)).mean())
    assert prior.loc["earlier_years", "log_loss_blend"] == pytest.approx(expect, abs=1e-4)
    # The test split's outcomes and observations cannot move them.
    b, asked_b, pool_b = _run("test_altered", tmp_path / "b")
    assert asked_b == asked and pool_b == pool
    for k in ("tmax_ar_prior_blend", "tmax_ar_prior_pool"):
        assert b.fitted[k] == a.fitted[k], k
