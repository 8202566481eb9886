"""``kbayes paper CONFIG``: the pipeline live against Kalshi, in paper mode, with a dashboard.

The same runner, state and components as ``kbayes replay`` (the component list is
:func:`experiments.replay.components`), fed by the live sources of
:mod:`kbayes.runner.live`: the WebSocket client (every frame recorded to a tape), the
weather poller, the tick timer. No order is ever sent: the broker slot is
:class:`~kbayes.execution.RecordingBroker`. At the end (``--duration-s``, Ctrl-C, or the
server closing) the per-tick columns go to ``OUT/features/<event>.parquet`` exactly as in
replay, with ``OUT/intents.parquet``, the WebSocket tape in ``OUT/tape/``, the weather
events in ``OUT/weather.jsonl`` (the two replay the run: :func:`~kbayes.io.sources.
tape_events` and :func:`~kbayes.runner.live.weather_log_source`) and ``OUT/paper.json``
(the run's counters and latencies).

The config is a ``replay`` config (its ``params`` give ``tick_s``, ``lead_hours`` and
``tail_hours``: ticks of a ladder run from ``lead_hours`` before its climate day to
``tail_hours`` after) plus a ``live`` section; ``data`` and ``split`` are not needed::

    name: paper_ny
    kind: replay
    params: {tick_s: 10.0}
    live:
      cities: [NY]            # today's event of each city (its climate day, LST) ...
      date: today             # ... or an ISO date
      events: []              # ... and/or event tickers (ladders from REST GET /markets)
      ladders: []             # ... and/or {event: KXHIGHNY-26DEC08, tickers: [...]}: no REST
      channels: [orderbook_delta, trade, ticker, market_lifecycle_v2]
      ws_url: wss://...       # default production (--ws-url overrides)
      rest_url: https://...   # default production (--rest-url overrides)
      tape: ""                # default OUT/tape
      weather: {nws_user_agent: "(kbayes, you@example.com)", poll_s: 300}
    output: runs/paper_ny

The production WebSocket needs an API key (``--key-id``/``--key-path`` or
``KALSHI_API_KEY_ID``/``KALSHI_PRIVATE_KEY_PATH``); a local server (``--ws-url
ws://127.0.0.1:...``) may go without.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import inspect
import json
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape

from kbayes.experiment.errors import ConfigError
from kbayes.market.events import ns_to_utc, utc_to_ns
from kbayes.runner.pipeline import LadderSpec

LIVE_KEYS = {
    "cities", "date", "events", "ladders", "channels", "ws_url", "rest_url", "tape",
    "use_yes_price", "weather", "max_reconnects",
}  # fmt: skip
WEATHER_KEYS = {"nws_user_agent", "nws_url", "poll_s", "max_gap_min"}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class PaperConfig(NamedTuple):
    """A validated paper config (see the module docstring).

    Attributes:
        ladders: ``(event_ticker, tickers or None)``; ``None``: ask REST for the markets.
    """

    name: str
    output: str
    params: Any  # kbayes.runner.replay.ReplayParams
    ladders: tuple[tuple[str, tuple[str, ...] | None], ...]
    channels: tuple[str, ...]
    ws_url: str | None
    rest_url: str | None
    tape: str | None
    use_yes_price: bool
    weather: dict[str, Any]
    max_reconnects: int | None
    kind_params: dict[str, Any]  # the replay kind's resolved params (the component options)
    decision_times: tuple[Any, ...]  # kbayes.experiment.config.DecisionTime


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {value!r} must be a list")
    return value


def _event_parts(event: Any, where: str) -> tuple[str, dt.date]:
    """The city key and climate date of an event ticker, or a ConfigError naming it."""
    from kbayes.market.cities import UnknownCityError, city_of_ticker
    from kbayes.market.ladder import event_date

    if not isinstance(event, str) or not event:
        raise ConfigError(f"{where}: {event!r} must be an event ticker such as KXHIGHNY-26DEC08")
    try:
        return city_of_ticker(event).key, event_date(event)
    except (UnknownCityError, ValueError) as exc:
        why = exc.args[0] if exc.args else exc
        raise ConfigError(f"{where}: {event!r} is not a daily-high event ticker ({why})") from exc


def parse_paper_config(raw: Any, now: dt.datetime | None = None) -> PaperConfig:
    """Validate a paper config mapping (a ``replay`` config plus ``live``).

    Raises:
        ConfigError: naming the first bad key and value.
    """
    import experiments  # noqa: F401  (registers the replay kind)
    from experiments.replay import _params
    from kbayes.experiment.config import DEFAULT_DECISION_TIMES, DecisionTime
    from kbayes.experiment.registry import get_kind
    from kbayes.io.kalshi.rest import event_ticker_for
    from kbayes.io.kalshi.ws import DEFAULT_CHANNELS
    from kbayes.market.cities import UnknownCityError, city_of

    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a mapping at top level, got {type(raw).__name__}")
    kind = raw.get("kind")
    if kind != "replay":
        raise ConfigError(f"kind: {kind!r}; a paper config is a `replay` config with `live`")
    params_raw = raw.get("params") or {}
    if not isinstance(params_raw, dict):
        raise ConfigError(f"params: expected a mapping, got {params_raw!r}")
    replay_kind = get_kind("replay")
    replay_kind.validate_params(params_raw)
    resolved = replay_kind.resolve_params(params_raw)
    params = _params(resolved)
    dts_raw = raw.get("decision_times", list(DEFAULT_DECISION_TIMES))
    if not isinstance(dts_raw, list) or not dts_raw:
        raise ConfigError(f"decision_times: {dts_raw!r} must be a non-empty list")
    decision_times = tuple(DecisionTime.parse(x) for x in dts_raw)
    live = raw.get("live")
    if not isinstance(live, dict):
        raise ConfigError(
            "live: missing (or not a mapping); a paper config needs live.cities, live.events "
            "or live.ladders"
        )
    extra = sorted(set(live) - LIVE_KEYS)
    if extra:
        raise ConfigError(f"live: unknown key(s) {extra}; allowed: {sorted(LIVE_KEYS)}")

    ladders: dict[str, tuple[str, ...] | None] = {}
    for i, item in enumerate(_list(live.get("ladders"), "live.ladders")):
        where = f"live.ladders[{i}]"
        if not isinstance(item, dict) or set(item) - {"event", "tickers"}:
            raise ConfigError(f"{where}: {item!r} must be a mapping with `event` and `tickers`")
        _event_parts(item.get("event"), f"{where}.event")
        tickers = _list(item.get("tickers"), f"{where}.tickers")
        if not tickers or not all(isinstance(t, str) and t for t in tickers):
            raise ConfigError(f"{where}.tickers: {tickers!r} must be a non-empty list of tickers")
        if len(set(tickers)) != len(tickers):
            raise ConfigError(f"{where}.tickers: duplicates in {tickers}")
        ladders[item["event"]] = tuple(tickers)
    for i, event in enumerate(_list(live.get("events"), "live.events")):
        _event_parts(event, f"live.events[{i}]")
        ladders.setdefault(event, None)
    date_raw = live.get("date", "today")
    for i, name in enumerate(_list(live.get("cities"), "live.cities")):
        try:
            city = city_of(str(name))
        except UnknownCityError as exc:
            raise ConfigError(f"live.cities[{i}]: {exc.args[0]}") from exc
        if date_raw == "today":
            day = city.climate_day_of(now or dt.datetime.now(dt.UTC))
        elif isinstance(date_raw, dt.date) and not isinstance(date_raw, dt.datetime):
            day = date_raw
        else:
            try:
                day = dt.date.fromisoformat(str(date_raw))
            except ValueError as exc:
                raise ConfigError(
                    f"live.date: {date_raw!r} must be `today` or a date (YYYY-MM-DD)"
                ) from exc
        ladders.setdefault(event_ticker_for(city, day), None)
    if not ladders:
        raise ConfigError("live: no ladder; give live.cities, live.events or live.ladders")

    channels = _list(live.get("channels"), "live.channels") or list(DEFAULT_CHANNELS)
    if not all(isinstance(c, str) and c for c in channels):
        raise ConfigError(f"live.channels: {channels!r} must be channel names")
    if "orderbook_delta" not in channels:
        raise ConfigError(f"live.channels: {channels!r} must include orderbook_delta (the books)")
    weather = live.get("weather") or {}
    if not isinstance(weather, dict) or set(weather) - WEATHER_KEYS:
        raise ConfigError(f"live.weather: {weather!r}: allowed keys {sorted(WEATHER_KEYS)}")
    for key in ("poll_s", "max_gap_min"):
        v = weather.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v <= 0):
            raise ConfigError(f"live.weather.{key}: {v!r} must be a positive number")
    reconnects = live.get("max_reconnects")
    if reconnects is not None and (
        isinstance(reconnects, bool) or not isinstance(reconnects, int) or reconnects < 0
    ):
        raise ConfigError(f"live.max_reconnects: {reconnects!r} must be a non-negative integer")
    for key in ("ws_url", "rest_url", "tape"):
        if live.get(key) is not None and not isinstance(live[key], str):
            raise ConfigError(f"live.{key}: {live[key]!r} must be a string")
    use_yes = live.get("use_yes_price", False)
    if not isinstance(use_yes, bool):
        raise ConfigError(f"live.use_yes_price: {use_yes!r} must be true or false")
    name = str(raw.get("name") or "paper")
    return PaperConfig(
        name,
        str(raw.get("output") or f"runs/{name}"),
        params,
        tuple(ladders.items()),
        tuple(channels),
        live.get("ws_url") or None,
        live.get("rest_url") or None,
        live.get("tape") or None,
        use_yes,
        dict(weather),
        reconnects,
        resolved,
        decision_times,
    )


def load_paper_config(path: str | Path) -> PaperConfig:
    """Read and validate a paper config file (errors start with the file's path)."""
    from kbayes.experiment.config import read_yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        return parse_paper_config(read_yaml(path.read_text()))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


async def ladder_tickers(event: str, rest_url: str, signer: Any = None, **client: Any) -> tuple:
    """The markets of an event in bracket order (REST ``GET /markets?event_ticker=``).

    Raises:
        ConfigError: the event has no markets there, or they do not tile the integers.
        KalshiError: the request failed.
    """
    from kbayes.io.kalshi.rest import AsyncKalshiClient
    from kbayes.market.ladder import Ladder, LadderError

    async with AsyncKalshiClient(rest_url, signer=signer, **client) as api:
        markets = [m.raw async for m in api.markets(event_ticker=event)]
    if not markets:
        raise ConfigError(f"live: event {event!r} has no markets at {rest_url}")
    try:
        return tuple(Ladder.from_markets(event, markets).tickers)
    except LadderError as exc:
        raise ConfigError(f"live: event {event!r}: {exc}") from exc


def ladder_specs(cfg: PaperConfig, tickers: dict[str, tuple[str, ...]]) -> list[LadderSpec]:
    """The runner's spec of every ladder (climate-day window, tick range from ``params``)."""
    from kbayes.runner.replay import EventRef, ladder_spec

    out = []
    for event, _ in cfg.ladders:
        city, day = _event_parts(event, "live")
        out.append(ladder_spec(EventRef(event, tickers[event], city, day), cfg.params))
    return out


def paper_components(cfg: PaperConfig) -> Callable[[LadderSpec], list[Any]]:
    """The ladder components the ``replay`` kind would build for this config.

    The replay kind's factory (decision times and its UKF options from ``params``) when it
    has one, else its :func:`experiments.replay.components` list: paper and replay run the
    same components.
    """
    from experiments import replay as kind

    factory = getattr(kind, "component_factory", None)
    if factory is None:
        return kind.components
    ukf = dict(cfg.kind_params.get("ukf") or {})
    enabled = ukf.pop("enabled", True)
    options = {"ukf": ukf if enabled else None}
    # What the kind's run() passes besides (the factory grows options as features land).
    takes = inspect.signature(factory).parameters
    if "features" in takes:
        options["features"] = cfg.kind_params.get("features")
    if "tick_s" in takes:
        options["tick_s"] = cfg.params.tick_s
    return factory(cfg.decision_times, **options)


def _pollers(cfg: PaperConfig, specs: Sequence[LadderSpec]) -> list[Any]:
    """One NWS poller per city (when ``live.weather.nws_user_agent`` is set)."""
    agent = cfg.weather.get("nws_user_agent")
    if not agent:
        return []
    from kbayes.io.weather.nws import BASE_URL, NWSClient
    from kbayes.io.weather.poller import WeatherPoller
    from kbayes.market.cities import city_of_ticker

    client = NWSClient(str(agent), base_url=str(cfg.weather.get("nws_url") or BASE_URL))
    out, seen = [], set()
    for spec in specs:
        city = city_of_ticker(spec.event_ticker)
        if city.key in seen:
            continue
        seen.add(city.key)

        def fetch(start: dt.datetime, end: dt.datetime, station: str = city.station):
            return client.observations(station, start, end), []

        out.append(
            WeatherPoller(
                city,
                {"nws": fetch},
                interval=dt.timedelta(seconds=float(cfg.weather.get("poll_s", 300))),
                max_gap=dt.timedelta(minutes=float(cfg.weather.get("max_gap_min", 20))),
            )
        )
    return out


def _status(run: Any) -> dict[str, Any]:
    from kbayes.runner.live import percentile_us

    sync = run.stream.sync_report()
    out = {
        "events": f"{run.runner.n_events:,}",
        "ticks": run.runner.n_ticks,
        "frames": f"{run.stream.metrics['frames']:,}",
        "stale books": sync["stale_now"],
        "seq gaps": sync["gap"],
        "resyncs": sync["resync_snapshot"] + sync["resync_resubscribe"],
        "connects": run.client.metrics["connects"],
    }
    if run.pollers:
        out["weather polls"] = run.weather_polls
    p50 = percentile_us(list(run.frame_latency_ns)[-2000:], 0.5)
    if p50 == p50:
        out["frame→step p50"] = f"{p50:.0f}µs"
    if run.queue.late:
        out["late"] = run.queue.late
    return out


async def _live(run: Any, duration_s: float | None, dashboard: Any, console: Console) -> Any:
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, run.stop)
            handled.append(sig)
    try:
        if dashboard is None:
            return await run.run(duration_s)
        from rich.live import Live

        with Live(dashboard.render(), console=console, auto_refresh=False) as screen:

            async def refresh() -> None:
                while True:
                    screen.update(dashboard.render(), refresh=True)
                    await asyncio.sleep(0.5)

            painter = asyncio.create_task(refresh())
            try:
                stats = await run.run(duration_s)
            finally:
                painter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await painter
                screen.update(dashboard.render(), refresh=True)
                if not console.is_terminal:
                    console.line()  # a piped Live leaves its last line open
        return stats
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def _cmd_paper(args: argparse.Namespace, console: Console) -> int:
    import jax

    from kbayes.cli import _folder, _signer, _url
    from kbayes.cli.errors import UsageError
    from kbayes.cli.jaxcache import enable_compilation_cache
    from kbayes.io.kalshi.auth import AuthError
    from kbayes.io.kalshi.rest import PROD_REST_URL
    from kbayes.io.kalshi.ws import PROD_WS_URL

    if args.duration_s is not None and not args.duration_s > 0:
        raise UsageError(f"--duration-s: {args.duration_s:g} must be a positive number of seconds")
    cfg = load_paper_config(args.config)
    ws_url = _url(args.ws_url or cfg.ws_url or PROD_WS_URL, "--ws-url", ("wss", "ws"))
    rest_url = args.rest_url or cfg.rest_url or PROD_REST_URL
    out_dir = _folder(args.out or cfg.output, "--out")
    signer = _signer(args)
    if signer is None and (urlsplit(ws_url).hostname or "") not in LOCAL_HOSTS:
        raise AuthError(
            f"{ws_url} needs an API key: give --key-id and --key-path or set "
            "KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH (a local --ws-url may go without)"
        )
    tickers = {e: t for e, t in cfg.ladders if t is not None}
    missing = [e for e, t in cfg.ladders if t is None]
    if missing:
        _url(rest_url, "--rest-url", ("https", "http"))

        async def resolve() -> list[tuple]:
            return [await ladder_tickers(e, rest_url, signer, deadline_s=30.0) for e in missing]

        tickers.update(zip(missing, asyncio.run(resolve()), strict=True))
    specs = ladder_specs(cfg, tickers)
    now = utc_to_ns(dt.datetime.now(dt.UTC))
    for s in specs:
        if not s.start_ns <= now <= s.end_ns:
            console.print(
                f"[yellow]{s.event_ticker}[/]: not active now: its ticks run from "
                f"{ns_to_utc(s.start_ns):%Y-%m-%d %H:%M} to {ns_to_utc(s.end_ns):%Y-%m-%d %H:%M}"
                " UTC (params.lead_hours / tail_hours)"
            )
    enable_compilation_cache()
    with jax.enable_x64(True):  # the model steps in float64, as the replay kind runs them
        return _paper(cfg, specs, ws_url, signer, out_dir, args, console)


