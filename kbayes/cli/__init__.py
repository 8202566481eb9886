"""The ``kbayes`` command: run experiments, import and inspect data, record and fetch markets.

A mistake in what the user gave (an option, a config, a store, a key, a URL) ends in one line
on stderr naming the option, file, field or value, and an exit code per kind of error (see
:mod:`kbayes.cli.errors`); ``--debug`` shows the traceback too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kbayes.cli.errors import EXIT_NO, UsageError, classify, one_line

DEFAULT_STORE = "data/kbayes.duckdb"
EXAMPLE_TIME = "2026-08-07T06:46:29Z"


def _register_kinds() -> None:
    """The experiment kinds: those shipped in ``experiments/`` and those of installed plugins."""
    import experiments  # noqa: F401  (importing registers the built-in kinds)
    from kbayes.experiment.registry import load_entry_point_kinds

    load_entry_point_kinds()


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from kbayes.cli.progress import import_with_progress
    from kbayes.experiment.config import load_config, parse_config
    from kbayes.experiment.errors import ConfigError
    from kbayes.experiment.runner import run_experiment

    _register_kinds()
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
        try:
            config = parse_config(raw, base_dir=Path.cwd())
        except ConfigError as exc:
            raise ConfigError(f"{args.config} with --data/--store: {exc}") from exc
    results, out_dir = run_experiment(
        config,
        out=args.out,
        console=console,
        import_data=lambda root, store: import_with_progress(root, store, console),
    )
    show = results[
        (results["city"] == "all")
        & (results["split"] == ("test" if (results["split"] == "test").any() else "all"))
    ]
    _print_table(console, show.drop(columns=["kind", "city"]), f"{config.name}: {out_dir}")
    return 0


def _cmd_replay(args: argparse.Namespace, console: Console) -> int:
    from kbayes.experiment.config import load_config

    _register_kinds()
    kind = load_config(args.config).kind
    if kind != "replay":
        raise UsageError(
            f"{args.config}: kind {kind!r} is not `replay`; run it with `kbayes run {args.config}`"
        )
    return _cmd_run(args, console)


def _print_table(console: Console, df, title: str) -> None:
    table = Table(title=title)
    for c in df.columns:
        table.add_column(str(c), justify="right" if df[c].dtype.kind in "fiu" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


def _existing_store(path: str) -> str:
    """``path`` when it is a file (a store to read), else a StoreError saying what to run."""
    from kbayes.io.store import StoreError

    if not Path(path).is_file():
        raise StoreError(
            f"store {path!r} does not exist; run `kbayes data import --store {path}` first",
            path,
            read_only=True,
        )
    return path


def _folder(path: str, flag: str) -> Path:
    """An output folder option: absent or a folder, never an existing file."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag}: {path!r} is a file; give a folder")
    return p


def _url(url: str, flag: str, schemes: tuple[str, ...]) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in schemes:
        want = " or ".join(f"{s}://" for s in schemes)
        raise UsageError(f"{flag}: {url!r} is not a {want} URL")
    return url


def _cmd_import(args: argparse.Namespace, console: Console) -> int:
    from kbayes.cli.progress import import_with_progress
    from kbayes.io.store import DuckDBStore

    root = Path(args.source)
    if not root.is_dir():
        raise UsageError(f"--from: {str(root)!r} is not a folder")
    with DuckDBStore(args.store) as store:
        report = import_with_progress(root, store, console, force=args.force)
    return EXIT_NO if report.failed and args.strict else 0


def _cmd_summary(args: argparse.Namespace, console: Console) -> int:
    from kbayes.io.coverage import coverage, observation_gaps
    from kbayes.io.store import DuckDBStore

    with DuckDBStore(_existing_store(args.store), read_only=True) as store:
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

    to = _folder(args.to, "--to")
    with DuckDBStore(_existing_store(args.store), read_only=True) as store:
        paths = store.export_parquet(to)
    console.print(f"wrote {len(paths)} parquet files to {args.to}")
    return 0


def _cmd_kinds(args: argparse.Namespace, console: Console) -> int:
    from kbayes.experiment.registry import get_kind, known_kinds

    _register_kinds()
    for name in known_kinds():
        console.print(f"[bold]{name}[/]: {escape(get_kind(name).description)}")
    return 0


