"""The ``hawkes`` kind end to end on a tiny simulated config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kbayes.experiment.config import ConfigError, parse_config
from kbayes.experiment.registry import get_kind
from kbayes.experiment.runner import run_experiment

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, **params: object) -> dict:
    raw = yaml.safe_load((REPO / "configs" / "hawkes_sim.yaml").read_text())
    raw["data"]["sim"].update(n_days=3, cities=["NY"])
    raw["split"]["train_end"] = "2024-01-02"
    raw["params"].update({"stderr": False, "max_iter": 150, **params})
    raw["output"] = str(tmp_path / "out")
    return raw


def test_real_config_is_valid() -> None:
    raw = yaml.safe_load((REPO / "configs" / "hawkes_real.yaml").read_text())
    config = parse_config(raw)
    assert config.kind == "hawkes"
    assert set(config.data.cities) == {"NY", "CHI", "MIA", "AUS", "DEN"}
    assert get_kind("hawkes").resolve_params(config.params)["max_days_per_city"] == 30


def test_bad_params_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"params\.neighbors"):
        parse_config(_config(tmp_path, neighbors="both"))
    with pytest.raises(ConfigError, match=r"params\.split"):
        run_experiment(parse_config(_config(tmp_path, split="validation")))
    with pytest.raises(ConfigError, match=r"params\.day_baseline"):
        run_experiment(parse_config(_config(tmp_path, day_baseline="weekly")))


def test_hawkes_kind_reports_per_city(tmp_path: Path) -> None:
    results, out = run_experiment(parse_config(_config(tmp_path)))
    assert results.empty  # no PMF forecasts from this kind
    summary = pd.read_csv(out / "hawkes_summary.csv")
    assert summary["city"].tolist() == ["NY"]
    row = summary.iloc[0]
    assert row["n_days"] == 3 and row["K"] == 6
    # the simulated flow is self-exciting with branching ratio 0.6
    assert 0.3 < row["pooled_rho"] < 0.9
    assert 0.3 < row["day_rho_median"] < 0.95
    assert row["pooled_self"] > row["pooled_neighbour_other"]
    assert row["lr_vs_poisson_per_event"] > 0.1
    assert 30 < row["pooled_delay_s"] < 600
    for col in ("pooled_ks_share_ok", "pooled_shared_ks_share_ok", "day_ks_share_ok"):
        assert 0.0 <= row[col] <= 1.0
    # day factors nest the shared baseline: the pooled fit's KS statistics are reported for both
    assert 0.0 < row["pooled_ks_stat_mean"] < 1.0 and 0.0 < row["pooled_shared_ks_stat_mean"] < 1.0
    per_day = pd.read_csv(out / "hawkes_per_day.csv")
    assert len(per_day) == 3 and np.all(per_day["n_events"] > 100)
    assert (out / "hawkes_roles.png").stat().st_size > 0
    assert (out / "hawkes_rho_per_day.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "Order-flow Hawkes per city" in report
