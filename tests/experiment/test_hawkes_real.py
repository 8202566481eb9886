"""The ``hawkes`` kind end to end on a small slice of the real trade tapes (``../shared/data``).

``configs/hawkes_real.yaml`` narrowed to NY, December 2024 (test split) and 3 evenly spaced
event-days. The run imports the two files it needs (the cpratim event metadata and the NY
trade tape, linked, not copied, into a data root under ``tmp_path``) into a DuckDB store under
``tmp_path``, fits, and writes its tables, plots, manifest and report. The checks are
properties every correct run must have: the tables agree with each other, with the fitted
``alpha`` in the manifest, with the report and with the trades in the store; the sample is
the evenly spaced one; ranges are those of a branching ratio, a share or a KS statistic.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from kbayes.experiment.config import parse_config
from kbayes.experiment.runner import run_experiment
from kbayes.io.store import DuckDBStore
from models.flow_hawkes import ROLES, role_sums
from models.flow_hawkes.summary import role_matrix

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("KBAYES_SHARED_DATA", REPO.parent / "shared" / "data"))
CPRATIM = Path("kalshi") / "cpratim_trades_5city"
FILES = ("events_5city.tar.xz", "kxhighny_trades.tar.xz")
START, END = dt.date(2024, 12, 1), dt.date(2024, 12, 31)
MAX_DAYS = 3
K = 6  # every NY ladder of the period has 6 brackets (PROVENANCE: "all 6 brackets")


def _report_table(report: str, name: str) -> pd.DataFrame:
    """The markdown table the report shows under ``(`<name>.csv`)``, as strings."""
    lines = report.splitlines()
    i = lines.index(f"(`{name}.csv`)") + 2
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        rows.append([c.strip() for c in lines[i].strip("|").split("|")])
        i += 1
    return pd.DataFrame(rows[2:], columns=rows[0])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"../shared/data absent: {SHARED_DATA} is not a folder (set KBAYES_SHARED_DATA)"
        )
    missing = [f for f in FILES if not (SHARED_DATA / CPRATIM / f).is_file()]
    if missing:
        pytest.skip(f"../shared/data absent: {missing} not under {SHARED_DATA / CPRATIM}")
    tmp = tmp_path_factory.mktemp("hawkes_real")
    root = tmp / "data"
    (root / CPRATIM).mkdir(parents=True)
    for f in FILES:
        (root / CPRATIM / f).symlink_to(SHARED_DATA / CPRATIM / f)
    raw = yaml.safe_load((REPO / "configs" / "hawkes_real.yaml").read_text())
    raw["data"].update(
        path=str(root),
        store=str(tmp / "kb.duckdb"),
        cities=["NY"],
        start=START.isoformat(),
        end=END.isoformat(),
    )
    raw["params"].update(max_days_per_city=MAX_DAYS, stderr=False)
    raw["output"] = str(tmp / "out")
    results, out = run_experiment(parse_config(raw), console=Console(file=io.StringIO()))
    return {
        "results": results,
        "out": out,
        "store": tmp / "kb.duckdb",
        "summary": pd.read_csv(out / "hawkes_summary.csv"),
        "per_day": pd.read_csv(out / "hawkes_per_day.csv", parse_dates=["date"]),
        "manifest": json.loads((out / "manifest.json").read_text()),
        "report": (out / "report.md").read_text(),
    }


def test_outputs_and_sample(run: dict) -> None:
    out, manifest = run["out"], run["manifest"]
    assert run["results"].empty  # no PMF forecasts from this kind
    for png in ("hawkes_roles.png", "hawkes_rho_per_day.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifest["kind"] == "hawkes" and manifest["data"]["source"] == "path"
    assert manifest["data"]["store"] == str(run["store"])
    assert set(manifest["data"]["files"]) == {str(CPRATIM / f) for f in FILES}
    # every NY climate day of December 2024 is a test-split event with trades
    n = manifest["n_events"]
    assert n == (END - START).days + 1 and manifest["n_events_by_split"] == {"test": n}
    assert f"hawkes: time unit 60 s; {n} of {n} event-days have trades" in manifest["notes"]

    summary, per_day = run["summary"], run["per_day"]
    assert summary["city"].tolist() == ["NY"]
    row = summary.iloc[0]
    assert row["K"] == K and row["n_days"] == MAX_DAYS == len(per_day)
    # evenly spaced sample of the 31 days, both ends included, in date order
    dates = [d.date() for d in per_day["date"]]
    assert dates == sorted(set(dates)) and dates[0] == START and dates[-1] == END
    assert all(START <= d <= END for d in dates)
    assert per_day["event_ticker"].tolist() == [f"KXHIGHNY-{d:%y%b%d}".upper() for d in dates]
    assert (per_day["city"] == "NY").all()


def test_counts_match_the_store(run: dict) -> None:
    summary, per_day = run["summary"], run["per_day"]
    row = summary.iloc[0]
    assert row["n_events"] == per_day["n_events"].sum()
    assert row["n_prints"] == per_day["n_prints"].sum()
    # merging sweeps (equal ticker, time, side) only ever removes events; real days are busy
    assert (per_day["n_events"] <= per_day["n_prints"]).all()
    assert (per_day["n_events"] >= 100).all()
    store = DuckDBStore(run["store"], read_only=True)
    try:
        for r in per_day.itertuples(index=False):
            kept = store.query(
                "SELECT count(DISTINCT trade_id) AS n FROM trades t, "
                "(SELECT min(open_time) AS lo, max(close_time) AS hi FROM markets "
                " WHERE event_ticker = ?) w "
                "WHERE t.event_ticker = ? AND t.ts BETWEEN w.lo AND w.hi",
                [r.event_ticker, r.event_ticker],
            )["n"].iloc[0]
            assert r.n_prints == kept, r.event_ticker
    finally:
        store.close()
    hours = per_day["n_events"] / per_day["events_per_hour"]
    assert ((hours > 12) & (hours < 72)).all()  # a ladder trades for about a day or two


def test_per_day_fits(run: dict) -> None:
    per_day, row = run["per_day"], run["summary"].iloc[0]
    rho = per_day["spectral_radius"].to_numpy()
    assert np.isfinite(rho).all() and (rho > 0).all()
    assert np.isfinite(per_day[list(ROLES)].to_numpy()).all()
    assert (per_day[list(ROLES)] >= 0).all().all()
    assert (per_day[list(ROLES)].sum(axis=1) > 0).all()  # some excitation every day
    assert (per_day["mean_delay_s"] > 0).all() and per_day["converged"].all()
    assert ((per_day["ks_not_rejected"] >= 0) & (per_day["ks_tested"] <= 2 * K)).all()
    assert (per_day["ks_not_rejected"] <= per_day["ks_tested"]).all()
    # the summary's per-day columns are these rows' statistics (the CSV rounds to 4 decimals)
    tol = 1e-4
    assert row["day_rho_median"] == pytest.approx(np.median(rho), abs=tol)
    assert row["day_rho_q10"] <= row["day_rho_median"] <= row["day_rho_q90"]
    assert rho.min() - tol <= row["day_rho_q10"] and row["day_rho_q90"] <= rho.max() + tol
    # stationarity flag: the share of days with rho < 1 (days within rounding of 1 may go
    # either way)
    near_one = np.sum(np.abs(rho - 1) <= tol)
    assert abs(row["day_share_stationary"] - np.mean(rho < 1)) <= near_one / len(rho) + tol
    assert 0.0 <= row["day_share_stationary"] <= 1.0
    ks_share = per_day["ks_not_rejected"].sum() / per_day["ks_tested"].sum()
    assert row["day_ks_share_ok"] == pytest.approx(ks_share, abs=tol)
    assert row["day_converged"] == pytest.approx(per_day["converged"].mean(), abs=tol)
    for r in ROLES:
        assert row[f"day_{r}_median"] == pytest.approx(per_day[r].median(), abs=tol)


def test_pooled_fit_matches_manifest(run: dict) -> None:
    row = run["summary"].iloc[0]
    fitted = run["manifest"]["fitted"]["hawkes_NY"]
    alpha = np.asarray(fitted["alpha"])
    mu = np.asarray(fitted["mu_per_unit"])
    assert alpha.shape == (2 * K, 2 * K) and mu.shape[0] == 2 * K
    assert (alpha >= 0).all() and (mu >= 0).all()
    role = role_matrix(K)
    assert (alpha[role == -1] == 0).all()  # no excitation beyond the neighbouring brackets
    for r in range(len(ROLES)):  # pooled_tied: one parameter per role
        assert np.ptp(alpha[role == r]) <= 2e-5
    rho = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    assert rho == pytest.approx(fitted["spectral_radius"], abs=1e-4)
    assert row["pooled_rho"] == pytest.approx(fitted["spectral_radius"], abs=1e-4)
    # a pooled real-data fit is excited yet stationary (full config: 0.72-0.85 by city)
    assert 0.0 < row["pooled_rho"] < 1.0
    for name, value in role_sums(alpha, K).items():
        assert row[f"pooled_{name}"] == pytest.approx(value, abs=1e-4)
    # self-excitation is the dominant role of taker flow in every city of the full config
    assert row["pooled_self"] > max(row[f"pooled_{r}"] for r in ROLES[1:])
    unit = fitted["unit_seconds"]
    assert unit == 60.0
    assert row["pooled_delay_s"] == pytest.approx(unit / fitted["beta_per_unit"], rel=1e-4)
    per_hour = 3600.0 / unit
    assert row["mu_buy_per_hour"] == pytest.approx(mu[0::2].mean(axis=1).sum() * per_hour, 1e-3)
    assert row["mu_sell_per_hour"] == pytest.approx(mu[1::2].mean(axis=1).sum() * per_hour, 1e-3)
    assert row["mu_buy_per_hour"] > 0 and row["mu_sell_per_hour"] > 0
    assert row["pooled_converged"]
    # the Hawkes likelihood nests the inhomogeneous Poisson one (alpha = 0, same bins)
    assert row["lr_vs_poisson_per_event"] > 0
    for col in ("pooled_ks_share_ok", "pooled_shared_ks_share_ok"):
        assert 0.0 <= row[col] <= 1.0
    for col in ("pooled_ks_stat_mean", "pooled_shared_ks_stat_mean"):
        assert 0.0 < row[col] < 1.0
    assert 0.5 < row["pooled_ks_mean_residual"] < 2.0  # Exp(1) residuals have mean 1
    assert np.isnan(row["pooled_rho_se"])  # stderr: False


@pytest.mark.parametrize("name", ["hawkes_summary", "hawkes_per_day"])
def test_report_shows_the_csv_tables(run: dict, name: str) -> None:
    csv = pd.read_csv(run["out"] / f"{name}.csv")
    shown = _report_table(run["report"], name)
    assert list(shown.columns) == list(csv.columns) and len(shown) == len(csv)
    for col in csv.columns:
        if pd.api.types.is_numeric_dtype(csv[col]) and csv[col].dtype != bool:
            np.testing.assert_allclose(
                shown[col].astype(float).to_numpy(), csv[col].to_numpy(float), atol=1e-4
            )
        else:
            assert shown[col].tolist() == csv[col].astype(str).tolist(), col
