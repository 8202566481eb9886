"""SIGKILL the ``kbayes record`` process at random points of a local stream, 20 times.

Every time the tape must parse line by line, hold exactly a prefix of what the server sent
(no hole, no duplicate, no torn line), and miss at most the frames still in flight when the
process died (the recorder writes each frame to the OS as soon as it is received).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from kbayes.io.kalshi.auth import Signer
from kbayes.io.tape import read_tape
from tests.io.kalshi.conftest import KEY_ID
from tests.io.kalshi.fake_exchange import (
    FakeExchange,
    generate_deltas,
    ref_from_script,
    synthetic_snapshots,
)

REPO = Path(__file__).resolve().parents[3]
TICKERS = ["KXHIGHNY-26MAY16-T77", "KXHIGHNY-26MAY16-B78.5", "KXHIGHNY-26MAY16-T83"]
RUNS = 20
# The server waits for a pong after every 20 frames, so at the kill at most one batch is on
# the wire and at most the client library's receive queue (websockets' default max_queue is
# 16 frames) has been read but not yet handed to the recorder.
PACE = 20
IN_FLIGHT_BOUND = 2 * PACE + 16


def _script() -> list[dict]:
    snaps = synthetic_snapshots(TICKERS, seed=3)
    return snaps + generate_deltas(ref_from_script(snaps), 20_000, seed=11)


async def _one_run(
    script: list[dict], key_file: Path, signer: Signer, tape: Path, target: int
) -> tuple[list[str], int]:
    ex = FakeExchange(
        script,
        public_key=signer._key.public_key(),
        key_id=KEY_ID,
        pace_every=PACE,
        pace_s=0.002,
        pace_ack=True,
    )
    url = await ex.start()
    env = {
        **os.environ,
        "KALSHI_API_KEY_ID": KEY_ID,
        "KALSHI_PRIVATE_KEY_PATH": str(key_file),
        "PYTHONPATH": str(REPO),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from kbayes.cli import main; sys.exit(main())",
        "record", "--tickers", ",".join(TICKERS), "--channels", "orderbook_delta",
        "--ws-url", url, "--rest-url", "http://127.0.0.1:9/trade-api/v2", "--tape", str(tape),
        env=env, cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while len(ex.sent) < target and time.monotonic() < deadline and proc.returncode is None:
        await asyncio.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    sent_at_kill = len(ex.sent)
    await asyncio.wait_for(proc.wait(), 10)
    await ex.stop()
    assert not ex.auth_failures
    return list(ex.sent[:sent_at_kill]), sent_at_kill


@pytest.mark.slow
def test_sigkill_loses_nothing_received(key_file: Path, signer: Signer, tmp_path: Path) -> None:
    script = _script()
    rng = random.Random(2026)
    missing = []
    for run in range(RUNS):
        tape = tmp_path / f"tape{run}"
        target = rng.choice([0, 1, 5]) if run < 3 else rng.randint(10, 8000)
        sent, n_sent = asyncio.run(
            _one_run(script, key_file, Signer(KEY_ID, signer._key), tape, target)
        )
        entries = list(read_tape(tape)) if tape.exists() else []  # strict: every line parses
        for path in tape.glob("*.jsonl") if tape.exists() else []:
            data = path.read_bytes()
            assert not data or data.endswith(b"\n"), f"run {run}: torn last line in {path}"
        frames = [e.raw for e in entries if e.d == "in"]
        assert frames == sent[: len(frames)], f"run {run}: tape is not a prefix of the stream"
        missing.append(n_sent - len(frames))
        assert n_sent - len(frames) <= IN_FLIGHT_BOUND, f"run {run}: {missing[-1]} frames lost"
        if n_sent >= 50:
            assert frames, f"run {run}: nothing recorded although {n_sent} frames were sent"
    print(f"frames in flight (sent, not on tape) at each kill: {missing}")
