"""The ``calibrate`` kind end to end on a small simulated config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kbayes.experiment.config import ConfigError, parse_config
from kbayes.experiment.runner import run_experiment

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, **params: object) -> dict:
    raw = yaml.safe_load((REPO / "configs" / "calibrate_sim.yaml").read_text())
    raw["data"]["sim"].update(n_days=24, cities=["NY", "CHI"])
    raw["split"]["train_end"] = "2024-01-16"
    raw["decision_times"] = ["14:00"]
    raw["params"].update({"dirichlet_cv": False, **params})
    raw["output"] = str(tmp_path / "out")
    return raw


def test_real_config_is_valid() -> None:
    raw = yaml.safe_load((REPO / "configs" / "calibrate_real.yaml").read_text())
    config = parse_config(raw)
    assert config.kind == "calibrate"
    assert str(config.split.train_end) == "2024-11-30"
    assert str(config.split.test_start) == "2024-12-01"


def test_bad_params_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"params\.source_params"):
        parse_config(_config(tmp_path, source_params={"nope": 1}))
    with pytest.raises(ConfigError, match=r"params\.source"):
        run_experiment(parse_config(_config(tmp_path, source="oracle")))
    with pytest.raises(ConfigError, match=r"params\.maps"):
        run_experiment(parse_config(_config(tmp_path, maps=["histogram"])))


def test_calibrate_kind_before_and_after(tmp_path: Path) -> None:
    results, out = run_experiment(parse_config(_config(tmp_path)))
    expected = {"market_last"} | {
        f"market_last+{m}" for m in ("temperature", "dirichlet", "platt", "beta", "isotonic")
    }
    assert set(results["model"]) == expected
    test = results[(results["split"] == "test") & (results["city"] == "all")].set_index("model")
    n = test["n_events"]
    assert (n == n["market_last"]).all()  # every model scored on the same events
    train = results[(results["split"] == "train") & (results["city"] == "all")]
    train = train.set_index("model")["log_loss"]
    # fitted on the training split: temperature and Dirichlet (ODIR) cannot be worse there
    # than the identity, which both contain
    assert train["market_last+temperature"] <= train["market_last"] + 1e-9
    assert train["market_last+dirichlet"] <= train["market_last"] + 1e-6
    # the source rows equal the baselines kind's market_last exactly
    fc = pd.read_parquet(out / "forecasts.parquet")
    src = fc[fc["model"] == "market_last"].groupby(["event_ticker"])["prob"].sum()
    assert np.allclose(src, 1.0)
    for model in expected:
        sums = fc[fc["model"] == model].groupby("event_ticker")["prob"].sum()
        assert np.allclose(sums, 1.0), model
    ece = pd.read_csv(out / "calibration_ece.csv")
    assert set(ece["model"]) == expected
    assert set(ece["decision_time"]) == {"14:00", "all"}
    assert ece[["ece_top_label", "ece_all_brackets"]].ge(0).all().all()
    assert (out / "calibration_reliability_multiclass.png").is_file()
    assert (out / "calibration_reliability_binary.png").is_file()


@pytest.mark.slow
def test_source_rows_match_the_baselines_kind(tmp_path: Path) -> None:
    raw = _config(tmp_path, maps=["temperature"])
    cal, _ = run_experiment(parse_config(raw))
    base_raw = {
        **raw,
        "kind": "baselines",
        "output": str(tmp_path / "base"),
        "params": {"models": ["market_last"]},
    }
    base, _ = run_experiment(parse_config(base_raw))
    a = cal[cal["model"] == "market_last"].drop(columns="kind").reset_index(drop=True)
    b = base.drop(columns="kind").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
