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


def _utc(text: str | None):
    """An aware UTC datetime from ISO text (``2026-05-16T15:00:00Z``; naive means UTC)."""
    import datetime as dt

    if not text:
        return None
    ts = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _signer(args: argparse.Namespace):
    from kbayes.io.kalshi.auth import Signer

    return Signer.from_env(key_id=args.key_id, key_path=args.key_path)


def _csv(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _cmd_fetch(args: argparse.Namespace, console: Console) -> int:
    from kbayes.io.kalshi import fetch
    from kbayes.io.kalshi.errors import KalshiError
    from kbayes.io.kalshi.rest import KalshiClient
    from kbayes.io.store import DuckDBStore

    checkpoints = fetch.Checkpoints.beside(args.store)
    client = KalshiClient(args.rest_url, signer=_signer(args))
    try:
        n = _run_fetch(args, console, client, fetch, DuckDBStore(args.store), checkpoints)
    except KalshiError as exc:
        # Every finished page is in the store and checkpointed: a re-run goes on from there.
        console.print(f"[red]Kalshi API error[/]: {exc}")
        console.print("pages fetched so far are kept; run the same command again to resume")
        return 1
    finally:
        client.close()
    if n is None:
        return 2
    console.print(f"fetched {n:,} {args.what} rows into {args.store}")
    unknown = client.fields.unknown()
    if unknown:
        console.print(f"[yellow]unknown fields (kept raw)[/]: {unknown}")
    return 0


def _run_fetch(
    args: argparse.Namespace, console: Console, client, fetch, store, checkpoints
) -> int | None:
    """The rows fetched by ``kbayes fetch``, or ``None`` after a usage error (printed)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with (
        store,
        Progress(SpinnerColumn(), TextColumn("{task.description}"),
                 TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                 console=console) as bar,
    ):  # fmt: skip
        task = bar.add_task(f"fetch {args.what}", total=None)

        def tick(n: int, desc: str) -> None:
            bar.update(task, advance=n, description=desc)

        tickers = _csv(args.tickers)
        if args.what != "markets" and args.series and not tickers:
            tickers = [m.ticker for s in _csv(args.series) for m in client.markets(series_ticker=s)]
        if args.what == "markets":
            if not args.series:
                console.print("[red]error[/]: fetch markets needs --series")
                return None
            n = sum(
                fetch.fetch_markets(client, store, s, args.status, checkpoints, tick, args.force,
                                    historical=args.historical)
                for s in _csv(args.series)
            )  # fmt: skip
        elif not tickers:
            console.print("[red]error[/]: give --tickers or --series")
            return None
        elif args.what == "trades":
            lo, hi = _utc(args.since), _utc(args.until)
            n = fetch.fetch_trades(
                client, store, tickers, lo and int(lo.timestamp()), hi and int(hi.timestamp()),
                checkpoints, tick, args.force,
            )  # fmt: skip
        else:
            lo, hi = _utc(args.since), _utc(args.until)
            if lo is None or hi is None:
                console.print("[red]error[/]: fetch candles needs --since and --until")
                return None
            n = fetch.fetch_candles(
                client, store, tickers, int(lo.timestamp()), int(hi.timestamp()), args.period,
                checkpoints, tick, args.force,
            )  # fmt: skip
    return n


def _cmd_record(args: argparse.Namespace, console: Console) -> int:
    import asyncio

    from kbayes.io.kalshi.recorder import record

    tickers, series = _csv(args.tickers), _csv(args.series)
    if not tickers and not series:
        console.print("[red]error[/]: give --tickers or --series")
        return 2
    client = asyncio.run(
        record(
            args.tape, tickers=tickers, series=series, ws_url=args.ws_url,
            rest_url=args.rest_url, signer=_signer(args), channels=_csv(args.channels),
            use_yes_price=args.use_yes_price, duration_s=args.duration,
        )
    )  # fmt: skip
    console.print(f"recorded to {args.tape}: {dict(client.stream.metrics)} {client.metrics}")
    console.print(f"book sync (gaps, locked books, resyncs): {client.stream.sync_report()}")
    return 0


def _cmd_book(args: argparse.Namespace, console: Console) -> int:
    import json

    from kbayes.io.kalshi.replay import book_at

    at = _utc(args.at)
    if not Path(args.tape).exists():
        console.print(f"[red]error[/]: tape {args.tape!r} does not exist")
        return 2
    out = book_at(args.tape, args.ticker, at)
    print(json.dumps(out, indent=2))
    return 0 if out["found"] else 1


def _add_kalshi_args(p: argparse.ArgumentParser) -> None:
    from kbayes.io.kalshi.rest import PROD_REST_URL

    p.add_argument("--rest-url", default=PROD_REST_URL, help="REST base URL (default production)")
    p.add_argument("--key-id", help="API key id (default $KALSHI_API_KEY_ID)")
    p.add_argument("--key-path", help="private key PEM (default $KALSHI_PRIVATE_KEY_PATH)")


def _add_market_parsers(sub) -> None:
    from kbayes.io.kalshi.ws import DEFAULT_CHANNELS, PROD_WS_URL

    fetch = sub.add_parser("fetch", help="backfill trades, candles or markets from Kalshi REST")
    fetch.add_argument("what", choices=("trades", "candles", "markets"))
    fetch.add_argument("--tickers", help="comma-separated market tickers")
    fetch.add_argument("--series", help="comma-separated series (all their markets)")
    fetch.add_argument("--status", help="market status filter (open, closed, settled)")
    fetch.add_argument("--since", help="start, ISO UTC (trades, candles)")
    fetch.add_argument("--until", help="end, ISO UTC (trades, candles)")
    fetch.add_argument("--period", type=int, default=60, choices=(1, 60, 1440), help="minutes")
    fetch.add_argument("--historical", action="store_true", help="markets: historical tier")
    fetch.add_argument("--store", default=DEFAULT_STORE)
    fetch.add_argument("--force", action="store_true", help="refetch finished jobs")
    _add_kalshi_args(fetch)
    fetch.set_defaults(func=_cmd_fetch)

    rec = sub.add_parser("record", help="record the WebSocket stream to an append-only tape")
    rec.add_argument("--tickers", help="comma-separated market tickers")
    rec.add_argument("--series", help="comma-separated series (their open markets)")
    rec.add_argument("--tape", required=True, help="tape folder (one JSONL file per UTC day)")
    rec.add_argument("--ws-url", default=PROD_WS_URL, help="WebSocket URL (default production)")
    rec.add_argument("--channels", default=",".join(DEFAULT_CHANNELS))
    rec.add_argument("--use-yes-price", action="store_true", help="NO levels in YES-leg prices")
    rec.add_argument("--duration", type=float, help="stop after this many seconds")
    _add_kalshi_args(rec)
    rec.set_defaults(func=_cmd_record)

    book = sub.add_parser("book", help="print a market's book rebuilt from a tape (JSON)")
    book.add_argument("--tape", required=True, help="tape folder or file")
    book.add_argument("--ticker", required=True)
    book.add_argument("--at", required=True, help="receive time, ISO UTC (2026-08-07T06:46:29Z)")
    book.set_defaults(func=_cmd_book)


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
    _add_market_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from kbayes.experiment.config import ConfigError
    from kbayes.io.store import StoreLockedError

    args = build_parser().parse_args(argv)
    if args.func is _cmd_run:
        from kbayes.cli.jaxcache import enable_compilation_cache

        enable_compilation_cache()
    # Wide when piped, so tables in logs and CI are not truncated.
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
    try:
        return int(args.func(args, console) or 0)
    except ConfigError as exc:
        console.print(f"[red]config error[/]: {exc}")
        return 2
    except StoreLockedError as exc:
        console.print(f"[red]error[/]: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