_EPOCH = re.compile(r"[+-]?\d{9,}(?:\.\d*)?")


def _utc(text: str | None, flag: str) -> dt.datetime | None:
    """An aware UTC datetime from ISO text (``2026-05-16T15:00:00Z``; naive means UTC).

    Raises:
        UsageError: naming ``flag`` and the text (an epoch number, a word, an impossible date).
    """
    if text is None:
        return None
    t = text.strip()
    if _EPOCH.fullmatch(t):
        raise UsageError(
            f"{flag}: {text!r} looks like a Unix epoch; give an ISO UTC time such as {EXAMPLE_TIME}"
        )
    try:
        ts = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"{flag}: {text!r} is not an ISO UTC time such as {EXAMPLE_TIME} ({exc})"
        ) from exc
    return ts.astimezone(dt.UTC) if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _signer(args: argparse.Namespace):
    from kbayes.io.kalshi.auth import Signer

    return Signer.from_env(key_id=args.key_id, key_path=args.key_path)


def _csv(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _cmd_fetch(args: argparse.Namespace, console: Console) -> int:
    from kbayes.io import backfill as fetch
    from kbayes.io.kalshi.errors import KalshiError
    from kbayes.io.kalshi.rest import KalshiClient, RetryPolicy
    from kbayes.io.store import DuckDBStore

    _url(args.rest_url, "--rest-url", ("https", "http"))
    lo, hi = _utc(args.since, "--since"), _utc(args.until, "--until")
    if lo is not None and hi is not None and lo > hi:
        raise UsageError(f"--since {args.since} is later than --until {args.until}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout: {args.timeout:g} must be a positive number of seconds")
    if args.retries < 1:
        raise UsageError(f"--retries: {args.retries} must be at least 1")
    tickers, series = _csv(args.tickers), _csv(args.series)
    if args.what == "markets" and not series:
        raise UsageError("fetch markets needs --series")
    if args.what != "markets" and not tickers and not series:
        raise UsageError(f"fetch {args.what} needs --tickers or --series")
    if args.what == "candles" and (lo is None or hi is None):
        raise UsageError("fetch candles needs --since and --until")
    signer = _signer(args)
    store = DuckDBStore(args.store)
    checkpoints = fetch.Checkpoints.beside(args.store)
    client = KalshiClient(
        args.rest_url, signer=signer, timeout=min(10.0, args.timeout), deadline_s=args.timeout,
        retry=RetryPolicy(max_attempts=args.retries),
    )  # fmt: skip
    try:
        n = _run_fetch(args, console, client, fetch, store, checkpoints, lo, hi)
    except KalshiError as exc:
        # Every finished page is in the store and checkpointed: a re-run goes on from there.
        exc.add_note("pages fetched so far are kept; run the same command again to resume")
        raise
    finally:
        client.close()
    console.print(f"fetched {n:,} {args.what} rows into {args.store}")
    unknown = client.fields.unknown()
    if unknown:
        console.print(f"[yellow]unknown fields (kept raw)[/]: {escape(str(unknown))}")
    return 0


def _run_fetch(
    args: argparse.Namespace, console: Console, client, fetch, store, checkpoints,
    lo: dt.datetime | None, hi: dt.datetime | None,
) -> int:  # fmt: skip
    """The rows fetched by ``kbayes fetch`` (options checked by the caller)."""
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
            return sum(
                fetch.fetch_markets(client, store, s, args.status, checkpoints, tick, args.force,
                                    historical=args.historical)
                for s in _csv(args.series)
            )  # fmt: skip
        if args.what == "trades":
            return fetch.fetch_trades(
                client, store, tickers, lo and int(lo.timestamp()), hi and int(hi.timestamp()),
                checkpoints, tick, args.force,
            )  # fmt: skip
        assert lo is not None and hi is not None
        return fetch.fetch_candles(
            client, store, tickers, int(lo.timestamp()), int(hi.timestamp()), args.period,
            checkpoints, tick, args.force,
        )  # fmt: skip


class _ConnectReport:
    """Prints failed connect attempts and rejected subscriptions, at most one connect line
    per ``every_s`` seconds (the count of the ones in between is kept)."""

    def __init__(self, console: Console, url: str, every_s: float = 5.0) -> None:
        self.console, self.url, self.every_s = console, url, every_s
        self._last = -float("inf")
        self._hidden = 0

    def failed(self, exc: BaseException | None, attempt: int) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            self._hidden += 1
            return
        more = f" ({self._hidden} more failed since the last report)" if self._hidden else ""
        why = one_line(exc) if exc is not None else "closed"
        self.console.print(
            f"[yellow]connect failed[/] (attempt {attempt}) {escape(self.url)}: "
            f"{escape(why)}{more}; retrying",
            soft_wrap=True,
        )
        self._last, self._hidden = now, 0

    def rejected(self, rejection: Any) -> None:
        self.console.print(f"[red]rejected[/]: {escape(str(rejection))}", soft_wrap=True)


def _cmd_record(args: argparse.Namespace, console: Console) -> int:
    import asyncio

    from kbayes.io.kalshi.recorder import record
    from kbayes.io.kalshi.ws import WebSocketError

    tickers, series = _csv(args.tickers), _csv(args.series)
    if not tickers and not series:
        raise UsageError("give --tickers or --series")
    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration: {args.duration:g} must be a positive number of seconds")
    _url(args.ws_url, "--ws-url", ("wss", "ws"))
    if series:
        _url(args.rest_url, "--rest-url", ("https", "http"))
    _folder(args.tape, "--tape")
    signer = _signer(args)
    report = _ConnectReport(console, args.ws_url)
    client = asyncio.run(
        record(
            args.tape, tickers=tickers, series=series, ws_url=args.ws_url,
            rest_url=args.rest_url, signer=signer, channels=_csv(args.channels),
            use_yes_price=args.use_yes_price, duration_s=args.duration,
            on_connect_error=report.failed, on_rejected=report.rejected,
        )
    )  # fmt: skip
    console.print(
        f"recorded to {escape(args.tape)}: {dict(client.stream.metrics)} {client.metrics}",
        soft_wrap=True,
    )
    console.print(f"book sync (gaps, locked books, resyncs): {client.stream.sync_report()}")
    for r in client.rejections:
        console.print(f"[red]rejected[/]: {escape(str(r))}", soft_wrap=True)
    if client.close_reason:
        console.print(f"stopped: {escape(client.close_reason)}")
    if client.metrics["connects"] == 0:
        n = client.metrics["connect_errors"]
        last = one_line(client.last_error) if client.last_error else "none"
        raise WebSocketError(
            f"never connected to {args.ws_url}: {n} connect attempts failed; last error: {last}"
        )
    if client.rejections and not client.metrics["subscribed"]:
        raise WebSocketError(
            f"every subscription was rejected: {'; '.join(map(str, client.rejections))}"
        )
    return 0


def _why_not_found(tape: Path, ticker: str, at: dt.datetime) -> str:
    """Why a tape has no book of ``ticker`` at ``at``, for stderr."""
    from kbayes.io.tape import read_tape, tape_files

    files = tape_files(tape)
    if not files:
        return f"{tape} holds no tape files (*.jsonl)"
    at_ns = int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000
    first_t = last_t = seen_t = None
    for e in read_tape(tape, strict=False):
        first_t = e.t_ns if first_t is None else first_t
        last_t = e.t_ns
        if seen_t is None and e.raw and ticker in e.raw:
            seen_t = e.t_ns

    def iso(t_ns: int) -> str:
        return dt.datetime.fromtimestamp(t_ns / 1e9, dt.UTC).isoformat()

    if first_t is None:
        return f"{tape} holds no tape lines"
    if at_ns < first_t:
        return f"--at {at.isoformat()} is before the tape starts ({iso(first_t)})"
    if seen_t is None:
        return (
            f"ticker {ticker} is not on the tape ({len(files)} files, "
            f"{iso(first_t)} to {iso(last_t)})"
        )  # fmt: skip
    if seen_t > at_ns:
        return f"{ticker} first appears on the tape at {iso(seen_t)}, after --at {at.isoformat()}"
    return f"{ticker} has no order-book snapshot on the tape before --at {at.isoformat()}"


def _cmd_book(args: argparse.Namespace, console: Console) -> int:
    import json

    from kbayes.io.kalshi.replay import book_at

    at = _utc(args.at, "--at")
    assert at is not None
    tape = Path(args.tape)
    if not tape.exists():
        raise UsageError(f"--tape: {args.tape!r} does not exist")
    out = book_at(tape, args.ticker, at)
    print(json.dumps(out, indent=2))
    if out["found"]:
        return 0
    console.print(
        f"[yellow]not found[/]: {escape(_why_not_found(tape, args.ticker, at))}", soft_wrap=True
    )
    return EXIT_NO


def _add_kalshi_args(p: argparse.ArgumentParser) -> None:
    from kbayes.io.kalshi.rest import PROD_REST_URL

    p.add_argument("--rest-url", default=PROD_REST_URL, help="REST base URL (default production)")
    p.add_argument("--key-id", help="API key id (default $KALSHI_API_KEY_ID)")
    p.add_argument("--key-path", help="private key PEM (default $KALSHI_PRIVATE_KEY_PATH)")


def _add_market_parsers(sub, common: argparse.ArgumentParser) -> None:
    from kbayes.io.kalshi.ws import DEFAULT_CHANNELS, PROD_WS_URL

    fetch = sub.add_parser(
        "fetch", parents=[common], help="backfill trades, candles or markets from Kalshi REST"
    )
    fetch.add_argument("what", choices=("trades", "candles", "markets"))
    fetch.add_argument("--tickers", help="comma-separated market tickers")
    fetch.add_argument("--series", help="comma-separated series (all their markets)")
    fetch.add_argument("--status", help="market status filter (open, closed, settled)")
    fetch.add_argument("--since", help=f"start, ISO UTC ({EXAMPLE_TIME}; trades, candles)")
    fetch.add_argument("--until", help="end, ISO UTC (trades, candles)")
    fetch.add_argument("--period", type=int, default=60, choices=(1, 60, 1440), help="minutes")
    fetch.add_argument("--historical", action="store_true", help="markets: historical tier")
    fetch.add_argument("--store", default=DEFAULT_STORE)
    fetch.add_argument("--force", action="store_true", help="refetch finished jobs")
    fetch.add_argument(
        "--timeout", type=float, default=60.0,
        help="seconds one request may take in all, connect to last byte (default 60)",
    )  # fmt: skip
    fetch.add_argument(
        "--retries", type=int, default=6, help="attempts per request (429, 5xx, timeouts)"
    )
    _add_kalshi_args(fetch)
    fetch.set_defaults(func=_cmd_fetch)

    rec = sub.add_parser(
        "record", parents=[common], help="record the WebSocket stream to an append-only tape"
    )
    rec.add_argument("--tickers", help="comma-separated market tickers")
    rec.add_argument("--series", help="comma-separated series (their open markets)")
    rec.add_argument("--tape", required=True, help="tape folder (one JSONL file per UTC day)")
    rec.add_argument("--ws-url", default=PROD_WS_URL, help="WebSocket URL (default production)")
    rec.add_argument("--channels", default=",".join(DEFAULT_CHANNELS))
    rec.add_argument("--use-yes-price", action="store_true", help="NO levels in YES-leg prices")
    rec.add_argument("--duration", type=float, help="stop after this many seconds")
    _add_kalshi_args(rec)
    rec.set_defaults(func=_cmd_record)

    book = sub.add_parser(
        "book", parents=[common], help="print a market's book rebuilt from a tape (JSON)"
    )
    book.add_argument("--tape", required=True, help="tape folder or file")
    book.add_argument("--ticker", required=True)
    book.add_argument("--at", required=True, help=f"receive time, ISO UTC ({EXAMPLE_TIME})")
    book.set_defaults(func=_cmd_book)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kbayes",
        description="Probabilistic models for Kalshi daily-high temperature bracket markets.",
        epilog="exit codes: 0 ok, 1 not found / failed files, 2 usage, 3 config, 4 store, "
        "5 auth, 6 Kalshi API, 7 stream, 8 tape",
    )
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    # --debug is accepted after the subcommand too (SUPPRESS: absent there keeps the top value)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", parents=[common], help="run an experiment config (fit, score, report)"
    )
    run.add_argument("config", help="experiment YAML, e.g. configs/demo.yaml")
    run.add_argument("--out", help="output folder (default: the config's `output`)")
    run.add_argument("--data", help="folder of real data to import and use (e.g. ../shared/data)")
    run.add_argument("--store", help="DuckDB store to read (or to import --data into)")
    run.set_defaults(func=_cmd_run)

    rep = sub.add_parser(
        "replay",
        parents=[common],
        help="replay history through the trading pipeline (a config of kind `replay`)",
    )
    rep.add_argument("config", help="replay YAML, e.g. configs/replay_demo.yaml")
    rep.add_argument("--out", help="output folder (default: the config's `output`)")
    rep.add_argument("--data", help="folder of real data to import and use (e.g. ../shared/data)")
    rep.add_argument("--store", help="DuckDB store to read (or to import --data into)")
    rep.set_defaults(func=_cmd_replay)

    data = sub.add_parser("data", help="import, summarise and export the data store")
    dsub = data.add_subparsers(dest="data_command", required=True)
    imp = dsub.add_parser("import", parents=[common], help="import every real file under a folder")
    imp.add_argument("--from", dest="source", required=True, help="data folder (../shared/data)")
    imp.add_argument(
        "--store", default=DEFAULT_STORE, help=f"DuckDB file (default {DEFAULT_STORE})"
    )
    imp.add_argument("--force", action="store_true", help="re-import files whose hash is unchanged")
    imp.add_argument("--strict", action="store_true", help="exit 1 if any file failed")
    imp.set_defaults(func=_cmd_import)
    summ = dsub.add_parser("summary", parents=[common], help="coverage per city and source")
    summ.add_argument("--store", default=DEFAULT_STORE)
    summ.set_defaults(func=_cmd_summary)
    exp = dsub.add_parser("export", parents=[common], help="write every table as parquet")
    exp.add_argument("--store", default=DEFAULT_STORE)
    exp.add_argument("--to", required=True, help="output folder")
    exp.set_defaults(func=_cmd_export)

    kinds = sub.add_parser("kinds", parents=[common], help="list experiment kinds")
    kinds.set_defaults(func=_cmd_kinds)
    _add_market_parsers(sub, common)
    from kbayes.cli.paper import add_paper_parser

    add_paper_parser(sub, common)
    return p


