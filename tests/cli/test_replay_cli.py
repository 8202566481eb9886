"""`kbayes replay`: the demo config end to end, and a config of another kind refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kbayes.cli import main
from kbayes.cli.errors import EXIT_USAGE

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # two simulated days through every feature and the UKF (~40 s here)
def test_replay_demo_writes_tick_tables_and_scores(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["replay", str(REPO / "configs" / "replay_demo.yaml"), "--out", str(out)]) == 0
    tables = sorted((out / "features").glob("*.parquet"))
    assert len(tables) == 2
    df = pd.read_parquet(tables[0])
    assert {"t", "ticker", "mid", "microprice", "volume", "high_f"} <= set(df.columns)
    results = pd.read_csv(out / "results.csv")
    assert (results["model"] == "market_mid").any()
    assert (out / "intents.parquet").is_file()


def test_replay_refuses_a_config_of_another_kind(capsys) -> None:
    assert main(["replay", str(REPO / "configs" / "demo.yaml")]) == EXIT_USAGE
    assert "is not `replay`" in capsys.readouterr().err
