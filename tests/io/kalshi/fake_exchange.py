# ruff: noqa: E501
"""A local Kalshi-like WebSocket exchange for tests (binds 127.0.0.1 only).

It streams a *script* of book events (recorded frames plus generated deltas), renders each as
a frame with the connection's own sid/seq, keeps the true book, answers ``subscribe``,
``unsubscribe`` and ``get_snapshot`` from that truth, verifies the signed handshake with the
test's public key, and injects faults at chosen script positions. Every text it sends is
logged, so a test can compare the client's tape with what went over the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http
import json
import random
from decimal import Decimal
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from kbayes.io.kalshi.auth import verify_headers

WS_PATH = "/trade-api/ws/v2"

# --- an independent reference book: {side: {Decimal price: Decimal size}} --------------------

RefBook = dict[str, dict[Decimal, Decimal]]


def ref_snapshot(msg: dict[str, Any]) -> RefBook:
    """Reference book of a snapshot msg (``*_dollars_fp``; a missing key is an empty side)."""
    return {
        side: {Decimal(p): Decimal(s) for p, s in msg.get(f"{side}_dollars_fp") or []}
        for side in ("yes", "no")
    }


def ref_delta(book: RefBook, msg: dict[str, Any]) -> None:
    """Apply a delta msg to a reference book."""
    lvl = book[msg["side"]]
    p = Decimal(msg["price_dollars"])
    new = lvl.get(p, Decimal(0)) + Decimal(msg["delta_fp"])
    assert new >= 0, f"script error: negative size at {msg}"
    if new == 0:
        lvl.pop(p, None)
    else:
        lvl[p] = new


def ref_from_script(script: list[dict[str, Any]]) -> dict[str, RefBook]:
    """Books rebuilt offline from the full (fault-free) script."""
    books: dict[str, RefBook] = {}
    for item in script:
        if item["kind"] == "snapshot":
            books[item["msg"]["market_ticker"]] = ref_snapshot(item["msg"])
        elif item["kind"] == "delta":
            ref_delta(books[item["msg"]["market_ticker"]], item["msg"])
    return books


def book_as_ref(book: Any) -> RefBook:
    """A kbayes OrderBook in the reference representation."""
    return {
        side: {Decimal(p) / 10_000: Decimal(s) / 100 for p, s in book.bids(side).items()}
        for side in ("yes", "no")
    }


# --- scripts ------------------------------------------------------------------------------------


def recorded_script(capture: dict[str, Any]) -> list[dict[str, Any]]:
    """Script items of a recorded ``{frames: [{received_ms, frame}]}`` capture (subscribed dropped)."""
    items = []
    for f in capture["frames"]:
        frame = f["frame"]
        if frame["type"] == "orderbook_snapshot":
            items.append({"kind": "snapshot", "msg": frame["msg"]})
        elif frame["type"] == "orderbook_delta":
            items.append({"kind": "delta", "msg": frame["msg"]})
        elif frame["type"] == "ok":
            items.append({"kind": "ok", "msg": frame["msg"], "id": frame.get("id")})
    return items


def generate_deltas(
    books: dict[str, RefBook], n: int, seed: int, tick: Decimal = Decimal("0.01")
) -> list[dict[str, Any]]:
    """``n`` valid deltas (no negative size, never crossing) continuing ``books`` (mutated)."""
    rng = random.Random(seed)
    tickers = sorted(books)
    out = []
    while len(out) < n:
        t = rng.choice(tickers)
        book = books[t]
        side = rng.choice(("yes", "no"))
        other = "no" if side == "yes" else "yes"
        levels = book[side]
        if levels and rng.random() < 0.5:
            p = rng.choice(sorted(levels))
            size = levels[p]
            delta = -min(size, Decimal(rng.randint(1, 500)) / (1 if rng.random() < 0.7 else 4))
            if rng.random() < 0.3:
                delta = -size  # remove the level
        else:
            best_other = max(book[other]) if book[other] else Decimal(0)
            hi = Decimal(1) - best_other - tick  # stay strictly uncrossed
            if hi < tick:
                continue
            p = tick * rng.randint(1, int(hi / tick))
            delta = Decimal(rng.randint(1, 300)) + Decimal(rng.randint(0, 99)) / 100
        if delta == 0:
            continue
        msg = {
            "market_ticker": t,
            "market_id": f"gen-{t}",
            "price_dollars": f"{p:.4f}",
            "delta_fp": f"{delta:.2f}",
            "side": side,
            "ts_ms": 1786085300000 + len(out),
        }
        ref_delta(book, msg)
        out.append({"kind": "delta", "msg": msg})
    return out


def synthetic_snapshots(tickers: list[str], seed: int) -> list[dict[str, Any]]:
    """Snapshot items for made-up markets: YES bids 0.01-0.40, NO bids 0.01-0.50."""
    rng = random.Random(seed)
    out = []
    for t in tickers:
        yes = [[f"{Decimal(c) / 100:.4f}", f"{rng.randint(1, 900)}.00"] for c in range(1, 41, 3)]
        no = [[f"{Decimal(c) / 100:.4f}", f"{rng.randint(1, 900)}.00"] for c in range(1, 51, 4)]
        out.append(
            {"kind": "snapshot", "msg": {"market_ticker": t, "market_id": f"id-{t}",
                                         "yes_dollars_fp": yes, "no_dollars_fp": no}}
        )  # fmt: skip
    return out


# --- the server ---------------------------------------------------------------------------------


class FakeExchange:
    """Streams a script over WebSocket with faults.

    Faults (``{script index: fault}``; each fires once, on the first pass over its index):
    ``drop`` (frame not sent, seq consumed), ``duplicate`` (sent twice), ``swap`` (this and
    the next frame sent in reverse order), ``malformed`` (truncated JSON instead of the frame,
    seq consumed), ``error`` (an extra non-terminal error frame), ``terminal`` (extra error 25
    for the book sid), ``crossed`` (an extra in-sequence delta that crosses the book, not in
    the truth), ``locked`` (the same, but the added YES bid makes best YES + best NO exactly
    $1), ``disconnect`` (the connection is aborted before this item).
    """

    def __init__(
        self,
        script: list[dict[str, Any]],
        faults: dict[int, str] | None = None,
        *,
        public_key: Any = None,
        key_id: str | None = None,
        pace_every: int = 20,
        pace_s: float = 0.0,
        pace_ack: bool = False,
    ) -> None:
        self.script = script
        self.faults = dict(faults or {})
        self.public_key = public_key
        self.key_id = key_id
        self.pace_every = pace_every
        self.pace_s = pace_s
        self.pace_ack = pace_ack
        self.truth: dict[str, RefBook] = {}
        self.pos = 0
        self.sent: list[str] = []  # every text frame sent, all connections, in order
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self.auth_failures: list[str] = []
        self.done = asyncio.Event()
        self.port: int | None = None
        self._server: Any = None

    # handshake check, as the exchange does it
    def check_auth(self, connection: ServerConnection, request: Any) -> Any:
        """Refuse handshakes whose KALSHI-ACCESS-* headers do not verify."""
        if self.public_key is None:
            return None
        why = verify_headers(
            self.public_key, request.headers, "GET", request.path, key_id=self.key_id
        )
        if request.path.split("?")[0] != WS_PATH:
            why = f"wrong path {request.path}"
        if why is None:
            return None
        self.auth_failures.append(why)
        return connection.respond(http.HTTPStatus.UNAUTHORIZED, f"{why}\n")

    async def start(self) -> str:
        """Start listening on 127.0.0.1 (random port); returns the ws URL."""
        self._server = await serve(
            self.handler, "127.0.0.1", 0, process_request=self.check_auth, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{self.port}{WS_PATH}"

    async def stop(self) -> None:
        """Close the server and its connections."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def handler(self, ws: ServerConnection) -> None:
        """One connection: answer commands, stream the script from where it stopped."""
        self.connections += 1
        conn = _Conn(self, ws)
        reader = asyncio.create_task(conn.read())
        try:
            await conn.stream()
        except ConnectionClosed:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


