"""``kbayes run``: open the data, run an experiment kind, score its forecasts, write a report.

A kind returns forecast rows ``(model, decision_time, event_ticker, probs)``; scoring is done
here, once, for every kind, so tables from different kinds compare row for row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from kbayes import __version__
from kbayes.experiment.config import ExperimentConfig
from kbayes.experiment.data import ExperimentData, load_events
from kbayes.experiment.registry import get_kind
from kbayes.io.store import DuckDBStore
from kbayes.scoring import score_table

RESULT_COLUMNS = [
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
SPLITS = ("train", "test", "all")


@dataclass
class RunContext:
    """What a kind's ``run`` receives."""

    config: ExperimentConfig
    data: ExperimentData
    params: dict[str, Any]
    out_dir: Path
    console: Console
    notes: list[str] = field(default_factory=list)
    fitted: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    tables: dict[str, tuple[str, pd.DataFrame]] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    def add_table(self, name: str, df: pd.DataFrame, title: str) -> None:
        """An extra result table (written as ``<name>.csv`` and shown in the report)."""
        self.tables[name] = (title, df)

    def add_plot(self, filename: str) -> None:
        """A PNG the kind wrote into ``out_dir``, to be linked from the report."""
        self.plots.append(filename)

    def note(self, text: str) -> None:
        """Something the report should say (missing data, defaults used)."""
        self.notes.append(text)
        self.console.log(f"[yellow]note[/]: {text}")

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        with self.console.status(f"{name} ..."):
            yield
        self.timings[name] = time.perf_counter() - t0
        self.console.log(f"{name}: {self.timings[name]:.1f} s")


def open_store(
    config: ExperimentConfig, out_dir: Path, console: Console
) -> tuple[DuckDBStore, dict]:
    """The store an experiment reads, plus a description of the data for the manifest."""
    src = config.data
    if src.source == "sim":
        from kbayes.sim import SimConfig, simulate_to_store

        sim_kwargs = dict(src.sim)
        sim_kwargs.setdefault("seed", config.seed)
        try:
            sim_config = SimConfig(**_coerce_sim(sim_kwargs))
        except TypeError as exc:
            from kbayes.experiment.config import ConfigError

            raise ConfigError(f"data.sim: {exc}") from exc
        store = DuckDBStore(":memory:")
        with console.status("simulating market days ..."):
            simulate_to_store(store, sim_config)
        return store, {"source": "sim", "sim": {k: str(v) for k, v in sim_kwargs.items()}}
    if src.source == "store":
        path = Path(src.store)
        if not path.is_file():
            from kbayes.experiment.config import ConfigError

            raise ConfigError(
                f"data.store: {str(path)!r} does not exist; import data first "
                "with `kbayes data import`"
            )
        store = DuckDBStore(path, read_only=True)
        return store, {"source": "store", "store": str(path), "files": _import_hashes(store)}
    # source == "path": import (incrementally) into a store, then read it.
    from kbayes.cli.progress import import_with_progress

    root = Path(src.path)
    if not root.is_dir():
        from kbayes.experiment.config import ConfigError

        raise ConfigError(f"data.path: {str(root)!r} is not a folder")
    store_path = Path(src.store) if src.store else out_dir / "store.duckdb"
    store = DuckDBStore(store_path)
    import_with_progress(root, store, console)
    return store, {
        "source": "path",
        "path": str(root),
        "store": str(store_path),
        "files": _import_hashes(store),
    }


def _coerce_sim(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    if "start" in out and isinstance(out["start"], str):
        out["start"] = dt.date.fromisoformat(out["start"])
    if "cities" in out and isinstance(out["cities"], list):
        out["cities"] = tuple(out["cities"])
    return out


def _import_hashes(store: DuckDBStore) -> dict[str, str]:
    log = store.read("import_log")
    return dict(zip(log["source_file"], log["sha256"], strict=True))


def score_forecasts(
    kind: str, forecasts: pd.DataFrame, data: ExperimentData, decision_order: list[str]
) -> pd.DataFrame:
    """Score rows per (model, decision time, city, split), with ``all`` pooling cities/splits."""
    events = {e.event_ticker: e for e in data.events}
    if forecasts.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    f = forecasts.assign(
        city=[events[e].city for e in forecasts["event_ticker"]],
        split=[events[e].split for e in forecasts["event_ticker"]],
        outcome=[events[e].outcome for e in forecasts["event_ticker"]],
    )
    rows = []
    cities = sorted(f["city"].unique())
    for (model, dtl), g in f.groupby(["model", "decision_time"], sort=False):
        for city in [*cities, "all"]:
            gc = g if city == "all" else g[g["city"] == city]
            for split in SPLITS:
                gs = gc if split == "all" else gc[gc["split"] == split]
                if gs.empty:
                    continue
                s = score_table(list(gs["probs"]), list(gs["outcome"]))
                rows.append(
                    {
                        "kind": kind,
                        "model": model,
                        "decision_time": dtl,
                        "city": city,
                        "split": split,
                        **s,
                    }
                )
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    order = {d: i for i, d in enumerate(decision_order)}
    out["_o"] = out["decision_time"].map(order)
    out = out.sort_values(["model", "_o", "city", "split"]).drop(columns="_o")
    return out.reset_index(drop=True)


def code_version() -> str:
    """Package version plus the git commit (and ``+dirty``) when run from a checkout."""
    repo = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return f"{__version__}+g{sha}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def run_experiment(
    config: ExperimentConfig,
    out: str | Path | None = None,
    console: Console | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Run a validated config end to end; returns the results table and the output folder."""
    console = console or Console(stderr=True)
    t0 = time.perf_counter()
    out_dir = Path(out or config.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = get_kind(config.kind)
    store, data_desc = open_store(config, out_dir, console)
    try:
        data = load_events(
            store,
            config.split.train_end,
            config.split.test_start,
            config.data.cities,
            config.data.start,
            config.data.end,
        )
        n_split = pd.Series([e.split for e in data.events]).value_counts().to_dict()
        console.log(
            f"{len(data.events)} events with a ladder and a known outcome {n_split}; "
            f"{len(data.skipped)} skipped"
        )
        ctx = RunContext(config, data, kind.resolve_params(config.params), out_dir, console)
        if data.skipped:
            reasons = pd.Series(list(data.skipped.values())).str.split(":").str[0].value_counts()
            ctx.note(f"{len(data.skipped)} events skipped: {reasons.to_dict()}")
        if not data.events:
            ctx.note("no events to score: check data.cities/start/end and the store")
        forecasts = kind.run(ctx)
        results = score_forecasts(
            config.kind, forecasts, data, [d.label for d in config.decision_times]
        )
    finally:
        store.close()
    from kbayes.experiment.report import write_outputs

    write_outputs(
        out_dir,
        config,
        results,
        forecasts,
        data,
        ctx,
        data_desc,
        code_version(),
        time.perf_counter() - t0,
    )
    console.log(
        f"wrote {out_dir}/results.csv, report.md, manifest.json ({time.perf_counter() - t0:.1f} s)"
    )
    return results, out_dir
