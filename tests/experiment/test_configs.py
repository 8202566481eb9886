"""Every shipped config parses: experiment configs by the config parser, paper configs by
``kbayes paper``'s (a typo in a config must fail here, not in a user's run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import experiments  # noqa: F401  (registers the kinds the configs name)
from kbayes.cli.paper import load_paper_config
from kbayes.experiment.config import parse_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_parses(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    if "live" in raw:
        cfg = load_paper_config(path)
        assert cfg is not None
    else:
        cfg = parse_config(raw, base_dir=REPO)
        assert cfg.kind == raw["kind"]