def _store_in_use(exc: Any, args: argparse.Namespace) -> str:
    """The store-locked message, worded for the command that was run."""
    path = exc.path
    if exc.read_only:
        return (
            f"store {path!r} is being written by another process (an import, a fetch or a "
            "run with --data); wait for it to finish, then run this again"
        )
    tip = "wait for it to finish, or give another --store"
    if args.command == "run":
        tip += (
            f"; if that process only reads it, read it here too without importing: "
            f"`kbayes run {args.config} --store {path}`"
        )
    return f"store {path!r} is in use by another process; {tip}"


def main(argv: list[str] | None = None) -> int:
    """Run the ``kbayes`` command; returns the exit code (see :mod:`kbayes.cli.errors`)."""
    from kbayes.io.store import StoreLockedError

    args = build_parser().parse_args(argv)
    # Wide when piped, so tables in logs and CI are not truncated.
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
    try:
        if args.func is _cmd_run or args.func is _cmd_replay:
            from kbayes.cli.jaxcache import enable_compilation_cache

            enable_compilation_cache()
        return int(args.func(args, console) or 0)
    except Exception as exc:
        known = classify(exc)
        if known is None:
            raise  # not a mistake in what the user gave: a bug, with its traceback
        code, label = known
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        text = _store_in_use(exc, args) if isinstance(exc, StoreLockedError) else one_line(exc)
        console.print(f"[red]kbayes {label}[/]: {escape(text)}", soft_wrap=True, highlight=False)
        return code


if __name__ == "__main__":
    sys.exit(main())