def _paper(
    cfg: PaperConfig,
    specs: list[LadderSpec],
    ws_url: str,
    signer: Any,
    out_dir: Path,
    args: argparse.Namespace,
    console: Console,
) -> int:
    from kbayes.cli import _ConnectReport
    from kbayes.cli.dashboard import Dashboard
    from kbayes.execution.broker import RecordingBroker
    from kbayes.io.kalshi.rest import RetryPolicy
    from kbayes.io.kalshi.ws import WebSocketError
    from kbayes.runner.live import LiveRun, TeeSink, percentile_us
    from kbayes.runner.pipeline import LadderPipeline
    from kbayes.runner.sink import FrameSink

    components = paper_components(cfg)
    sink = FrameSink()
    dashboard = None if args.no_dashboard else Dashboard()
    report = _ConnectReport(console, ws_url)
    run = LiveRun(
        [LadderPipeline(s, components(s)) for s in specs],
        TeeSink(sink, dashboard) if dashboard is not None else sink,
        ws_url,
        signer=signer,
        tape=Path(cfg.tape) if cfg.tape else out_dir / "tape",
        tick_s=cfg.params.tick_s,
        pollers=_pollers(cfg, specs),
        weather_log=out_dir / "weather.jsonl",
        broker=RecordingBroker(),  # paper: intents are recorded, nothing is ever sent
        channels=cfg.channels,
        use_yes_price=cfg.use_yes_price,
        client_options={
            "on_connect_error": report.failed,
            "on_rejected": report.rejected,
            "max_reconnects": cfg.max_reconnects,
            "backoff": RetryPolicy(max_attempts=1_000_000, base_s=0.5, cap_s=30.0),
        },
    )
    if dashboard is not None:
        dashboard.status = lambda: _status(run)
    console.print(
        f"paper: {len(specs)} ladder(s) {', '.join(s.event_ticker for s in specs)} on "
        f"{escape(ws_url)}, ticks every {cfg.params.tick_s:g} s; Ctrl-C stops",
        soft_wrap=True,
    )
    try:
        stats = asyncio.run(_live(run, args.duration_s, dashboard, console))
    finally:
        paths = sink.write(out_dir)
        summary = {
            "ladders": [s.event_ticker for s in specs],
            "events": run.runner.n_events,
            "ticks": run.runner.n_ticks,
            "late": run.queue.late,
            "unrouted": run.runner.unrouted,
            "ws": run.client.metrics,
            "sync": run.stream.sync_report(),
            "weather_polls": run.weather_polls,
            "frame_to_step_us": {
                "p50": percentile_us(list(run.frame_latency_ns), 0.5),
                "p99": percentile_us(list(run.frame_latency_ns), 0.99),
                "n": len(run.frame_latency_ns),
            },
            "tick_to_step_us": {
                "p50": percentile_us(list(run.tick_latency_ns), 0.5),
                "p99": percentile_us(list(run.tick_latency_ns), 0.99),
                "n": len(run.tick_latency_ns),
            },
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "paper.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    console.print(
        f"paper: {stats.n_events:,} events ({stats.frames:,} frames, {stats.n_ticks:,} ticks) "
        f"in {stats.seconds:.1f} s; wrote {len(paths)} file(s) to {escape(str(out_dir))}",
        soft_wrap=True,
    )
    console.print(f"book sync (gaps, locked books, resyncs): {run.stream.sync_report()}")
    if stats.close_reason:
        console.print(f"stopped: {escape(stats.close_reason)}")
    if stats.connects == 0:
        last = run.client.last_error
        raise WebSocketError(
            f"never connected to {ws_url}: {run.client.metrics['connect_errors']} connect "
            f"attempts failed; last error: {last if last is not None else 'none'}"
        )
    if run.client.rejections and not run.client.metrics["subscribed"]:
        raise WebSocketError(
            f"every subscription was rejected: {'; '.join(map(str, run.client.rejections))}"
        )
    return 0


def add_paper_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``kbayes paper`` on the top-level subparsers."""
    p = sub.add_parser(
        "paper",
        parents=[common],
        help="run the pipeline live against Kalshi in paper mode (no orders) with a dashboard",
    )
    p.add_argument("config", help="a replay config with a `live` section")
    p.add_argument("--ws-url", help="WebSocket URL (default: live.ws_url, else production)")
    p.add_argument("--rest-url", help="REST base URL (default: live.rest_url, else production)")
    p.add_argument("--out", help="output folder (default: the config's `output`)")
    p.add_argument("--duration-s", type=float, help="stop after this many seconds")
    p.add_argument("--no-dashboard", action="store_true", help="no terminal dashboard")
    p.add_argument("--key-id", help="API key id (default $KALSHI_API_KEY_ID)")
    p.add_argument("--key-path", help="private key PEM (default $KALSHI_PRIVATE_KEY_PATH)")
    p.set_defaults(func=_cmd_paper)
