"""The nowcast kind's hazard calibration and day-ahead prior pool: fitted on training only.

Guards: change the test split's observations and outcomes and the fitted hazard map and pool
weight stay bit-identical; change a training day and they move (so the tests can fail). The
reliability table is checked against a brute-force count.
"""

from __future__ import annotations

import copy
import datetime as dt

import jax
import numpy as np
import pandas as pd
import pytest

from experiments.nowcast import (
    DEFAULTS,
    PriorRow,
    fit_hazard_map,
    fit_prior_on_train,
    reliability_table,
)
from models.tmax_ar.fit import FitConfig, NutsFit, fit_nuts
from models.tmax_ar.gap_5min import DEFAULT_GAP
from models.tmax_ar.grid import TENTHS, DayObs
from models.tmax_ar.simulate import simulate_days

N_DAYS = 8
N_TRAIN = 5


def test_reliability_table_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(0, 1, 500), [0.0, 0.1, 0.2, 0.5, 0.9, 1.0, 1.0]])
    y = (rng.random(len(p)) < p**2).astype(float)
    tab, _ = reliability_table(p, y, 10)
    expect = []
    for j in range(10):
        lo, hi = j / 10, (j + 1) / 10
        inside = [
            (pi, yi) for pi, yi in zip(p, y, strict=True) if lo <= pi < hi or (j == 9 and pi == 1.0)
        ]
        if inside:
            n = len(inside)
            expect.append(
                (
                    f"{lo:.1f}-{hi:.1f}",
                    n,
                    round(sum(a for a, _ in inside) / n, 4),
                    round(sum(b for _, b in inside) / n, 4),
                )
            )
    assert list(tab.itertuples(index=False, name=None)) == expect
    assert tab["n"].sum() == len(p)


@pytest.fixture(scope="module")
def sim_fit() -> tuple[DayObs, np.ndarray, NutsFit]:
    sim = simulate_days(21, N_DAYS, gap_frac=0.0, whole_frac=0.0)
    dates = [dt.date(2025, 7, 1) + dt.timedelta(days=i) for i in range(N_DAYS)]
    grid = DayObs(["KNYC"] * N_DAYS, dates, np.asarray(sim.data.y), np.asarray(sim.data.kind))
    data = sim.data._replace(
        y=sim.data.y[:N_TRAIN],
        kind=sim.data.kind[:N_TRAIN],
        base=sim.data.base[:N_TRAIN],
        station=sim.data.station[:N_TRAIN],
    )
    fit = fit_nuts(jax.random.PRNGKey(0), data, FitConfig(20, 20, 2, max_tree_depth=3))
    return grid, np.asarray(sim.data.base), fit


def _params() -> dict:
    p = copy.deepcopy(DEFAULTS)
    p["nowcast"] = {"n_paths": 200, "n_candidates": 400}
    p["hazard"]["eval_hours"] = [8, 10, 12, 13, 14, 15, 16, 18]
    return p


def _map(grid: DayObs, base: np.ndarray, fit: NutsFit):
    train = np.arange(N_DAYS) < N_TRAIN
    return fit_hazard_map(
        jax.random.PRNGKey(5),
        fit.posterior,
        DEFAULT_GAP,
        {"NY": grid},
        {"NY": base},
        {"NY": 0},
        {"NY": train},
        _params(),
    )


def _raise_afternoon(grid: DayObs, day: int) -> DayObs:
    """Day ``day`` gets a new high after 12:00 LST: its hazard outcomes change."""
    y = grid.y.copy()
    kind = grid.kind.copy()
    y[day, 12 * 12 :] += 4.0
    kind[day, :] = TENTHS
    return grid._replace(y=y, kind=kind)


def test_hazard_map_uses_training_days_only(sim_fit) -> None:
    grid, base, fit = sim_fit
    cal, train_rows = _map(grid, base, fit)
    # Every test day's observations and outcomes changed: the map is bit-identical.
    test_changed = grid
    for d in range(N_TRAIN, N_DAYS):
        test_changed = _raise_afternoon(test_changed, d)
    test_changed = test_changed._replace(
        y=np.where(np.arange(N_DAYS)[:, None] >= N_TRAIN, test_changed.y[::-1], test_changed.y)
    )
    cal2, train_rows2 = _map(test_changed, base, fit)
    assert cal2 == cal
    pd.testing.assert_frame_equal(train_rows2, train_rows)
    assert cal.n_train == len(train_rows) > 0
    assert set(train_rows["date"]) <= set(grid.dates[:N_TRAIN])
    # A training day's outcomes changed: the map moves (the guard test can fail).
    cal3, _ = _map(_raise_afternoon(grid, 1), base, fit)
    assert cal3 != cal


def _prior_rows(seed: int) -> list[PriorRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(30):
        pm, pc = rng.dirichlet(np.full(6, 0.5)), rng.dirichlet(np.full(6, 3.0))
        rows.append(
            PriorRow(
                "train" if i < 20 else "test",
                int(rng.integers(6)),
                pm,
                pc,
                np.array([80, 81]),
                (78, np.array([0.5, 0.5])),
                80,
                (i, i, i),
            )
        )
    return rows


def test_prior_pool_weight_uses_training_events_only() -> None:
    rows = _prior_rows(3)
    blend = fit_prior_on_train(rows)
    changed = [
        r._replace(outcome=(r.outcome + 1) % 6, p_model=r.p_model[::-1]) if r.split == "test" else r
        for r in rows
    ]
    assert fit_prior_on_train(changed) == blend
    assert blend is not None and blend.n_train == 20 and 0.0 < blend.weight < 1.0
    moved = [r._replace(outcome=(r.outcome + 1) % 6) if i == 0 else r for i, r in enumerate(rows)]
    assert fit_prior_on_train(moved) != blend
    assert fit_prior_on_train([r for r in rows if r.split == "test"]) is None
