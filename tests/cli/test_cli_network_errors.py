"""``kbayes record`` and ``kbayes fetch`` against servers that refuse, vanish, close or trickle.

Real servers on 127.0.0.1 (a ``websockets`` server in a loop thread, an ``http.server`` in a
thread); the CLI runs in-process through :func:`kbayes.cli.main`. Every case ends in one line
naming the URL or value and the exit code of its error type, and none waits for its
``--duration`` or hangs.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import ServerConnection, serve

from kbayes.cli import main
from kbayes.cli.errors import EXIT_API, EXIT_AUTH, EXIT_STREAM
from kbayes.io.tape import read_tape
from tests.cli.test_kalshi_cli import LoopThread
from tests.io.kalshi.conftest import KEY_ID
from tests.io.kalshi.conftest import key_file as key_file
from tests.io.kalshi.conftest import rsa_key as rsa_key
from tests.io.kalshi.fake_exchange import WS_PATH, FakeExchange

KNOWN_CHANNELS = {"orderbook_delta", "trade", "ticker", "market_lifecycle_v2"}
UNKNOWN_TICKER = "KXHIGHNY-26AUG07-B999.5"


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("kbayes ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def kalshi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


class Exchange:
    """Answers ``subscribe`` like Kalshi (error 8 for an unknown channel, 11 for an unknown
    market), then optionally closes normally; counts connections."""

    def __init__(self, close_after_s: float | None = None) -> None:
        self.close_after_s = close_after_s
        self.connections = 0
        self.server: Any = None
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        sid = 0
        closer = None
        if self.close_after_s is not None:

            async def close_later() -> None:
                await asyncio.sleep(self.close_after_s)
                await ws.close(1000, "scenario complete")

            closer = asyncio.ensure_future(close_later())
        async for text in ws:
            cmd = json.loads(text)
            params = cmd.get("params") or {}
            if cmd.get("cmd") != "subscribe":
                continue
            bad = [c for c in params.get("channels", []) if c not in KNOWN_CHANNELS]
            if bad:
                msg = {"code": 8, "msg": f"Unknown channel name: {bad[0]}"}
                await ws.send(json.dumps({"id": cmd["id"], "type": "error", "msg": msg}))
            elif UNKNOWN_TICKER in params.get("market_tickers", []):
                msg = {"code": 11, "msg": "Invalid parameter: market_tickers"}
                await ws.send(json.dumps({"id": cmd["id"], "type": "error", "msg": msg}))
            else:
                for channel in params["channels"]:
                    sid += 1
                    frame = {"id": cmd["id"], "type": "subscribed",
                             "msg": {"channel": channel, "sid": sid}}  # fmt: skip
                    await ws.send(json.dumps(frame))
        if closer is not None:
            closer.cancel()

    async def start(self) -> str:
        self.server = await serve(self.handler, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}{WS_PATH}"
        return self.url

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def _serve(loop: LoopThread, ex: Exchange) -> str:
    return loop.run(ex.start())


def test_record_handshake_refused_401(
    loop: LoopThread, key_file: Path, kalshi_env: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()

    async def start() -> tuple[FakeExchange, str]:
        ex = FakeExchange([], public_key=other, key_id=KEY_ID)  # knows another key
        return ex, await ex.start()

    ex, url = loop.run(start())
    try:
        code, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                         "--ws-url", url, "--key-id", KEY_ID, "--key-path", key_file,
                         "--duration", "20")  # fmt: skip
    finally:
        loop.run(ex.stop())
    line = _error_line(err)
    assert code == EXIT_AUTH and url in line and "HTTP 401" in line and "bad signature" in line
    assert len(ex.auth_failures) == 1  # refused once: not retried


def test_record_wrong_path_fails_at_once(
    loop: LoopThread, kalshi_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = Exchange()
    paths: list[str] = []

    def not_found(connection: Any, request: Any) -> Any:
        paths.append(request.path)
        return connection.respond(404, "no such path\n")

    async def start() -> Any:
        return await serve(ex.handler, "127.0.0.1", 0, process_request=not_found)

    server = loop.run(start())
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/wrong/path"
    try:
        code, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                         "--ws-url", url, "--duration", "20")  # fmt: skip
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        loop.run(stop())
    line = _error_line(err)
    assert code == EXIT_STREAM and url in line and "HTTP 404" in line and "--ws-url" in line
    assert paths == ["/wrong/path"]  # refused for good: not retried


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_record_unreachable_reports_attempts_and_fails(
    kalshi_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}{WS_PATH}"
    code, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                     "--ws-url", url, "--duration", "1.5")  # fmt: skip
    line = _error_line(err)
    assert code == EXIT_STREAM and "never connected" in line and url in line
    reports = [ln for ln in err.splitlines() if ln.startswith("connect failed")]
    assert reports and "(attempt 1)" in reports[0] and url in reports[0]
    n = int(line.split(": ")[2].split()[0])  # "... <url>: <n> connect attempts failed; ..."
    assert n >= len(reports) and n >= 2  # rate-limited: fewer lines than attempts


def test_record_stops_when_the_server_closes_normally(
    loop: LoopThread, kalshi_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = Exchange(close_after_s=0.3)
    url = _serve(loop, ex)
    try:
        code, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                         "--ws-url", url, "--duration", "3")  # fmt: skip
    finally:
        loop.run(ex.stop())
    assert code == 0, err
    assert "the server closed the connection normally (scenario complete)" in err
    assert ex.connections == 1  # no reconnect after the normal close
    assert [e.fields["ev"] for e in read_tape(tmp_path / "tape") if e.d == "ev"] == [
        "connect",
        "disconnect",
    ]


def test_record_every_subscription_rejected(
    loop: LoopThread, kalshi_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = Exchange()
    url = _serve(loop, ex)
    try:
        code, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                         "--ws-url", url, "--channels", "orderbook_deltas",
                         "--duration", "20")  # fmt: skip
    finally:
        loop.run(ex.stop())
    line = _error_line(err)
    assert code == EXIT_STREAM and "every subscription was rejected" in line
    assert "orderbook_deltas" in line and "error 8" in line
    assert any(ln.startswith("rejected") and "error 8" in ln for ln in err.splitlines())


def test_record_one_rejected_subscription_is_reported_but_the_rest_record(
    loop: LoopThread, kalshi_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = Exchange()
    url = _serve(loop, ex)
    try:
        code, err = _run(capsys, "record", "--tickers", UNKNOWN_TICKER, "--tape", tmp_path / "t",
                         "--ws-url", url, "--channels", "orderbook_delta,market_lifecycle_v2",
                         "--duration", "1")  # fmt: skip
    finally:
        loop.run(ex.stop())
    assert code == 0, err
    rejected = [ln for ln in err.splitlines() if ln.startswith("rejected")]
    # reported when it happened and again in the final summary
    assert len(rejected) == 2 and all("error 11" in r and UNKNOWN_TICKER in r for r in rejected)
    assert "'rejected': 1" in err and "'subscribed': 1" in err


# --- fetch: an overall deadline per request -----------------------------------------------------


class Trickle(BaseHTTPRequestHandler):
    """Answers one byte every 0.1 s (status line and headers included), for at most 15 s."""

    def do_GET(self) -> None:
        body = json.dumps({"markets": [], "cursor": ""}).encode()
        reply = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        end = time.monotonic() + 15
        for i in range(len(reply)):
            if time.monotonic() > end:
                return
            try:
                self.wfile.write(reply[i : i + 1])
                self.wfile.flush()
            except OSError:
                return  # the client gave up
            time.sleep(0.1)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trickle() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2"
    server.shutdown()
    server.server_close()


def test_fetch_gives_up_on_a_server_that_trickles(
    trickle: str, kalshi_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(capsys, "fetch", "markets", "--series", "KXHIGHNY", "--rest-url", trickle,
                     "--store", tmp_path / "kb.duckdb", "--timeout", "1",
                     "--retries", "2")  # fmt: skip
    line = _error_line(err)
    assert code == EXIT_API and "GET /trade-api/v2/markets" in line
    assert "within the 1 s deadline" in line and "after 2 attempts" in line
    assert "run the same command again to resume" in line
