"""The ``nowcast`` kind end to end on a small simulated config (tiny NUTS)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from kbayes.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a NUTS fit and a full nowcast run (~35 s)
def test_nowcast_kind_runs_and_reports(tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "configs" / "nowcast_demo.yaml").read_text())
    raw["data"]["sim"].update(n_days=6, cities=["NY"])
    raw["split"]["train_end"] = "2024-06-03"
    raw["params"]["fit"] = {"num_warmup": 15, "num_samples": 15, "max_tree_depth": 3}
    raw["params"]["nowcast"] = {"n_paths": 200, "n_candidates": 400}
    raw["params"]["hazard"] = {"eval_hours": [10, 13]}
    raw["output"] = str(tmp_path / "out")
    cfg = tmp_path / "nc.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert main(["run", str(cfg)]) == 0
    out = tmp_path / "out"
    res = pd.read_csv(out / "results.csv")
    assert {"tmax_ar", "persistence", "rmax_plus_rise"} <= set(res["model"])
    assert res[["log_loss", "rps"]].notna().all().all()
    crps = pd.read_csv(out / "crps_high.csv")
    assert crps["crps_f"].notna().all() and "tmax_ar" in set(crps["model"])
    diag = pd.read_csv(out / "tmax_ar_diagnostics.csv")
    assert {"r_hat", "ess_bulk"} <= set(diag.columns) and len(diag) > 10
    assert (out / "tmax_ar_posterior.nc").is_file()
    haz = pd.read_csv(out / "hazard60_reliability.csv")
    assert {"tmax_ar_raw", "tmax_ar_calibrated", "climatology_by_hour"} <= set(haz["model"])
    assert (out / "hazard60_reliability_train.csv").is_file()
    prior = pd.read_csv(out / "tmax_ar_prior.csv").set_index("split")
    # The pool weights are fitted on earlier-year days (per month where a month has enough
    # of them, else the pooled weight): there the pool is no worse than either part, since
    # each month's weight beats the pooled one on that month and the pooled one beats both
    # end points (w = 0, 1) on all of them. On the training events it is out of sample.
    fit = prior.loc["earlier_years"]
    assert fit["log_loss_blend"] <= min(fit["log_loss_model"], fit["log_loss_climatology"])
    t1 = res[
        (res["model"] == "tmax_ar") & (res["decision_time"] == "T-1 20:00") & (res["city"] == "all")
    ]
    test_pool = t1[t1["split"] == "test"]["log_loss"].iloc[0]
    assert test_pool == pytest.approx(prior.loc["test", "log_loss_blend"], abs=1e-4)
    for png in ("tmax_ar_paths.png", "nowcast_pit.png", "hazard60_reliability.png"):
        assert (out / png).is_file()
    report = (out / "report.md").read_text()
    assert "r-hat" in report
    assert "before (tmax_ar_raw) and after (tmax_ar_calibrated)" in report
