"""Simulated stores for the guard tests, and the edits that must not change a forecast.

A guard test runs a kind twice through :func:`kbayes.experiment.runner.run_experiment`: once
on a small simulated store, once on a copy edited in a way that an honest evaluation cannot
see, and compares the outputs bit for bit:

* :func:`alter_after`: every row stamped at or after an event's cutoff instant ``t`` (trades,
  top of book, 5-minute reports of the climate day, daily and hourly forecasts) is changed,
  and new rows stamped exactly at ``t`` (and one 5-minute report a minute later) are added;
* :func:`alter_test_split`: every test-split event's outcome (Kalshi result, expiration value,
  event outcome, official high) and all its observations (trades, book, reports, forecasts)
  are changed.

Only test-split events are edited, so nothing a fit may legitimately read (training events,
earlier years) moves.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.console import Console

from kbayes.experiment.config import DecisionTime, parse_config
from kbayes.experiment.runner import run_experiment
from kbayes.io.store import DuckDBStore
from kbayes.sim import SimConfig, simulate_to_store

START = dt.date(2024, 6, 1)
N_DAYS = 6
CITIES = ("NY", "CHI")
TRAIN_END = dt.date(2024, 6, 3)
SEED = 3


def make_store(path: Path) -> Path:
    """Two cities x six simulated days (three train, three test) in a DuckDB file."""
    with DuckDBStore(path) as store:
        simulate_to_store(store, SimConfig(start=START, n_days=N_DAYS, cities=CITIES, seed=SEED))
    return path


def copy_store(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


@dataclass(frozen=True)
class SimEvent:
    """One simulated event: where and when its climate day is, and its split."""

    event_ticker: str
    city: str
    station: str
    date: dt.date
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    split: str


def sim_events(path: Path) -> list[SimEvent]:
    """The store's events, sorted by (date, city), with the split of :data:`TRAIN_END`."""
    with DuckDBStore(path, read_only=True) as store:
        ev = store.read("events")
    out = [
        SimEvent(
            r.event_ticker,
            r.city,
            r.station,
            r.climate_date,
            pd.Timestamp(r.window_start),
            pd.Timestamp(r.window_end),
            "train" if r.climate_date <= TRAIN_END else "test",
        )
        for r in ev.itertuples(index=False)
    ]
    return sorted(out, key=lambda e: (e.date, e.city))


def alter_after(path: Path, cutoffs: dict[str, pd.Timestamp]) -> None:
    """Change every row of each event stamped at or after its cutoff; add rows at the cutoff.

    Args:
        path: the store file (edited in place).
        cutoffs: ``event_ticker -> t`` (UTC).
    """
    events = {e.event_ticker: e for e in sim_events(path)}
    with DuckDBStore(path) as store:
        con = store.con
        for ev, t in cutoffs.items():
            e = events[ev]
            t = pd.Timestamp(t).to_pydatetime()
            # Trades: prices mirrored, sizes changed, and a print on every bracket exactly at t.
            con.execute(
                "UPDATE trades SET yes_price_cc = greatest(100, least(9900, 10000 - yes_price_cc)),"
                " count_centi = count_centi * 7 WHERE event_ticker = ? AND ts >= ?",
                [ev, t],
            )
            con.execute(
                "INSERT INTO trades SELECT * REPLACE ('late-' || ticker AS trade_id, "
                "?::TIMESTAMPTZ AS ts, 9700 AS yes_price_cc, 5000 AS count_centi) FROM "
                "(SELECT DISTINCT ON (ticker) * FROM trades WHERE event_ticker = ?)",
                [t, ev],
            )
            # Book: the two sides swapped (a valid book, different mid), and a snapshot at t.
            con.execute(
                "UPDATE book_top SET yes_bid_cc = no_bid_cc, no_bid_cc = yes_bid_cc "
                "WHERE event_ticker = ? AND ts >= ?",
                [ev, t],
            )
            con.execute(
                "INSERT INTO book_top SELECT * REPLACE (?::TIMESTAMPTZ AS ts, 9500 AS yes_bid_cc,"
                " 300 AS no_bid_cc) FROM (SELECT DISTINCT ON (ticker) * FROM book_top "
                "WHERE event_ticker = ?)",
                [t, ev],
            )
            # 5-minute reports of the climate day from t on: warmer, and two extra reports, at t
            # and one minute later (off the 5-minute marks).
            lo = max(t, e.window_start.to_pydatetime())
            hi = e.window_end.to_pydatetime()
            con.execute(
                "UPDATE weather_obs SET temp_c = temp_c + 2.5 WHERE station = ? AND ts >= ? "
                "AND ts < ?",
                [e.station, lo, hi],
            )
            for extra in (dt.timedelta(0), dt.timedelta(minutes=1)):
                if lo + extra < hi:
                    con.execute(
                        "INSERT INTO weather_obs SELECT * REPLACE (?::TIMESTAMPTZ AS ts, "
                        "45.0 AS temp_c) FROM (SELECT * FROM weather_obs WHERE station = ? "
                        "LIMIT 1)",
                        [lo + extra, e.station],
                    )
            # Daily forecasts of the day issued from t on, and one issued exactly at t.
            con.execute(
                "UPDATE forecast_daily SET tmax_f = tmax_f + 9 WHERE station = ? AND "
                "target_date = ? AND issued_at >= ?",
                [e.station, e.date, t],
            )
            con.execute(
                "INSERT INTO forecast_daily SELECT * REPLACE (?::TIMESTAMPTZ AS issued_at, "
                "tmax_f - 15 AS tmax_f) FROM (SELECT * FROM forecast_daily WHERE station = ? "
                "AND target_date = ? LIMIT 1)",
                [t, e.station, e.date],
            )
            # Hourly forecasts of the day's hours (not the hour the next day's path shares), and
            # a whole new issue at t.
            con.execute(
                "UPDATE forecast_hourly SET temp_f = temp_f + 9 WHERE station = ? AND "
                "target_ts >= ? AND target_ts < ? AND issued_at >= ?",
                [e.station, e.window_start, e.window_end - pd.Timedelta(hours=1), t],
            )
            con.execute(
                "INSERT INTO forecast_hourly SELECT * REPLACE (?::TIMESTAMPTZ AS issued_at, "
                "temp_f + 20 AS temp_f) FROM (SELECT DISTINCT ON (target_ts) * FROM "
                "forecast_hourly WHERE station = ? AND target_ts >= ? AND target_ts < ?)",
                [
                    t,
                    e.station,
                    e.window_start - pd.Timedelta(hours=1),
                    e.window_end - pd.Timedelta(hours=1),
                ],
            )


