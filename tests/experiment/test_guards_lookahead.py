"""No look-ahead, at the right decision time: what is stamped at or after ``t`` cannot move
the PMF scored at ``t``.

Each test runs a kind on a small simulated store and on a copy in which, for every test-split
event, everything stamped at or after a cutoff decision instant ``t`` is changed (trades, top of
book, 5-minute reports, daily and hourly forecasts), and rows stamped exactly at ``t`` (and a
report one minute later) are added (:func:`tests.experiment.guard_data.alter_after`). The test
events' cutoffs cycle over the decision times, so each decision time is some event's cutoff.
Then, bit for bit:

* every row at a decision time up to the event's cutoff is unchanged: the PMF scored at ``t``
  saw no data stamped at or after ``t``, and it is the PMF *at* ``t``, not a later one;
* every training event's row is unchanged (nothing fitted moved);
* as a control, rows after the cutoff do change for the models that read the edited data, so
  the edit is one the models see.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.experiment.guard_data import KindOutput, cutoffs, probs_by_row, run

DECISIONS = ["T-1 20:00", "08:00", "11:00", "14:00", "17:00"]
# Off the 5-minute report grid: the report one minute after t shares t's grid step.
NOWCAST_DECISIONS = ["T-1 18:00", "T-1 20:00", "08:00", "10:57", "17:00"]


def assert_blind_after_cutoff(
    a: KindOutput, b: KindOutput, decisions: list[str], responsive: set[str]
) -> None:
    """Rows up to each event's cutoff equal bit for bit; ``responsive`` models move later."""
    cut = cutoffs(decisions)
    pa, pb = probs_by_row(a.forecasts), probs_by_row(b.forecasts)
    order = {d: j for j, d in enumerate(decisions)}

    def guarded(key: tuple[str, str, str]) -> bool:
        _, d, ev = key
        return ev not in cut or order[d] <= cut[ev]

    ga = {k for k in pa if guarded(k)}
    gb = {k for k in pb if guarded(k)}
    assert ga == gb, f"rows up to the cutoff differ: {sorted(ga ^ gb)[:5]}"
    assert ga, "no guarded rows"
    moved = sorted(k for k in ga if pa[k] != pb[k])
    assert not moved, (
        f"{len(moved)} PMFs at or before their cutoff changed with data stamped after it, "
        f"e.g. {moved[:3]}: {pa[moved[0]]} -> {pb[moved[0]]}"
    )
    late = {k for k in pa.keys() & pb.keys() if not guarded(k)}
    changed = {k[0] for k in late if not np.allclose(pa[k], pb[k], rtol=0, atol=1e-12)}
    missing = responsive - changed
    assert not missing, f"control: no row after a cutoff changed for {sorted(missing)}"


BASELINES = {"forecast_normal": {"provider": "sim"}}


def test_baselines_see_nothing_at_or_after_t() -> None:
    a = run("baselines", "base", BASELINES, DECISIONS)
    b = run("baselines", "late", BASELINES, DECISIONS)
    models = {"market_last", "market_vwap30", "climatology", "forecast_normal"}
    assert set(a.forecasts["model"]) == models
    assert_blind_after_cutoff(a, b, DECISIONS, models - {"climatology"})
    assert a.fitted["forecast_normal_sigma_f"] == b.fitted["forecast_normal_sigma_f"]


# Fast: the fusions fitted per decision time (no filter to compile). Full: the UKF with its fit,
# the particle filter and the weather channel on the decision steps.
BRACKET_FAST = {
    "models": ["market_last", "dirichlet_fusion", "loglinear_pool"],
    "weather": {"provider": "sim"},
    "plots": {"num_days": 0},
}
BRACKET_FULL = {
    "models": ["ukf", "pf", "market_last", "dirichlet_fusion", "loglinear_pool"],
    "market": {"source": "auto"},
    "weather": {"provider": "sim", "channel": True},
    "fit": {"max_events": 6, "num_iters": 3},
    "pf": {"num_particles": 64, "splits": ["test"]},
    "batch_events": 8,
    "plots": {"num_days": 0},
}


@pytest.mark.parametrize(
    "params",
    [BRACKET_FAST, pytest.param(BRACKET_FULL, marks=pytest.mark.slow)],
    ids=["fusions", "full"],
)
def test_bracket_pmf_scores_each_decision_time_with_its_own_pmf(params: dict) -> None:
    a = run("bracket_pmf", "base", params, DECISIONS)
    b = run("bracket_pmf", "late", params, DECISIONS)
    assert set(a.forecasts["model"]) == set(params["models"])
    assert_blind_after_cutoff(a, b, DECISIONS, set(params["models"]))
    for key in ("bracket_pmf_params", "dirichlet_fusion_weights", "loglinear_pool_weights"):
        assert a.fitted.get(key) == b.fitted.get(key), key


def calibrate_params(source: str) -> dict:
    return {
        "source": source,
        "source_params": {"forecast_normal": {"provider": "sim"}},
        "dirichlet_cv": False,
        "min_train": 3,
    }


@pytest.mark.parametrize(
    "source", ["market_last", pytest.param("forecast_normal", marks=pytest.mark.slow)]
)
def test_calibrate_scores_each_decision_time_with_its_own_pmf(source: str) -> None:
    params = calibrate_params(source)
    a = run("calibrate", "base", params, DECISIONS)
    b = run("calibrate", "late", params, DECISIONS)
    models = {source} | {
        f"{source}+{m}" for m in ("temperature", "dirichlet", "platt", "beta", "isotonic")
    }
    assert set(a.forecasts["model"]) == models
    assert_blind_after_cutoff(a, b, DECISIONS, models)
    assert a.fitted == b.fitted


NOWCAST = {
    "fit": {"num_warmup": 3, "num_samples": 3, "num_chains": 1, "max_tree_depth": 2},
    "nowcast": {"n_paths": 64, "n_candidates": 128},
    "hazard": {"eval_hours": [13]},
    "plots": {"n_path_days": 0},
}


def test_nowcast_sees_no_report_or_forecast_at_or_after_t() -> None:
    a = run("nowcast", "base", NOWCAST, NOWCAST_DECISIONS, fake_nuts=True)
    b = run("nowcast", "late", NOWCAST, NOWCAST_DECISIONS, fake_nuts=True)
    assert {"tmax_ar", "persistence", "rmax_plus_rise", "climatology"} <= set(a.forecasts["model"])
    assert_blind_after_cutoff(a, b, NOWCAST_DECISIONS, {"tmax_ar", "persistence", "rmax_plus_rise"})
