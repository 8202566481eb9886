"""Train-only fitting: the test split's outcomes and observations cannot move a fitted value.

Each test runs a kind on a small simulated store and on a copy in which every test-split
event's outcome (Kalshi result, expiration value, event outcome, official high) and all its
observations (trades, book, 5-minute reports, daily and hourly forecasts) are changed
(:func:`tests.experiment.guard_data.alter_test_split`). Then, bit for bit, every fitted
quantity the run records (forecast sigma, fusion weights, calibration maps, the UKF's noise
scales and variance profile, the gap model, the prior pool weight, the hazard calibration, the
NUTS inputs and posterior) and every training-split PMF are unchanged; as a control, the
test-split PMFs do change.
"""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pytest

from tests.experiment.guard_data import KindOutput, probs_by_row, run
from tests.experiment.test_guards_lookahead import (
    BASELINES,
    BRACKET_FAST,
    BRACKET_FULL,
    DECISIONS,
    NOWCAST,
    calibrate_params,
)

# Entries of ``fitted`` that summarise the test split or the run, not a fitted value.
NOT_FITTED = {"hazard60", "tmax_ar_fit_s", "_nuts_inputs", "bracket_pmf_steps"}


def assert_train_only(a: KindOutput, b: KindOutput, responsive: set[str]) -> None:
    fa = {k: v for k, v in a.fitted.items() if k not in NOT_FITTED}
    fb = {k: v for k, v in b.fitted.items() if k not in NOT_FITTED}
    assert fa, "nothing fitted"
    diff = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
    assert not diff, (
        f"fitted values moved with the test split: {diff}: {fa.get(diff[0])} -> {fb.get(diff[0])}"
    )
    split = dict(zip(a.forecasts["event_ticker"], a.forecasts["split"], strict=True))
    assert set(split.values()) == {"train", "test"}
    pa, pb = probs_by_row(a.forecasts), probs_by_row(b.forecasts)
    train = {k for k in pa if split[k[2]] == "train"}
    assert train == {k for k in pb if split[k[2]] == "train"}
    moved = sorted(k for k in train if pa[k] != pb[k])
    assert not moved, f"{len(moved)} training PMFs moved with the test split, e.g. {moved[:3]}"
    changed = {k[0] for k in pa.keys() & pb.keys() if split[k[2]] == "test" and pa[k] != pb[k]}
    missing = responsive - changed
    assert not missing, f"control: no test-split PMF changed for {sorted(missing)}"


def test_baselines_fit_sigma_on_training_events_only() -> None:
    a = run("baselines", "base", BASELINES, DECISIONS)
    b = run("baselines", "test_altered", BASELINES, DECISIONS)
    assert set(a.fitted["forecast_normal_sigma_f"]) == set(DECISIONS)
    assert_train_only(a, b, {"market_last", "market_vwap30", "forecast_normal"})


@pytest.mark.parametrize(
    "params",
    [BRACKET_FAST, pytest.param(BRACKET_FULL, marks=pytest.mark.slow)],
    ids=["fusions", "full"],
)
def test_bracket_pmf_fits_on_training_events_only(params: dict) -> None:
    a = run("bracket_pmf", "base", params, DECISIONS)
    b = run("bracket_pmf", "test_altered", params, DECISIONS)
    expected = {"dirichlet_fusion_weights", "loglinear_pool_weights"}
    if "ukf" in params["models"]:
        expected |= {"bracket_pmf_params"}
        # the variance profile is fitted (not held at its constant-rate default)
        assert a.fitted["bracket_pmf_params"]["q_day1"] != 0.0
    assert expected <= set(a.fitted)
    assert_train_only(a, b, set(params["models"]))


@pytest.mark.parametrize(
    "source", ["market_last", pytest.param("forecast_normal", marks=pytest.mark.slow)]
)
def test_calibrate_fits_maps_on_training_events_only(source: str) -> None:
    params = calibrate_params(source)
    a = run("calibrate", "base", params, DECISIONS)
    b = run("calibrate", "test_altered", params, DECISIONS)
    assert {"temperature", "dirichlet_lambda"} <= set(a.fitted)
    models = {source} | {
        f"{source}+{m}" for m in ("temperature", "dirichlet", "platt", "beta", "isotonic")
    }
    assert_train_only(a, b, models)


# Enough complete training days for the gap model to be fitted, not its default; every day's
# baseline is the diurnal curve fitted on training days (a forecast path is fitted on nothing).
NOWCAST_FIT = {**NOWCAST, "gap": {"min_coverage": 0.5}, "baseline": {"use_forecast": False}}


def test_nowcast_fits_on_training_days_only() -> None:
    a = run("nowcast", "base", NOWCAST_FIT, DECISIONS, fake_nuts=True)
    b = run("nowcast", "test_altered", NOWCAST_FIT, DECISIONS, fake_nuts=True)
    assert a.fitted["gap"]["n_days"] >= 5, a.fitted["gap"]
    for name, x, y in zip(
        a.fitted["_nuts_inputs"]._fields,
        a.fitted["_nuts_inputs"],
        b.fitted["_nuts_inputs"],
        strict=True,
    ):
        assert np.array_equal(x, y), f"NUTS input {name} moved with the test split"
    assert_train_only(a, b, {"tmax_ar", "persistence", "rmax_plus_rise"})


@pytest.mark.slow
def test_nowcast_nuts_posterior_is_fitted_on_training_days_only() -> None:
    a = run("nowcast", "base", NOWCAST_FIT, DECISIONS)
    b = run("nowcast", "test_altered", NOWCAST_FIT, DECISIONS)
    post = [az.from_netcdf(Path(o.out_dir) / "tmax_ar_posterior.nc").posterior for o in (a, b)]
    assert list(post[0].data_vars) == list(post[1].data_vars)
    for name in post[0].data_vars:
        assert np.array_equal(post[0][name].values, post[1][name].values), name
    assert_train_only(a, b, {"tmax_ar", "persistence", "rmax_plus_rise"})