def alter_test_split(path: Path) -> None:
    """Change the outcome and every observation of each test-split event."""
    test = [e for e in sim_events(path) if e.split == "test"]
    with DuckDBStore(path) as store:
        con = store.con
        markets = store.read("markets")
        for e in test:
            m = markets[markets["event_ticker"] == e.event_ticker].sort_values("lo_f")
            tickers = list(m["ticker"])
            won = tickers.index(m[m["result"] == "yes"]["ticker"].iloc[0])
            new = (won + len(tickers) // 2) % len(tickers)
            row = m.iloc[new]
            value = int(row["lo_f"]) if not pd.isna(row["lo_f"]) else int(row["hi_f"])
            con.execute(
                "UPDATE markets SET result = CASE WHEN ticker = ? THEN 'yes' ELSE 'no' END, "
                "expiration_value_f = ? WHERE event_ticker = ?",
                [tickers[new], value, e.event_ticker],
            )
            con.execute(
                "UPDATE events SET outcome_f = ?, outcome_ticker = ? WHERE event_ticker = ?",
                [value, tickers[new], e.event_ticker],
            )
            con.execute(
                "UPDATE official_highs SET tmax_f = ? WHERE station = ? AND date = ?",
                [value, e.station, e.date],
            )
            con.execute(
                "UPDATE trades SET yes_price_cc = greatest(100, least(9900, 10000 - yes_price_cc)),"
                " count_centi = count_centi * 3 WHERE event_ticker = ?",
                [e.event_ticker],
            )
            con.execute(
                "UPDATE book_top SET yes_bid_cc = no_bid_cc, no_bid_cc = yes_bid_cc "
                "WHERE event_ticker = ?",
                [e.event_ticker],
            )
            con.execute(
                # colder, and a different diurnal shape
                "UPDATE weather_obs SET temp_c = round(temp_c - 4.0 + 2.0 * "
                "sin(2 * pi() * epoch(ts) / 86400), 1) WHERE station = ? AND ts >= ? AND ts < ?",
                [e.station, e.window_start.to_pydatetime(), e.window_end.to_pydatetime()],
            )
            con.execute(
                "UPDATE forecast_daily SET tmax_f = tmax_f - 6 WHERE station = ? AND "
                "target_date = ?",
                [e.station, e.date],
            )
            # The day's hours after its first: the previous (training) day's path legitimately
            # reads the hourly forecast up to one hour past its own end.
            con.execute(
                "UPDATE forecast_hourly SET temp_f = temp_f - 6 WHERE station = ? AND "
                "target_ts > ? AND target_ts < ?",
                [e.station, e.window_start + pd.Timedelta(hours=1), e.window_end],
            )


@dataclass(frozen=True)
class KindOutput:
    """What a run wrote: per-bracket forecasts and the manifest's fitted quantities."""

    forecasts: pd.DataFrame
    fitted: dict[str, Any]
    out_dir: Path


def run_kind(
    kind: str, store: Path, out: Path, params: dict, decision_times: list[str]
) -> KindOutput:
    """Run ``kind`` on ``store`` with the guard tests' split; read back what it wrote."""
    raw = {
        "name": f"guard_{kind}",
        "kind": kind,
        "seed": SEED,
        "data": {"source": "store", "store": str(store)},
        "split": {"train_end": TRAIN_END.isoformat()},
        "decision_times": decision_times,
        "params": params,
        "output": str(out),
    }
    _, out_dir = run_experiment(parse_config(raw), out=out, console=Console(quiet=True))
    f = pd.read_parquet(out_dir / "forecasts.parquet")
    f = f.sort_values(["model", "decision_time", "event_ticker", "k"]).reset_index(drop=True)
    fitted = json.loads((out_dir / "manifest.json").read_text())["fitted"]
    return KindOutput(f, fitted, out_dir)


def probs_by_row(f: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, ...]]:
    """``(model, decision_time, event_ticker) -> bracket probabilities``."""
    return {
        key: tuple(g.sort_values("k")["prob"])
        for key, g in f.groupby(["model", "decision_time", "event_ticker"], sort=True)
    }


