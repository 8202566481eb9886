"""The ``baselines`` kind end to end on a tiny hand-made store gives hand-computed scores."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import norm

from kbayes.experiment.config import ConfigError, parse_config
from kbayes.experiment.runner import run_experiment
from kbayes.io.store import DuckDBStore
from kbayes.market.records import (
    ForecastDailyRecord,
    MarketRecord,
    OfficialHighRecord,
    TradeRecord,
)

UTC = dt.UTC


def _markets(event: str, day: dt.date, winner: int) -> list[MarketRecord]:
    spec = [
        ("T40", "less", None, 40, None, 39, "39° or below"),
        ("B40.5", "between", 40, 41, 40, 41, "40° to 41°"),
        ("T41", "greater", 41, None, 42, None, "42° or above"),
    ]
    return [
        MarketRecord(
            f"{event}-{suf}",
            event,
            "KXHIGHNY",
            "NY",
            day,
            st,
            fl,
            cp,
            lo,
            hi,
            lab,
            None,
            None,
            "finalized",
            "yes" if k == winner else "no",
            None,
            None,
            "fixture",
            "fx",
        )
        for k, (suf, st, fl, cp, lo, hi, lab) in enumerate(spec)
    ]


def _trade(i: int, ticker: str, hhmm: str, cents: int, count: int) -> TradeRecord:
    ts = dt.datetime.fromisoformat(f"2024-01-10T{hhmm}:00+00:00")
    return TradeRecord(
        f"t{i}",
        ticker,
        "KXHIGHNY-24JAN10",
        "NY",
        ts,
        cents * 100,
        count * 100,
        "yes",
        "fixture",
        "fx",
    )


@pytest.fixture()
def fixture_store(tmp_path: Path) -> Path:
    path = tmp_path / "fixture.duckdb"
    with DuckDBStore(path) as store:
        e1, e2 = "KXHIGHNY-24JAN10", "KXHIGHNY-24JAN20"
        store.write_records(
            MarketRecord,
            _markets(e1, dt.date(2024, 1, 10), 1) + _markets(e2, dt.date(2024, 1, 20), 2),
            "fx",
        )
        store.write_records(
            TradeRecord,
            [
                _trade(1, f"{e1}-T40", "12:00", 20, 10),
                _trade(2, f"{e1}-B40.5", "12:40", 60, 30),
                _trade(3, f"{e1}-B40.5", "12:50", 50, 10),
                _trade(4, f"{e1}-B40.5", "13:00", 90, 5),  # exactly at the decision time: excluded
            ],
            "fx",
        )
        store.write_records(
            OfficialHighRecord,
            [
                OfficialHighRecord("KNYC", "NY", dt.date(2023, 1, d), v, "acis", "fx")
                for d, v in ((3, 38), (4, 39), (5, 41), (6, 44))
            ]
            + [
                # Same month of the events' own year: must not enter the climatology.
                OfficialHighRecord("KNYC", "NY", dt.date(2024, 1, 2), 70, "acis", "fx"),
            ],
            "fx",
        )
        store.write_records(
            ForecastDailyRecord,
            [
                ForecastDailyRecord(
                    "KNYC",
                    "NY",
                    dt.date(2024, 1, 10),
                    dt.datetime(2024, 1, 9, 12, tzinfo=UTC),
                    1,
                    41.0,
                    None,
                    "visualcrossing",
                    "fx",
                ),
                # Issued after 08:00 EST (13:00Z): look-ahead, must be ignored.
                ForecastDailyRecord(
                    "KNYC",
                    "NY",
                    dt.date(2024, 1, 10),
                    dt.datetime(2024, 1, 10, 14, tzinfo=UTC),
                    0,
                    30.0,
                    None,
                    "visualcrossing",
                    "fx",
                ),
            ],
            "fx",
        )
    return path


def _config(store: Path, out: Path, **extra) -> dict:
    return {
        "name": "fixture",
        "kind": "baselines",
        "seed": 0,
        "data": {"source": "store", "store": str(store)},
        "split": {"train_end": "2024-01-15"},
        "decision_times": ["08:00"],
        "params": {
            "climatology": {"kernel_sigma_f": 0.05, "min_values": 1},
            "forecast_normal": {"default_sigma": 2.0},
        },
        "output": str(out),
        **extra,
    }


def _scores(p: list[float], y: int) -> dict[str, float]:
    k = len(p)
    onehot = [1.0 if i == y else 0.0 for i in range(k)]
    cdf = [sum(p[: i + 1]) for i in range(k - 1)]
    ocdf = [1.0 if y <= i else 0.0 for i in range(k - 1)]
    return {
        "log_loss": -math.log(max(p[y], 1e-4)),
        "brier": sum((a - b) ** 2 for a, b in zip(p, onehot, strict=True)),
        "rps": sum((a - b) ** 2 for a, b in zip(cdf, ocdf, strict=True)),
        "accuracy": float(max(range(k), key=lambda i: (p[i], -i)) == y),
    }


def test_baselines_match_hand_computed_scores(fixture_store: Path, tmp_path: Path) -> None:
    config = parse_config(_config(fixture_store, tmp_path / "out"))
    results, out_dir = run_experiment(config)

    expected_pmfs = {
        "market_last": ([20 / 71, 50 / 71, 1 / 71], [1 / 3] * 3),
        "market_vwap30": ([20 / 78.5, 57.5 / 78.5, 1 / 78.5], [1 / 3] * 3),
        "climatology": ([0.5, 0.25, 0.25], [0.5, 0.25, 0.25]),
    }
    a, b = norm.cdf((39.5 - 41) / 2), norm.cdf((41.5 - 41) / 2)
    fn_ev1 = [a, b - a, 1 - b]
    for model, (p1, p2) in expected_pmfs.items():
        s1, s2 = _scores(p1, 1), _scores(p2, 2)
        for split, ss in (("train", [s1]), ("test", [s2]), ("all", [s1, s2])):
            row = results[
                (results.model == model) & (results.split == split) & (results.city == "all")
            ]
            assert len(row) == 1, (model, split)
            row = row.iloc[0]
            assert row.n_events == len(ss)
            for metric in ("log_loss", "brier", "rps", "accuracy"):
                want = sum(s[metric] for s in ss) / len(ss)
                assert row[metric] == pytest.approx(want, abs=1e-6), (model, split, metric)
    # forecast_normal: event 1 only (event 2 has no forecast), default sigma (too few to fit).
    row = results[
        (results.model == "forecast_normal") & (results.split == "all") & (results.city == "NY")
    ].iloc[0]
    assert row.n_events == 1
    for metric, want in _scores(fn_ev1, 1).items():
        assert row[metric] == pytest.approx(want, abs=1e-6), metric

    assert list(results.columns) == [
        "kind",
        "model",
        "decision_time",
        "city",
        "split",
        "n_events",
        "log_loss",
        "brier",
        "rps",
        "accuracy",
    ]
    assert set(results.decision_time) == {"08:00"}
    for name in (
        "results.csv",
        "results.parquet",
        "report.md",
        "manifest.json",
        "forecasts.parquet",
    ):
        assert (out_dir / name).is_file(), name
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["config_hash"] == config.config_hash and manifest["seed"] == 0
    assert pd.read_csv(out_dir / "results.csv").shape == results.shape


def test_config_errors_name_key_and_value(fixture_store: Path, tmp_path: Path) -> None:
    base = _config(fixture_store, tmp_path)
    bad = [
        ({**base, "kidn": 1}, "kidn"),
        ({**base, "kind": "nope"}, "nope"),
        ({**base, "decision_times": ["25:00"]}, "25:00"),
        ({**base, "data": {"source": "s3"}}, "s3"),
        ({**base, "data": {"source": "store", "store": "x", "cities": ["ATL"]}}, "ATL"),
        ({**base, "split": {"train_end": "2024-13-01"}}, "2024-13-01"),
        ({**base, "params": {"climatology": {"kernel_sigma": 1.0}}}, "kernel_sigma"),
        ({**base, "params": {"climatology": {"kernel_sigma_f": "wide"}}}, "wide"),
    ]
    for raw, token in bad:
        with pytest.raises(ConfigError, match=token):
            parse_config(raw)
