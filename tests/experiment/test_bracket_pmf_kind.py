"""The ``bracket_pmf`` kind on a small simulated config, row for row against ``baselines``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kbayes.experiment.config import ConfigError, parse_config
from kbayes.experiment.runner import run_experiment

MODELS = ("ukf", "pf", "market_last", "dirichlet_fusion", "loglinear_pool")

REPO = Path(__file__).resolve().parents[2]
SIM = {"start": "2024-01-01", "n_days": 6, "cities": ["NY", "CHI"]}


def _config(tmp_path: Path, kind: str, params: dict) -> dict:
    return {
        "name": f"small_{kind}",
        "kind": kind,
        "seed": 3,
        "data": {"source": "sim", "sim": dict(SIM)},
        "split": {"train_end": "2024-01-03"},
        "decision_times": ["T-1 20:00", "08:00", "11:00", "14:00", "17:00"],
        "params": params,
        "output": str(tmp_path / kind),
    }


LIGHT = {
    "models": ["ukf", "market_last"],
    "market": {"source": "auto"},
    "fit": {"enabled": False},
    "batch_events": 8,
    "plots": {"num_days": 0},
}
FULL = {
    "market": {"source": "auto"},
    "weather": {"provider": "sim"},
    "fit": {"max_events": 4, "num_iters": 3},
    "pf": {"num_particles": 100, "splits": ["train", "test"]},
    "batch_events": 8,
    "plots": {"num_days": 1},
}


@pytest.mark.parametrize(
    "params", [LIGHT, pytest.param(FULL, marks=pytest.mark.slow)], ids=["light", "full"]
)
def test_kind_runs_and_market_last_matches_baselines(tmp_path: Path, params: dict) -> None:
    res, out = run_experiment(parse_config(_config(tmp_path, "bracket_pmf", params)))
    base, base_out = run_experiment(
        parse_config(
            _config(tmp_path, "baselines", {"models": ["market_last"], "forecast_normal": {}})
        )
    )
    assert set(res["model"]) == set(params.get("models", MODELS))
    f = pd.read_parquet(out / "forecasts.parquet")
    g = pd.read_parquet(base_out / "forecasts.parquet")
    keys = ["decision_time", "event_ticker", "k"]
    mine = f[f["model"] == "market_last"].sort_values(keys).reset_index(drop=True)
    ref = g[g["model"] == "market_last"].sort_values(keys).reset_index(drop=True)
    assert len(mine) == len(ref) > 0
    pd.testing.assert_frame_equal(mine, ref)
    scored = ["decision_time", "city", "split", "n_events", "log_loss", "brier", "rps"]
    pd.testing.assert_frame_equal(
        res[res["model"] == "market_last"][scored].reset_index(drop=True),
        base[scored].reset_index(drop=True),
    )
    # Every model scores the same event-times; every PMF is a proper PMF inside (0, 1).
    n = f.groupby("model")["event_ticker"].count()
    assert n.nunique() == 1
    sums = f.groupby(["model", "decision_time", "event_ticker"])["prob"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-9)
    assert (f["prob"] > 0).all() and (f["prob"] < 1).all()
    assert (out / "vs_market_last.csv").is_file()
    if params["plots"]["num_days"]:
        assert (out / "pmf_over_day.png").is_file()


def test_unknown_model_and_bad_market_options_are_config_errors(tmp_path: Path) -> None:
    for params, match in (
        ({"models": ["ukf", "nope"]}, "unknown model"),
        ({"market": {"source": "tape"}}, "market.source"),
        ({"market": {"observe": "sometimes"}}, "observe"),
    ):
        with pytest.raises(ConfigError, match=match):
            run_experiment(parse_config(_config(tmp_path, "bracket_pmf", params)))


def test_shipped_configs_parse() -> None:
    for name in ("bracket_pmf_real.yaml", "bracket_pmf_demo.yaml"):
        raw = yaml.safe_load((REPO / "configs" / name).read_text())
        assert parse_config(raw).kind == "bracket_pmf"