class _Conn:
    """Per-connection state: sids, seqs, the book subscription."""

    def __init__(self, ex: FakeExchange, ws: ServerConnection) -> None:
        self.ex, self.ws = ex, ws
        self.commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.next_sid = 1
        self.seq: dict[int, int] = {}
        self.book_sid: int | None = None
        self.tickers: list[str] = []
        self.aborted = False

    async def read(self) -> None:
        try:
            async for text in self.ws:
                cmd = json.loads(text)
                self.ex.received.append(cmd)
                await self.commands.put(cmd)
        finally:
            await self.commands.put(None)  # type: ignore[arg-type]  # connection gone

    async def send(self, obj: dict[str, Any] | str) -> None:
        text = obj if isinstance(obj, str) else json.dumps(obj)
        await self.ws.send(text)
        self.ex.sent.append(text)  # logged once handed to the socket

    def next_seq(self, sid: int) -> int:
        self.seq[sid] = self.seq.get(sid, 0) + 1
        return self.seq[sid]

    async def snapshot(self, ticker: str, cmd_id: int | None = None) -> None:
        book = self.ex.truth.get(ticker, {"yes": {}, "no": {}})
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": f"id-{ticker}"}
        for side in ("yes", "no"):
            if book[side]:  # a key is absent when that side is empty (§7.5)
                msg[f"{side}_dollars_fp"] = [
                    [f"{p:.4f}", f"{s:.2f}"] for p, s in sorted(book[side].items())
                ]
        frame: dict[str, Any] = {"type": "orderbook_snapshot", "sid": self.book_sid,
                                 "seq": self.next_seq(self.book_sid), "msg": msg}  # type: ignore[arg-type]  # fmt: skip
        if cmd_id is not None:
            frame["id"] = cmd_id
        await self.send(frame)

    async def command(self, cmd: dict[str, Any]) -> None:
        params = cmd.get("params") or {}
        if cmd["cmd"] == "subscribe":
            for channel in params["channels"]:
                sid = self.next_sid
                self.next_sid += 1
                await self.send(
                    {"type": "subscribed", "id": cmd["id"], "msg": {"channel": channel, "sid": sid}}
                )
                if channel == "orderbook_delta":
                    self.book_sid = sid
                    self.tickers = list(params.get("market_tickers") or [])
                    if self.ex.pos > 0:  # mid-stream: the truth, then the rest of the script
                        for t in self.tickers:
                            await self.snapshot(t)
        elif cmd["cmd"] == "unsubscribe":
            for sid in params["sids"]:
                await self.send({"type": "unsubscribed", "id": cmd["id"], "sid": sid})
                if sid == self.book_sid:
                    self.book_sid = None
        elif cmd["cmd"] == "update_subscription" and params.get("action") == "get_snapshot":
            sid = params["sids"][0]
            if sid != self.book_sid:
                await self.send(
                    {
                        "type": "error",
                        "id": cmd["id"],
                        "msg": {"code": 7, "msg": "Unknown subscription ID"},
                    }
                )
                return
            for t in params["market_tickers"]:
                await self.snapshot(t, cmd["id"])
        else:
            await self.send(
                {"type": "error", "id": cmd.get("id"), "msg": {"code": 5, "msg": "Unknown command"}}
            )

    async def drain(self) -> None:
        while not self.commands.empty():
            cmd = self.commands.get_nowait()
            if cmd is None:
                raise ConnectionClosed(None, None)
            await self.command(cmd)

    def render(self, item: dict[str, Any]) -> dict[str, Any]:
        sid = self.book_sid
        frame: dict[str, Any] = {"type": {"snapshot": "orderbook_snapshot", "delta": "orderbook_delta", "ok": "ok"}[item["kind"]],
                                 "sid": sid, "seq": self.next_seq(sid), "msg": copy.deepcopy(item["msg"])}  # type: ignore[arg-type]  # fmt: skip
        if item["kind"] == "ok":
            frame["id"] = item.get("id")
        return frame

    def commit(self, item: dict[str, Any]) -> None:
        msg = item["msg"]
        if item["kind"] == "snapshot":
            self.ex.truth[msg["market_ticker"]] = ref_snapshot(msg)
        elif item["kind"] == "delta":
            ref_delta(self.ex.truth[msg["market_ticker"]], msg)

    def crossing_delta(self, by: Decimal = Decimal("0.01")) -> dict[str, Any] | None:
        """A YES bid ``by`` above the implied YES ask (0: exactly at it, a locked book)."""
        for t, book in sorted(self.ex.truth.items()):
            if book["no"]:
                p = Decimal(1) - max(book["no"]) + by
                if Decimal(0) < p < Decimal(1):
                    return {
                        "market_ticker": t,
                        "price_dollars": f"{p:.4f}",
                        "delta_fp": "5.00",
                        "side": "yes",
                    }
        return None

    async def stream(self) -> None:
        ex = self.ex
        while True:
            await self.drain()
            if self.book_sid is None or ex.pos >= len(ex.script):
                if ex.pos >= len(ex.script):
                    ex.done.set()
                cmd = await self.commands.get()
                if cmd is None:
                    return
                await self.command(cmd)
                continue
            i = ex.pos
            fault = ex.faults.pop(i, None)
            if fault == "disconnect":
                self.ws.transport.abort()  # abrupt, like a dropped TCP connection
                return
            item = ex.script[i]
            if fault == "swap" and i + 1 < len(ex.script):
                first, second = self.render(item), self.render(ex.script[i + 1])
                self.commit(item)
                self.commit(ex.script[i + 1])
                await self.send(second)
                await self.send(first)
                ex.pos += 2
                continue
            if fault == "error":
                await self.send(
                    {
                        "type": "error",
                        "id": 999,
                        "msg": {"code": 1, "msg": "Unable to process message"},
                    }
                )
            if fault == "terminal":
                await self.send(
                    {
                        "type": "error",
                        "sid": self.book_sid,
                        "msg": {"code": 25, "msg": "Subscription buffer overflow"},
                    }
                )
            if fault in ("crossed", "locked"):
                bogus = self.crossing_delta(Decimal("0.01" if fault == "crossed" else 0))
                if bogus is not None:
                    await self.send(
                        {
                            "type": "orderbook_delta",
                            "sid": self.book_sid,
                            "seq": self.next_seq(self.book_sid),
                            "msg": bogus,
                        }
                    )  # type: ignore[arg-type]
            frame = self.render(item)
            self.commit(item)
            ex.pos += 1
            if fault == "drop":
                pass
            elif fault == "malformed":
                await self.send(json.dumps(frame)[:-7])
            else:
                await self.send(frame)
                if fault == "duplicate":
                    await self.send(frame)
            if ex.pace_every and ex.pos % ex.pace_every == 0:
                await asyncio.sleep(ex.pace_s)
                if ex.pace_ack:
                    # The client's library answers a ping only after reading every earlier
                    # frame off the socket, so this bounds what is in flight at any moment.
                    try:
                        waiter = await self.ws.ping()
                        await asyncio.wait_for(waiter, 10)
                    except (ConnectionClosed, TimeoutError):
                        return
