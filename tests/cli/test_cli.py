"""The ``kbayes`` command, run in-process on a hand-made store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from kbayes.cli import main
from tests.experiment.test_baselines_kind import _config
from tests.experiment.test_baselines_kind import fixture_store as fixture_store


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("run", "data", "kinds"):
        assert cmd in out


def test_run_writes_results(fixture_store: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_config(fixture_store, tmp_path / "out")))
    assert main(["run", str(cfg), "--out", str(tmp_path / "o2")]) == 0
    res = pd.read_csv(tmp_path / "o2" / "results.csv")
    assert set(res["model"]) == {"market_last", "market_vwap30", "climatology", "forecast_normal"}


def test_bad_config_exits_3_and_names_the_file_and_key(
    fixture_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = _config(fixture_store, tmp_path / "out")
    raw["decision_times"] = ["8am"]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    assert main(["run", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert "8am" in err and str(cfg) in err and "decision_times" in err


def test_data_summary(fixture_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", "--store", str(fixture_store)]) == 0
    err = capsys.readouterr().err
    assert "markets" in err and "trades" in err and "official_highs" in err


def test_missing_store_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", "--store", str(tmp_path / "none.duckdb")]) == 4
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()
