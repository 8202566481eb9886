"""WebSocket client against a real local ``websockets`` server streaming recorded frames.

Each case streams the cockpit capture (12 markets: 12 snapshots, 11 acks, 245 deltas) plus
generated deltas, with injected faults. After the stream the client's books must equal books
rebuilt offline from the full fault-free script (an independent Decimal implementation), no
book may be stale, and the tape must hold exactly the frames the server sent, in order.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from kbayes.io.kalshi.auth import Signer
from kbayes.io.kalshi.replay import replay
from kbayes.io.kalshi.rest import RetryPolicy
from kbayes.io.kalshi.stream import BookStream
from kbayes.io.kalshi.ws import KalshiWebSocket, WebSocketAuthError
from kbayes.io.tape import TapeWriter, read_tape
from tests.io.kalshi.conftest import KEY_ID
from tests.io.kalshi.fake_exchange import (
    FakeExchange,
    book_as_ref,
    generate_deltas,
    recorded_script,
    ref_from_script,
    synthetic_snapshots,
)

N_GENERATED = 400


def make_script(capture: dict[str, Any]) -> list[dict[str, Any]]:
    script = recorded_script(capture)
    books = ref_from_script(script)
    return script + generate_deltas(books, N_GENERATED, seed=7)


async def run_case(
    script: list[dict[str, Any]],
    faults: dict[int, str],
    signer: Signer,
    tape_dir: Path,
    *,
    slow_s: float = 0.0,
    timeout_s: float = 20.0,
    on_frame: Any = None,
) -> tuple[KalshiWebSocket, FakeExchange]:
    key = signer._key.public_key()
    ex = FakeExchange(script, faults, public_key=key, key_id=KEY_ID)
    url = await ex.start()
    tickers = sorted(ref_from_script(script))
    disconnects: list[Any] = []

    async def slow(frame: dict[str, Any]) -> None:
        await asyncio.sleep(slow_s)

    client: KalshiWebSocket

    def hook(frame: dict[str, Any]) -> Any:
        on_frame(frame, client.stream)
        return slow(frame) if slow_s else None

    tape = TapeWriter(tape_dir)
    client = KalshiWebSocket(
        url,
        signer=signer,
        tape=tape,
        on_frame=hook if on_frame is not None else slow if slow_s else None,
        on_disconnect=disconnects.append,
        backoff=RetryPolicy(max_attempts=100, base_s=0.02, cap_s=0.1),
        resync_timeout_s=2.0,
    )
    await client.subscribe(["orderbook_delta"], tickers, use_yes_price=False)
    task = asyncio.create_task(client.run())
    ref = ref_from_script(script)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if task.done():
                task.result()
            if ex.done.is_set() and not client.stale and _books(client) == ref:
                # Let in-flight frames land, then check it still holds.
                await asyncio.sleep(0.05)
                if not client.stale and _books(client) == ref:
                    break
            await asyncio.sleep(0.02)
        else:
            pytest.fail(
                f"books never matched: pos={ex.pos}/{len(script)} stale={sorted(client.stale)} "
                f"metrics={dict(client.stream.metrics)} faults left={ex.faults}"
            )
    finally:
        client.stop()
        await asyncio.wait_for(task, 5)
        tape.close()
        await ex.stop()
    client.disconnect_calls = disconnects  # type: ignore[attr-defined]
    return client, ex


def _books(client: KalshiWebSocket) -> dict[str, Any]:
    return {t: book_as_ref(b) for t, b in client.books.items()}


def tape_frames(tape_dir: Path) -> list[str]:
    return [e.raw for e in read_tape(tape_dir) if e.d == "in"]  # type: ignore[misc]


CASES = {
    "clean": {},
    "gap_recorded_and_generated": {60: "drop", 300: "drop"},
    "duplicate": {80: "duplicate", 420: "duplicate"},
    "out_of_order": {90: "swap", 500: "swap"},
    "malformed_json": {100: "malformed", 450: "malformed"},
    "error_frames": {110: "error", 330: "terminal"},
    "disconnect_mid_stream": {150: "disconnect", 480: "disconnect"},
    "crossed_after_delta": {200: "crossed", 520: "crossed"},
    "locked_after_delta": {210: "locked", 530: "locked"},
    "everything": {
        40: "drop",
        70: "duplicate",
        120: "swap",
        160: "malformed",
        210: "error",
        260: "crossed",
        300: "disconnect",
        350: "terminal",
        400: "drop",
        600: "disconnect",
    },
}


@pytest.mark.realdata
@pytest.mark.parametrize("case", sorted(CASES))
def test_books_match_reference_after_fault(
    case: str, ws_capture: dict, signer: Signer, tmp_path: Path
) -> None:
    script = make_script(ws_capture)
    faults = CASES[case]
    client, ex = asyncio.run(run_case(script, dict(faults), signer, tmp_path / "tape"))
    m = client.stream.metrics
    # The tape holds every frame the server sent, in order (count in = count on tape).
    assert tape_frames(tmp_path / "tape") == ex.sent
    assert not ex.auth_failures
    kinds = set(faults.values())
    if "drop" in kinds:
        assert m["gap"] >= 1 and m["resync_snapshot"] >= 1
    if "duplicate" in kinds:
        assert m["duplicate"] >= 1 and m["resync_snapshot"] >= 1
    if "swap" in kinds:
        assert m["gap"] >= 1 and m["out_of_order"] >= 1
    if "malformed" in kinds:
        assert m["malformed"] >= 1 and m["gap"] >= 1
    if "error" in kinds:
        assert m["error_1"] >= 1
    if "terminal" in kinds:
        assert m["error_25"] >= 1 and m["resync_resubscribe"] >= 1
    if "crossed" in kinds:
        assert m["crossed"] >= 1
    if "locked" in kinds:
        assert m["locked"] >= 1 and m["resync_snapshot"] >= 1
    if "disconnect" in kinds:
        n = list(faults.values()).count("disconnect")
        assert client.metrics["connects"] == n + 1 == ex.connections
        assert len(client.disconnect_calls) == n  # type: ignore[attr-defined]
    if case == "clean":
        assert m["resync_snapshot"] == m["resync_resubscribe"] == m["malformed"] == 0
        assert m["deltas"] == sum(1 for s in script if s["kind"] == "delta")
    # The tape alone rebuilds the same books (what `kbayes book` prints).
    offline = replay(tmp_path / "tape")
    assert {t: book_as_ref(b) for t, b in offline.books.items()} == ref_from_script(script)
    assert not offline.stale


@pytest.mark.realdata
def test_slow_consumer_with_buffer_overflow(ws_capture: dict, signer: Signer, tmp_path: Path):
    """A consumer that sleeps per frame; the server reports error 25 (too slow) mid-stream."""
    script = make_script(ws_capture)[:400]
    client, ex = asyncio.run(
        run_case(script, {250: "terminal"}, signer, tmp_path / "tape", slow_s=0.002)
    )
    assert client.stream.metrics["resync_resubscribe"] >= 1
    assert tape_frames(tmp_path / "tape") == ex.sent


@pytest.mark.realdata
def test_use_yes_price_flag_is_sent_and_recorded(ws_capture: dict, signer: Signer, tmp_path):
    script = make_script(ws_capture)[:50]
    _, ex = asyncio.run(run_case(script, {}, signer, tmp_path / "tape"))
    subs = [c for c in ex.received if c["cmd"] == "subscribe"]
    assert subs and all(c["params"]["use_yes_price"] is False for c in subs)
    outs = [e for e in read_tape(tmp_path / "tape") if e.d == "out"]
    assert outs and '"use_yes_price":false' in outs[0].raw  # type: ignore[operator]


def test_handshake_refused_with_wrong_key(signer: Signer, rsa_key, tmp_path: Path) -> None:
    """The server verifies the signature with the test's key; another key is refused."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = Signer(KEY_ID, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    async def go() -> FakeExchange:
        ex = FakeExchange([], public_key=rsa_key.public_key(), key_id=KEY_ID)
        url = await ex.start()
        try:
            client = KalshiWebSocket(url, signer=other, backoff=RetryPolicy(base_s=0.01))
            with pytest.raises(WebSocketAuthError):
                await asyncio.wait_for(client.run(), 5)
            unsigned = KalshiWebSocket(url, signer=None)
            with pytest.raises(WebSocketAuthError):
                await asyncio.wait_for(unsigned.run(), 5)
        finally:
            await ex.stop()
        return ex

    ex = asyncio.run(go())
    assert ex.auth_failures == ["bad signature", "missing KALSHI-ACCESS-* header"]
    assert ex.connections == 0


