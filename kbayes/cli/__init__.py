"""The ``kbayes`` command: run experiments, import and inspect data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEFAULT_STORE = "data/kbayes.duckdb"


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from kbayes.experiment.config import load_config, parse_config
    from kbayes.experiment.runner import run_experiment

    config = load_config(args.config)
    if args.data or args.store:
        raw = dict(config.raw)
        data = dict(raw.get("data", {}))
        if args.data:
            data.update(source="path", path=args.data)
            data.pop("sim", None)
        elif args.store:
            data.update(source="store")
        if args.store:
            data["store"] = args.store
        raw["data"] = data
        config = parse_config(raw, base_dir=Path.cwd())
    results, out_dir = run_experiment(config, out=args.out, console=console)
    show = results[
        (results["city"] == "all")
        & (results["split"] == ("test" if (results["split"] == "test").any() else "all"))
    ]
    _print_table(console, show.drop(columns=["kind", "city"]), f"{config.name}: {out_dir}")
    return 0


def _print_table(console: Console, df, title: str) -> None:
    table = Table(title=title)
    for c in df.columns:
        table.add_column(str(c), justify="right" if df[c].dtype.kind in "fiu" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def _cmd_import(args: argparse.Namespace, console: Console) -> int:
    from kbayes.cli.progress import import_with_progress
    from kbayes.io.store import DuckDBStore

    root = Path(args.source)
    if not root.is_dir():
        console.print(f"[red]error[/]: --from {str(root)!r} is not a folder")
        return 2
    with DuckDBStore(args.store) as store:
        report = import_with_progress(root, store, console, force=args.force)
    return 1 if report.failed and args.strict else 0


def _cmd_summary(args: argparse.Namespace, console: Console) -> int:
    from kbayes.io.store import DuckDBStore
    from kbayes.io.summary import coverage, observation_gaps

    if not Path(args.store).is_file():
        console.print(
            f"[red]error[/]: store {args.store!r} does not exist; run `kbayes data import`"
        )
        return 2
    with DuckDBStore(args.store, read_only=True) as store:
        _print_table(console, coverage(store), f"coverage of {args.store}")
        _print_table(console, observation_gaps(store), "weather observation gaps > 60 min")
        issues = store.query(
            "SELECT source_file, count(*) AS skipped FROM import_issues "
            "GROUP BY source_file ORDER BY skipped DESC"
        )
        if not issues.empty:
            _print_table(console, issues, "records skipped at import (table import_issues)")
    return 0


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    from kbayes.io.store import DuckDBStore

    with DuckDBStore(args.store, read_only=True) as store:
        paths = store.export_parquet(Path(args.to))
    console.print(f"wrote {len(paths)} parquet files to {args.to}")
    return 0


def _cmd_kinds(args: argparse.Namespace, console: Console) -> int:
    from kbayes.experiment.registry import get_kind, known_kinds

    for name in known_kinds():
        console.print(f"[bold]{name}[/]: {get_kind(name).description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kbayes",
        description="Probabilistic models for Kalshi daily-high temperature bracket markets.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run an experiment config (fit, score, report)")
    run.add_argument("config", help="experiment YAML, e.g. configs/demo.yaml")
    run.add_argument("--out", help="output folder (default: the config's `output`)")
    run.add_argument("--data", help="folder of real data to import and use (e.g. ../shared/data)")
    run.add_argument("--store", help="DuckDB store to read (or to import --data into)")
    run.set_defaults(func=_cmd_run)

    data = sub.add_parser("data", help="import, summarise and export the data store")
    dsub = data.add_subparsers(dest="data_command", required=True)
    imp = dsub.add_parser("import", help="import every real file under a folder")
    imp.add_argument("--from", dest="source", required=True, help="data folder (../shared/data)")
    imp.add_argument(
        "--store", default=DEFAULT_STORE, help=f"DuckDB file (default {DEFAULT_STORE})"
    )
    imp.add_argument("--force", action="store_true", help="re-import files whose hash is unchanged")
    imp.add_argument("--strict", action="store_true", help="exit 1 if any file failed")
    imp.set_defaults(func=_cmd_import)
    summ = dsub.add_parser("summary", help="coverage per city and source")
    summ.add_argument("--store", default=DEFAULT_STORE)
    summ.set_defaults(func=_cmd_summary)
    exp = dsub.add_parser("export", help="write every table as parquet")
    exp.add_argument("--store", default=DEFAULT_STORE)
    exp.add_argument("--to", required=True, help="output folder")
    exp.set_defaults(func=_cmd_export)

    kinds = sub.add_parser("kinds", help="list experiment kinds")
    kinds.set_defaults(func=_cmd_kinds)
    return p


def main(argv: list[str] | None = None) -> int:
    from kbayes.experiment.config import ConfigError

    args = build_parser().parse_args(argv)
    # Wide when piped, so tables in logs and CI are not truncated.
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
    try:
        return int(args.func(args, console) or 0)
    except ConfigError as exc:
        console.print(f"[red]config error[/]: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