# --- one run per (kind, parameters, store), shared by the test modules --------------------

_ROOT: Path | None = None
_STORES: dict[tuple, Path] = {}
_RUNS: dict[str, KindOutput] = {}


def _root() -> Path:
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="kbayes_guards_"))
        atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
    return _ROOT


def cutoffs(decisions: list[str]) -> dict[str, int]:
    """Test event ``i`` (by date, city) is cut at decision time ``i mod len(decisions)``."""
    test = [e for e in sim_events(store("base")) if e.split == "test"]
    assert len(test) >= len(decisions)
    return {e.event_ticker: i % len(decisions) for i, e in enumerate(test)}


def store(variant: str, decisions: tuple[str, ...] = ()) -> Path:
    """``base``; ``late`` (:func:`alter_after` at :func:`cutoffs`); ``test_altered``."""
    key = (variant, decisions)
    if key in _STORES:
        return _STORES[key]
    path = _root() / f"{variant}_{len(_STORES)}.duckdb"
    if variant == "base":
        make_store(path)
    elif variant == "late":
        base = store("base")
        events = {e.event_ticker: e for e in sim_events(base)}
        instants = {
            ev: pd.Timestamp(
                DecisionTime.parse(decisions[j]).instant(events[ev].city, events[ev].date)
            )
            for ev, j in cutoffs(list(decisions)).items()
        }
        alter_after(copy_store(base, path), instants)
    elif variant == "test_altered":
        alter_test_split(copy_store(store("base"), path))
    else:
        raise ValueError(variant)
    _STORES[key] = path
    return path


def run(
    kind: str,
    variant: str,
    params: dict,
    decisions: list[str],
    fake_nuts: bool = False,
) -> KindOutput:
    """:func:`run_kind` on :func:`store` ``(variant)``, each distinct run once per session.

    With ``fake_nuts`` the nowcast kind's NUTS fit is the recording stand-in of
    :mod:`tests.experiment.nowcast_fake`; its inputs are in ``fitted["_nuts_inputs"]``.
    """
    st = store(variant, tuple(decisions) if variant == "late" else ())
    key = json.dumps([kind, variant, params, decisions, fake_nuts], sort_keys=True)
    if key not in _RUNS:
        out = _root() / f"run{len(_RUNS)}"
        with contextlib.ExitStack() as stack:
            calls = None
            if fake_nuts:
                from tests.experiment.nowcast_fake import fake_nuts as patch

                calls = patch(stack.enter_context(pytest.MonkeyPatch.context()))
            res = run_kind(kind, st, out, params, decisions)
        if calls is not None:
            assert len(calls) == 1, f"the nowcast kind fitted NUTS {len(calls)} times"
            res.fitted["_nuts_inputs"] = calls[0]
        _RUNS[key] = res
    return _RUNS[key]
