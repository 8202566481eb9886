"""Live: the WebSocket client, the weather pollers and a timer feeding the one runner loop.

Replay calls :meth:`~kbayes.runner.loop.Runner.step` for each merged event; live calls the
same method for each event off the :class:`~kbayes.clock.live.LiveQueue`, so the state,
the components, the strategy and the broker cannot tell the two apart. The sources:

* **Market data**: :class:`~kbayes.io.kalshi.ws.KalshiWebSocket` with its stream replaced
  by a :class:`QueueStream`, the same :class:`~kbayes.io.kalshi.stream.BookStream` with
  ``emit=True`` that puts the typed events of each frame on the queue while it handles the
  frame, stamped with the frame's receive time. The client writes the frame to its tape
  first, with that same stamp (its ``now_ns`` is the queue's clock), so the tape holds
  everything the runner saw, at the times it saw it: replaying the tape through
  :func:`~kbayes.io.sources.tape_events` with the same grid steps the same events
  (``tests/runner/test_live.py``).
* **Weather**: each :class:`~kbayes.io.weather.poller.WeatherPoller` is polled every
  ``interval`` in a thread; the new reports and forecasts of a poll are converted
  (:func:`weather_events`) to :class:`~kbayes.market.events.WeatherObs` and
  :class:`~kbayes.market.events.ForecastIssued` available at the poll's receive time.
* **Timer**: the queue's grid ticks, put when the clock reaches them.

The weather events put are also written to a weather log (``weather_log``), so the tape and
the log replay the whole run: ``merge([tick_source(...), tape source, weather_log_source(
...)])`` steps the events the live run stepped, in the same order (the queue's stamps are
unique, so no tie is left for the merge's source ranks to break differently).

Paper mode is the default: the broker slot is a :class:`~kbayes.execution.RecordingBroker`,
which records intents and sends nothing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kbayes.clock.live import LiveQueue
from kbayes.clock.merge import RANK_WEATHER, Source
from kbayes.execution.broker import Broker, RecordingBroker
from kbayes.execution.intents import Intent
from kbayes.io.kalshi.auth import Signer
from kbayes.io.kalshi.stream import BookStream, Resync
from kbayes.io.kalshi.ws import DEFAULT_CHANNELS, PROD_WS_URL, KalshiWebSocket
from kbayes.io.tape import TapeWriter
from kbayes.io.weather import poller as wx
from kbayes.market.events import Event, ForecastIssued, Tick, WeatherObs, ns_to_utc, utc_to_ns
from kbayes.runner.loop import Runner, Sink
from kbayes.runner.pipeline import LadderPipeline, TickFrame
from kbayes.signals.strategy import Strategy

LATENCY_SAMPLES = 100_000  # the last this many latencies are kept per kind


class QueueStream(BookStream):
    """A :class:`BookStream` (``emit=True``) whose events go on a live queue as it makes them.

    The client stamps a frame on receipt (``received_ns``, from the queue's clock) and calls
    :meth:`handle` without awaiting in between, so the stamp and the put are one step of the
    event loop and the queue's order is the stamps' order. A reconnect's :meth:`reset`
    (every book stale) puts its events at once too, stamped with the connect time.
    """

    def __init__(self, queue: LiveQueue, history: int = 10_000) -> None:
        super().__init__(history, emit=True)
        self.queue = queue

    def _drain(self) -> None:
        if self.events:
            self.queue.put_many(self.events)
            self.events.clear()

    def handle(self, frame: Mapping[str, Any], received_ns: int | None = None) -> list[Resync]:
        """Handle one frame (stamped now when no receive time is given) and put its events."""
        actions = super().handle(frame, self.queue.now_ns() if received_ns is None else received_ns)
        self._drain()
        return actions

    def reset(self) -> None:
        """A new connection: every book stale, and those events on the queue now."""
        super().reset()
        self._drain()


def weather_events(batch: Sequence[wx.Event], t_ns: int) -> list[Event]:
    """One poll's new reports and forecasts as typed events available at ``t_ns``.

    An :class:`~kbayes.io.weather.poller.ObsEvent` becomes a :class:`WeatherObs` (a report
    without a temperature is dropped: the state's gap flag covers it); the poll's
    :class:`~kbayes.io.weather.poller.ForecastEvent` rows of one ``(station, provider,
    issue time)`` become one :class:`ForecastIssued` path with its targets in time order, as
    the store's forecasts do. A :class:`~kbayes.io.weather.poller.GapEvent` makes no event:
    :class:`~kbayes.state.WeatherState` flags a missing step from the report times itself.
    """
    out: list[Event] = []
    paths: dict[tuple[str, str, dt.datetime], list[tuple[int, float]]] = {}
    for e in batch:
        if isinstance(e, wx.ObsEvent):
            r = e.record
            if r.temp_c is None:
                continue
            out.append(
                WeatherObs(
                    t_ns,
                    utc_to_ns(r.ts),
                    r.station,
                    float(r.temp_c),
                    str(r.temp_source or ""),
                    str(r.report_type),
                    str(r.source),
                )
            )
        elif isinstance(e, wx.ForecastEvent):
            f = e.record
            if f.temp_f is not None:
                key = (f.station, f.provider, f.issued_at)
                paths.setdefault(key, []).append((utc_to_ns(f.target_ts), float(f.temp_f)))
    for (station, provider, issued), rows in paths.items():
        rows.sort()
        out.append(
            ForecastIssued(
                t_ns,
                utc_to_ns(issued),
                station,
                provider,
                tuple(t for t, _ in rows),
                tuple(v for _, v in rows),
            )
        )
    return out


def _yield_to_loop(frame: object) -> Awaitable[None]:
    del frame
    return asyncio.sleep(0)


_WEATHER_TYPES = {"WeatherObs": WeatherObs, "ForecastIssued": ForecastIssued}


def weather_line(ev: WeatherObs | ForecastIssued) -> str:
    """One weather event as a JSON line of the weather log (its type and fields)."""
    return json.dumps({"type": type(ev).__name__, **ev._asdict()}, separators=(",", ":"))


def read_weather_log(path: str | Path) -> Iterator[Event]:
    """The events of a weather log, in the order the live run put them.

    Raises:
        ValueError: a line that is not a weather event (naming the file and line).
    """
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                kind = _WEATHER_TYPES[obj.pop("type")]
                if kind is ForecastIssued:
                    obj["target_ns"] = tuple(obj["target_ns"])
                    obj["temp_f"] = tuple(obj["temp_f"])
                yield kind(**obj)
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{i}: not a weather event ({exc}): {line[:80]!r}") from exc


def weather_log_source(path: str | Path, name: str = "weather") -> Source:
    """A weather log as a merge source (for the replay of a live run)."""
    return Source(name, RANK_WEATHER, read_weather_log(path))


class TeeSink:
    """Hands every tick frame to several sinks (the parquet log and the dashboard)."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def on_tick(
        self, pipeline: LadderPipeline, frame: TickFrame, intents: Sequence[Intent]
    ) -> None:
        for s in self.sinks:
            s.on_tick(pipeline, frame, intents)


class LiveStats(NamedTuple):
    """What a live run did.

    Attributes:
        n_events / n_ticks: events and ticks stepped.
        seconds: wall time of the run.
        late: events the queue restamped (0 unless a hook suspended the client).
        frames: WebSocket frames handled.
        connects: WebSocket connections made.
        close_reason: why the client stopped by itself (``None``: we stopped it).
    """

    n_events: int
    n_ticks: int
    seconds: float
    late: int
    frames: int
    connects: int
    close_reason: str | None


def percentile_us(samples: Sequence[int], q: float) -> float:
    """The ``q``-quantile (0..1, nearest rank) of ns samples, in µs (``nan`` when empty)."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))] / 1000.0


class LiveRun:
    """The live sources around one :class:`~kbayes.runner.loop.Runner` (module docstring).

    Args:
        pipelines: the ladders (their tickers are subscribed).
        sink: where tick frames go (a :class:`~kbayes.runner.sink.FrameSink`, a
            :class:`TeeSink` of it and a dashboard).
        ws_url: the WebSocket (production, or a local server).
        signer: signs the handshake (the exchange requires one; local servers may not).
        tape: a tape folder (or writer) that receives every frame and command.
        tick_s: the decision grid.
        now_ns: the wall clock (injectable: the queue's clock wraps it).
        sleep: the timer's sleep, in seconds of ``now_ns`` (a test clock running ``r`` times
            faster than the wall sleeps ``d / r``).
        pollers: weather pollers (one per city).
        weather_log: a JSON-lines file that receives every weather event put (the tape of
            the pollers: with the WebSocket tape it replays the whole run).
        strategy: asked at ticks (default: do nothing).
        broker: default :class:`RecordingBroker` (paper: nothing is ever sent).
        channels: WebSocket channels subscribed for the ladders' markets.
        use_yes_price: the book subscription's ``use_yes_price``.
        client_options: more :class:`KalshiWebSocket` arguments (backoff, timeouts).
        record_events: keep every stepped event in :attr:`stepped` (tests).

    Attributes:
        queue, runner, client: the parts.
        stepped: the events stepped, in order (with ``record_events``).
        frame_latency_ns / tick_latency_ns: receive (or grid instant) to stepped, per market
            event and per tick (the strategy has been asked), the last
            :data:`LATENCY_SAMPLES` of each.
        weather_polls / weather_errors: polls made and polls that raised.
    """

    def __init__(
        self,
        pipelines: Sequence[LadderPipeline],
        sink: Sink,
        ws_url: str = PROD_WS_URL,
        *,
        signer: Signer | None = None,
        tape: TapeWriter | str | Path | None = None,
        tick_s: float = 10.0,
        now_ns: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        pollers: Sequence[wx.WeatherPoller] = (),
        weather_log: str | Path | None = None,
        strategy: Strategy | None = None,
        broker: Broker | None = None,
        channels: Sequence[str] = DEFAULT_CHANNELS,
        use_yes_price: bool = False,
        client_options: Mapping[str, Any] | None = None,
        record_events: bool = False,
    ) -> None:
        self.queue = LiveQueue(tick_s, now_ns)
        self.runner = Runner(pipelines, sink, strategy, broker or RecordingBroker())
        self.tape = tape if isinstance(tape, TapeWriter) or tape is None else TapeWriter(tape)
        self.client = KalshiWebSocket(
            ws_url, signer=signer, tape=self.tape, now_ns=self.queue.now_ns,
            **dict(client_options or {}),
        )  # fmt: skip
        self.client.stream = QueueStream(self.queue)
        if self.client.on_frame is None:
            # Yield to the loop after each frame: the runner steps its events before the
            # client reads the next frame of a burst (receive-to-step latency of one frame,
            # not of the burst).
            self.client.on_frame = _yield_to_loop
        self.tickers = [t for p in pipelines for t in p.spec.tickers]
        self.pollers = tuple(pollers)
        self.weather_log = None if weather_log is None else Path(weather_log)
        self._wx_fh: Any = None
        self.channels = tuple(channels)
        self.use_yes_price = use_yes_price
        self.record_events = record_events
        self.stepped: list[Event] = []
        self.frame_latency_ns: collections.deque[int] = collections.deque(maxlen=LATENCY_SAMPLES)
        self.tick_latency_ns: collections.deque[int] = collections.deque(maxlen=LATENCY_SAMPLES)
        self.weather_polls = self.weather_errors = 0
        self._wall = now_ns
        self._sleep = sleep
        self._stop = asyncio.Event()

    @property
    def stream(self) -> BookStream:
        """The client's book stream (books, staleness, :meth:`~BookStream.sync_report`)."""
        return self.client.stream

    def stop(self) -> None:
        """Ask :meth:`run` to finish (signal handlers, the dashboard)."""
        self._stop.set()

    async def _consume(self) -> None:
        q, step, wall = self.queue, self.runner.step, self._wall
        frames, ticks = self.frame_latency_ns, self.tick_latency_ns
        record = self.stepped.append if self.record_events else None
        while (ev := await q.get()) is not None:
            step(ev)
            (ticks if type(ev) is Tick else frames).append(wall() - ev.available_ns)
            if record is not None:
                record(ev)

    async def _poll(self, poller: wx.WeatherPoller) -> None:
        """Poll every ``poller.interval``; a poll's events are stamped when it answers."""
        while not self._stop.is_set():
            now = ns_to_utc(self.queue.now_ns())
            try:
                batch = await asyncio.to_thread(poller.poll, now)
            except Exception:  # poll() isolates its feeds; this is the thread
                self.weather_errors += 1
                batch = []
            self.weather_polls += 1
            if batch and not self.queue.closed:
                q = self.queue
                # Stamp, convert and put in one step of the loop (the queue's order).
                put = [q.put(e) for e in weather_events(batch, q.now_ns())]
                if self._wx_fh is not None and put:
                    self._wx_fh.write("".join(weather_line(e) + "\n" for e in put))  # type: ignore[arg-type]
                    self._wx_fh.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), poller.interval.total_seconds())

    async def run(self, duration_s: float | None = None) -> LiveStats:
        """Stream until :meth:`stop`, ``duration_s``, the client's end or a failure.

        The queue is drained before returning, so every frame on the tape was stepped.

        Raises:
            whatever stopped the client (:class:`~kbayes.io.kalshi.ws.WebSocketError`, a
            refused handshake, ``ConnectionError`` after ``max_reconnects``) or the loop
            (a component's error, :class:`~kbayes.clock.guard.LookAheadError`).
        """
        t0 = time.perf_counter()
        if self.weather_log is not None and self.pollers:
            self.weather_log.parent.mkdir(parents=True, exist_ok=True)
            self._wx_fh = open(self.weather_log, "a", encoding="utf-8")  # noqa: SIM115
        if self.tickers:
            await self.client.subscribe(
                self.channels, self.tickers, use_yes_price=self.use_yes_price
            )
        client = asyncio.create_task(self.client.run(), name="kalshi-ws")
        timer = asyncio.create_task(self.queue.run_timer(self._sleep), name="timer")
        consumer = asyncio.create_task(self._consume(), name="runner")
        polls = [asyncio.create_task(self._poll(p), name="weather") for p in self.pollers]
        stopper = asyncio.create_task(self._stop.wait(), name="stop")
        errors: list[BaseException] = []
        try:
            await asyncio.wait(
                {client, consumer, stopper, timer, *polls},
                timeout=duration_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self._stop.set()
            self.client.stop()
            for task in (client, *polls):
                try:
                    await asyncio.wait_for(task, 10.0)
                except (Exception, asyncio.CancelledError) as exc:
                    if not isinstance(exc, asyncio.CancelledError | TimeoutError):
                        errors.append(exc)
            if timer.done() and not timer.cancelled() and timer.exception() is not None:
                errors.append(timer.exception())  # type: ignore[arg-type]
            timer.cancel()
            self.queue.close()
            try:
                await consumer
            except Exception as exc:
                errors.insert(0, exc)  # the loop's own failure first
            stopper.cancel()
            for task in (timer, stopper):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.tape is not None:
                self.tape.sync()
            if self._wx_fh is not None:
                self._wx_fh.close()
                self._wx_fh = None
        if errors:
            raise errors[0]
        return LiveStats(
            self.runner.n_events,
            self.runner.n_ticks,
            time.perf_counter() - t0,
            self.queue.late,
            self.stream.metrics["frames"],
            self.client.metrics["connects"],
            self.client.close_reason,
        )
