"""``kbayes run``: open the data, run an experiment kind, score its forecasts, write a report.

A kind returns forecast rows ``(model, decision_time, event_ticker, probs)``; scoring is done
here, once, for every kind, so tables from different kinds compare row for row.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from rich.console import Console

from kbayes import __version__
from kbayes.experiment.config import ExperimentConfig, sim_config
from kbayes.experiment.context import RunContext
from kbayes.experiment.data import ExperimentData, load_events
from kbayes.experiment.errors import ConfigError
from kbayes.experiment.registry import get_kind
from kbayes.io.store import DuckDBStore, Store
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

# Imports a data folder into a store (``data.source: path``); the CLI passes one that shows
# progress and prints the skip report; the default runs :func:`kbayes.io.ingest.run_import`.
Importer = Callable[[Path, DuckDBStore], object]

__all__ = ["RESULT_COLUMNS", "Importer", "RunContext", "run_experiment", "score_forecasts"]


def _plain_import(root: Path, store: DuckDBStore) -> object:
    from kbayes.io.ingest import run_import

    return run_import(root, store)


def check_data(config: ExperimentConfig) -> None:
    """Fail before anything is created when the config's data cannot be opened.

    Raises:
        ConfigError: ``data.store`` missing (``source: store``) or ``data.path`` not a folder.
    """
    src = config.data
    if src.source == "store" and not Path(src.store).is_file():
        raise ConfigError(
            f"data.store: {src.store!r} does not exist; import data first with `kbayes data import`"
        )
    if src.source == "path" and not Path(src.path).is_dir():
        raise ConfigError(f"data.path: {src.path!r} is not a folder")


def open_store(
    config: ExperimentConfig,
    out_dir: Path,
    console: Console,
    import_data: Importer = _plain_import,
) -> tuple[DuckDBStore, dict]:
    """The store an experiment reads, plus a description of the data for the manifest."""
    check_data(config)
    src = config.data
    if src.source == "sim":
        from kbayes.sim import simulate_to_store

        store = DuckDBStore(":memory:")
        with console.status("simulating market days ..."):
            simulate_to_store(store, sim_config(src.sim, config.seed))
        sim_desc = {"seed": config.seed, **src.sim}
        return store, {"source": "sim", "sim": {k: str(v) for k, v in sim_desc.items()}}
    if src.source == "store":
        store = DuckDBStore(src.store, read_only=True)
        return store, {"source": "store", "store": src.store, "files": _import_hashes(store)}
    # source == "path": import (incrementally) into a store, then read it.
    root = Path(src.path)
    store_path = Path(src.store) if src.store else out_dir / "store.duckdb"
    store = DuckDBStore(store_path)
    import_data(root, store)
    return store, {
        "source": "path",
        "path": str(root),
        "store": str(store_path),
        "files": _import_hashes(store),
    }


def _import_hashes(store: Store) -> dict[str, str]:
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
    import_data: Importer = _plain_import,
) -> tuple[pd.DataFrame, Path]:
    """Run a validated config end to end; returns the results table and the output folder.

    Args:
        config: A config from :func:`kbayes.experiment.config.parse_config`.
        out: Output folder (default: the config's ``output``); created only once the config's
            kind and data are known to be usable.
        console: Where progress goes (stderr by default).
        import_data: Imports ``data.path`` into the store (``data.source: path``).
    """
    console = console or Console(stderr=True)
    t0 = time.perf_counter()
    out_dir = Path(out or config.output)
    kind = get_kind(config.kind)
    check_data(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    store, data_desc = open_store(config, out_dir, console, import_data)
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
