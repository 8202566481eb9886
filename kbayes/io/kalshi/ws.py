"""Kalshi WebSocket client: signed connect, subscriptions, books, resync, reconnect.

The connection side of :class:`~kbayes.io.kalshi.stream.BookStream`: it signs the handshake
(``timestamp + "GET" + "/trade-api/ws/v2"``, kalshi-api.md §7.1), sends commands, feeds every
received frame to the tape (verbatim, before parsing, so even malformed frames are kept) and
then to the stream, and performs the resyncs the stream asks for. Heartbeats: the server pings
every 10 s and ``websockets`` answers; the client pings too and treats a missing pong as a dead
connection. On any disconnect it calls ``on_disconnect`` (the runner's cancel-on-disconnect
hook), waits a jittered exponential backoff, reconnects with fresh signed headers, resubscribes
everything and rebuilds the books from the new snapshots (§7.7).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from kbayes.io.kalshi.auth import Signer, signing_path
from kbayes.io.kalshi.rest import RetryPolicy
from kbayes.io.kalshi.stream import ORDERBOOK, BookStream, Resync, decode_frame
from kbayes.io.tape import TapeWriter
from kbayes.market.book import OrderBook

PROD_WS_URL = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
DEMO_WS_URL = "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
DEFAULT_CHANNELS = ("orderbook_delta", "trade", "ticker", "market_lifecycle_v2")
_NO_TICKER_FILTER = frozenset({"market_lifecycle_v2", "event_lifecycle"})  # §7.6


class WebSocketError(RuntimeError):
    """The stream cannot go on: a handshake refused for good, or every subscription rejected."""


class WebSocketAuthError(WebSocketError):
    """The server refused the handshake (401/403): retrying would not help."""


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A ``subscribe`` the server answered with an error (kalshi-api.md §7.4).

    Attributes:
        channels: The channels of the command.
        tickers: Its ``market_tickers`` (empty for unfiltered channels).
        code: Kalshi's error code (8 unknown channel, 11 invalid parameter, 14 market ticker
            required, ...).
        message: Kalshi's ``msg``.
    """

    channels: tuple[str, ...]
    tickers: tuple[str, ...]
    code: int | None
    message: str

    def __str__(self) -> str:
        what = ",".join(self.channels) + (f" {','.join(self.tickers)}" if self.tickers else "")
        return f"subscribe {what} rejected: error {self.code}: {self.message}"


def _handshake_status(exc: BaseException) -> int | None:
    return exc.response.status_code if isinstance(exc, InvalidStatus) else None


Hook = Callable[..., Awaitable[Any] | Any]


async def _call(hook: Hook | None, *args: Any) -> None:
    if hook is None:
        return
    result = hook(*args)
    if inspect.isawaitable(result):
        await result


