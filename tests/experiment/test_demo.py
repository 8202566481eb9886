"""The demo config end to end on the simulator (smaller), and its determinism."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from kbayes.cli import main

REPO = Path(__file__).resolve().parents[2]


def _small_demo(tmp_path: Path, name: str) -> Path:
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    raw["data"]["sim"].update(n_days=16, cities=["NY", "CHI"])
    raw["split"]["train_end"] = "2024-01-10"
    raw["output"] = str(tmp_path / name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_demo_runs_and_is_deterministic(tmp_path: Path) -> None:
    assert main(["run", str(_small_demo(tmp_path, "a"))]) == 0
    assert main(["run", str(_small_demo(tmp_path, "b"))]) == 0
    a = pd.read_csv(tmp_path / "a" / "results.csv")
    b = pd.read_csv(tmp_path / "b" / "results.csv")
    pd.testing.assert_frame_equal(a, b)
    assert set(a["model"]) == {"market_last", "market_vwap30", "climatology", "forecast_normal"}
    assert set(a["split"]) == {"train", "test", "all"}
    assert set(a["city"]) == {"NY", "CHI", "all"}
    assert set(a["decision_time"]) == {"T-1 20:00", "08:00", "11:00", "14:00", "17:00"}
    test_all = a[(a.split == "all") & (a.city == "all")]
    assert (test_all["n_events"] == 32).all()
    # The simulated market is informative: by 17:00 it beats climatology by a wide margin.
    late = test_all.set_index(["model", "decision_time"])["log_loss"]
    assert late[("market_last", "17:00")] < 0.5 * late[("climatology", "17:00")]
    for f in ("report.md", "manifest.json", "scores_by_decision_time.png", "reliability.png"):
        assert (tmp_path / "a" / f).is_file()