def _staleness(log: list[tuple[str, frozenset[str]]]) -> Any:
    def record(frame: Any, stream: BookStream) -> None:
        tickers = {t for t in stream.books} | {str((frame.get("msg") or {}).get("market_ticker"))}
        log.append((frame.get("type"), frozenset(t for t in tickers if stream.is_stale(t))))

    return record


def test_replay_flags_the_same_markets_stale_at_the_same_frames(
    signer: Signer, tmp_path: Path
) -> None:
    """Live and tape replay agree, frame by frame, on which markets are stale (locked, gap)."""
    tickers = ["KXHIGHNY-26MAY16-T77", "KXHIGHNY-26MAY16-B78.5", "KXHIGHNY-26MAY16-T83"]
    snaps = synthetic_snapshots(tickers, seed=3)
    script = snaps + generate_deltas(ref_from_script(snaps), 600, seed=11)
    faults = {40: "locked", 150: "drop", 300: "disconnect", 400: "locked", 401: "locked"}
    live: list[tuple[str, frozenset[str]]] = []
    client, _ = asyncio.run(
        run_case(script, dict(faults), signer, tmp_path / "tape", on_frame=_staleness(live))
    )
    m = client.stream.metrics
    # How many injected locks land on a fresh book depends on how many frames are in flight
    # while a resync is answered; at least the first one does (nothing is stale before it).
    assert m["locked"] >= 1 and m["gap"] >= 1 and m["resync_snapshot"] >= 2
    assert any(stale for _, stale in live)  # the faults did make markets stale
    offline: list[tuple[str, frozenset[str]]] = []
    replay(tmp_path / "tape", on_frame=_staleness(offline))
    assert offline == live