class KalshiWebSocket:
    """A self-healing market-data WebSocket.

    Args:
        url: ``wss://…/trade-api/ws/v2`` (production by default) or a local test server.
        signer: Signs the handshake; the exchange requires it for every channel.
        tape: Receives every frame and command verbatim (see :mod:`kbayes.io.tape`).
        on_frame: Called with each decoded frame after the books were updated.
        on_disconnect: Called with the exception when a connection drops (cancel-on-disconnect).
        on_connect: Called after each (re)connect, before resubscribing.
        on_connect_error: Called with ``(exception, consecutive failures)`` after each
            connect attempt that failed (the recorder reports them).
        on_rejected: Called with each :class:`Rejection` of a ``subscribe``.
        backoff: Reconnect delays (0.5 s doubling to 30 s, jittered, by default).
        max_reconnects: Give up after this many consecutive failed reconnects (``None``: never).
        resync_timeout_s: A ``get_snapshot`` unanswered for this long escalates to resubscribe.
        ping_interval_s: Client keep-alive pings; a pong missing for ``ping_timeout_s`` drops
            the connection.
        rng: Randomness for the jitter.
        now_ns: The receive-time clock (UTC ns): it stamps every tape line of a frame or a
            connect and the stream's emitted events alike (injectable for tests; the live
            runner passes its queue's monotone clock).

    Attributes:
        stream: The :class:`BookStream` (books, stale set, metrics).
        metrics: Connection counters (connects, connect_errors, disconnects, commands,
            subscribed, rejected); book counters are in ``stream.metrics``.
        rejections: Every rejected ``subscribe``.
        last_error: The last connect or connection error (``None`` if none).
        close_reason: Why :meth:`run` returned of its own accord (the server closed the
            connection normally, or every subscription was rejected), else ``None``.
    """

    def __init__(
        self,
        url: str = PROD_WS_URL,
        *,
        signer: Signer | None = None,
        tape: TapeWriter | None = None,
        on_frame: Hook | None = None,
        on_disconnect: Hook | None = None,
        on_connect: Hook | None = None,
        on_connect_error: Hook | None = None,
        on_rejected: Hook | None = None,
        backoff: RetryPolicy | None = None,
        max_reconnects: int | None = None,
        resync_timeout_s: float = 5.0,
        ping_interval_s: float | None = 10.0,
        ping_timeout_s: float | None = 20.0,
        open_timeout_s: float = 10.0,
        rng: random.Random | None = None,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.url = url
        self.now_ns = now_ns
        self.signer = signer
        self.tape = tape
        self.on_frame = on_frame
        self.on_disconnect = on_disconnect
        self.on_connect = on_connect
        self.on_connect_error = on_connect_error
        self.on_rejected = on_rejected
        self.backoff = backoff or RetryPolicy(max_attempts=1_000_000, base_s=0.5, cap_s=30.0)
        self.max_reconnects = max_reconnects
        self.resync_timeout_s = resync_timeout_s
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.open_timeout_s = open_timeout_s
        self.rng = rng or random.Random()
        self.stream = BookStream()
        self.metrics: dict[str, int] = {
            "connects": 0, "connect_errors": 0, "disconnects": 0, "commands": 0,
            "subscribed": 0, "rejected": 0,
        }  # fmt: skip
        self.rejections: list[Rejection] = []
        self.last_error: BaseException | None = None
        self.close_reason: str | None = None
        self._subscribes: dict[int, dict[str, Any]] = {}  # unanswered subscribe id -> params
        self._answered_ok = False  # some subscribe of this connection succeeded
        self._wanted: list[dict[str, Any]] = []  # subscribe params to restore after reconnect
        self._ws: ClientConnection | None = None
        self._next_id = 1
        self._snapshot_sent: dict[int, float] = {}
        self._stop = asyncio.Event()
        self._closing: asyncio.Future[None] | None = None
        self.connected = asyncio.Event()

    # --- public API ---------------------------------------------------------------------------

    @property
    def books(self) -> dict[str, OrderBook]:
        """All books (check :attr:`stale` before trading on one)."""
        return self.stream.books

    @property
    def stale(self) -> set[str]:
        """Tickers whose book is out of sync until the next snapshot."""
        return self.stream.stale

    async def subscribe(
        self,
        channels: Sequence[str],
        tickers: Sequence[str] | None = None,
        *,
        use_yes_price: bool = False,
        **extra: Any,
    ) -> None:
        """Subscribe now (if connected) and after every reconnect.

        ``use_yes_price`` is always sent for order-book subscriptions (its default will flip,
        §7.5). Channels that take no ticker filter (lifecycle) are subscribed separately.
        """
        filtered = [c for c in channels if c not in _NO_TICKER_FILTER]
        unfiltered = [c for c in channels if c in _NO_TICKER_FILTER]
        for chans, with_tickers in ((filtered, True), (unfiltered, False)):
            if not chans:
                continue
            params: dict[str, Any] = {"channels": list(chans), **extra}
            if with_tickers and tickers:
                params["market_tickers"] = list(tickers)
            if ORDERBOOK in chans:
                params["use_yes_price"] = use_yes_price
            self._wanted.append(params)
            if self._ws is not None:
                await self._send("subscribe", params)

    async def update(self, sid: int, action: str, tickers: Sequence[str]) -> None:
        """``update_subscription``: ``add_markets``, ``delete_markets`` or ``get_snapshot``."""
        if action in ("add_markets", "delete_markets"):
            channel = self.stream.channel_of(sid)
            for params in self._wanted:
                if channel in params["channels"] and "market_tickers" in params:
                    have = list(params["market_tickers"])
                    if action == "add_markets":
                        params["market_tickers"] = have + [t for t in tickers if t not in have]
                    else:
                        params["market_tickers"] = [t for t in have if t not in tickers]
        await self._send(
            "update_subscription",
            {"sids": [sid], "market_tickers": list(tickers), "action": action},
        )

    async def unsubscribe(self, sids: Sequence[int]) -> None:
        """Unsubscribe sids (they are not restored after a reconnect)."""
        for sid in sids:
            channel = self.stream.channel_of(sid)
            self._wanted = [p for p in self._wanted if channel not in p["channels"]]
            self.stream.retire(sid)
        await self._send("unsubscribe", {"sids": list(sids)})

    def stop(self) -> None:
        """Ask :meth:`run` to return (closes the connection)."""
        self._stop.set()
        if self._ws is not None:
            self._closing = asyncio.ensure_future(self._ws.close())

    async def run(self) -> None:
        """Connect, stream and reconnect until :meth:`stop`, a normal close by the server, or
        the rejection of every subscription (see :attr:`close_reason`).

        Raises:
            WebSocketAuthError: The handshake was refused (bad key or signature).
            WebSocketError: The handshake was refused for good (e.g. 404: a wrong path).
            ConnectionError: ``max_reconnects`` consecutive attempts failed.
        """
        failures = 0
        housekeeping = asyncio.create_task(self._housekeeping())
        try:
            while not self._stop.is_set():
                got_frames = False
                error: BaseException | None = None
                connects = self.metrics["connects"]
                try:
                    got_frames = await self._session()
                except WebSocketError:
                    raise
                except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                    error = exc
                    self.last_error = exc
                if self._stop.is_set():
                    break
                failures = 0 if got_frames else failures + 1
                if self.metrics["connects"] == connects:  # the connect itself failed
                    self.metrics["connect_errors"] += 1
                    await _call(self.on_connect_error, error, failures)
                else:
                    self.metrics["disconnects"] += 1
                    await _call(self.on_disconnect, error)
                if self.max_reconnects is not None and failures > self.max_reconnects:
                    raise ConnectionError(f"{self.url}: {failures} reconnects failed ({error})")
                delay = self.backoff.delay(min(failures, 16), self.rng)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            if self.tape is not None:
                self.tape.sync()

    # --- connection -------------------------------------------------------------------------

    async def _session(self) -> bool:
        """One connection's life; True when at least one frame arrived."""
        headers = self.signer.headers("GET", signing_path(self.url)) if self.signer else {}
        try:
            ws = await connect(
                self.url,
                additional_headers=headers,
                ping_interval=self.ping_interval_s,
                ping_timeout=self.ping_timeout_s,
                open_timeout=self.open_timeout_s,
                max_size=2**24,  # full-depth snapshots of many markets are large
                proxy=None,
            )
        except InvalidStatus as exc:
            status = _handshake_status(exc)
            body = exc.response.body.decode("utf-8", "replace").strip() if exc.response.body else ""
            why = f"{self.url}: handshake refused with HTTP {status}" + (
                f" ({' '.join(body.split())[:200]})" if body else ""
            )
            if status in (401, 403):
                raise WebSocketAuthError(
                    f"{why}; check the key id and private key (--key-id/--key-path or "
                    "KALSHI_API_KEY_ID/KALSHI_PRIVATE_KEY_PATH)"
                ) from exc
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                raise WebSocketError(f"{why}; check --ws-url") from exc  # wrong path: final
            raise
        got = False
        self._ws = ws
        self.metrics["connects"] += 1
        t_ns = self.now_ns()  # the reset's events and the tape's connect line share it
        self.stream.now_ns = t_ns
        self.stream.reset()
        self._snapshot_sent.clear()
        self._next_id = 1  # ids may restart on a new connection (§7.7)
        self._subscribes.clear()
        self._answered_ok = False
        if self.tape is not None:
            self.tape.write_event("connect", t_ns, url=self.url)
        try:
            await _call(self.on_connect)
            for params in self._wanted:
                await self._send("subscribe", params)
            self.connected.set()
            async for raw in ws:
                got = True
                await self._receive(raw)
            # The iteration ends without an error only on a clean close; code 1000 from the
            # server means it is done with us (1001 "going away" is a restart: reconnect).
            if not self._stop.is_set() and ws.close_code == 1000:
                why = ws.close_reason or "code 1000"
                self.close_reason = f"the server closed the connection normally ({why})"
                self._stop.set()
        finally:
            self.connected.clear()
            self._ws = None
            if self.tape is not None:
                self.tape.write_event("disconnect", url=self.url)
            await ws.close()
        return got

    async def _receive(self, raw: str | bytes) -> None:
        t_ns = self.now_ns()
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if self.tape is not None:
            self.tape.write_in(text, t_ns)  # verbatim and first: the tape misses nothing
        try:
            frame = decode_frame(text)
        except ValueError:
            self.stream.metrics["malformed"] += 1
            return
        if not isinstance(frame, Mapping):
            self.stream.metrics["malformed"] += 1
            return
        await self._answer(frame)
        for action in self.stream.handle(frame, t_ns):
            await self._perform(action)
        await _call(self.on_frame, frame)

    async def _answer(self, frame: Mapping[str, Any]) -> None:
        """Match ``subscribed``/``error`` answers to our ``subscribe`` commands."""
        kind, cmd_id = frame.get("type"), frame.get("id")
        if not isinstance(cmd_id, int) or cmd_id not in self._subscribes:
            return
        if kind == "subscribed":
            self.metrics["subscribed"] += 1
            self._answered_ok = True
            self._subscribes.pop(cmd_id, None)  # one answer per channel: the first will do
        elif kind == "error":
            params = self._subscribes.pop(cmd_id)
            msg = frame.get("msg") if isinstance(frame.get("msg"), Mapping) else {}
            code = msg.get("code")  # type: ignore[union-attr]
            rejection = Rejection(
                tuple(params.get("channels") or ()),
                tuple(params.get("market_tickers") or ()),
                code if isinstance(code, int) else None,
                str(msg.get("msg", "")),  # type: ignore[union-attr]
            )
            self.rejections.append(rejection)
            self.metrics["rejected"] += 1
            await _call(self.on_rejected, rejection)
            if not self._subscribes and not self._answered_ok:
                self.close_reason = "every subscription was rejected"
                self.stop()

    async def _send(self, cmd: str, params: Mapping[str, Any]) -> int:
        ws = self._ws
        if ws is None:
            return -1
        msg = {"id": self._next_id, "cmd": cmd, "params": dict(params)}
        self._next_id += 1
        text = json.dumps(msg, separators=(",", ":"))
        if cmd == "subscribe":
            self._subscribes[msg["id"]] = dict(params)
        self.stream.sent(msg)
        if self.tape is not None:
            self.tape.write_out(text)
        self.metrics["commands"] += 1
        with contextlib.suppress(ConnectionClosed):
            await ws.send(text)
        return msg["id"]

    async def _perform(self, action: Resync) -> None:
        if action.how == "snapshot":
            self._snapshot_sent[action.sid] = time.monotonic()
            await self._send(
                "update_subscription",
                {
                    "sids": [action.sid],
                    "market_tickers": list(action.tickers),
                    "action": "get_snapshot",
                },
            )
            return
        self._snapshot_sent.pop(action.sid, None)
        await self._send("unsubscribe", {"sids": [action.sid]})
        params: dict[str, Any] = {"channels": [action.channel]}
        if action.tickers:
            params["market_tickers"] = list(action.tickers)
        if action.channel == ORDERBOOK:
            params["use_yes_price"] = action.use_yes_price
        await self._send("subscribe", params)

    async def _housekeeping(self) -> None:
        """fsync the tape at least every second; escalate unanswered get_snapshot resyncs."""
        while True:
            await asyncio.sleep(0.2)
            if self.tape is not None:
                self.tape.sync_if_due()
            now = time.monotonic()
            for sid, sent in list(self._snapshot_sent.items()):
                sub = self.stream.subs.get(sid)
                if sub is None or not sub.awaiting:
                    self._snapshot_sent.pop(sid, None)
                elif now - sent > self.resync_timeout_s:
                    self._snapshot_sent.pop(sid, None)
                    self.stream.metrics["resync_timeout"] += 1
                    await self._perform(self.stream._resubscribe(sub, "get_snapshot timed out"))
