"""Replay speed of the pipeline: a recorded-format tape through clock, books and features.

One generated ladder day (seeded; :func:`bench_book.generate`'s ``orderbook_delta`` frames
over 6 markets, with one ``trade`` frame on a second sid after about every ninth delta), written
as a recorder tape (one ``{"t", "d": "in", "raw"}`` line per frame, as
:class:`kbayes.io.tape.TapeWriter` writes them, receive times spread over the day). Timed,
each from a fresh state:

* ``json.loads`` of every frame's text (the reference: the cost of parsing what arrived), and
  ``orjson.loads`` for context;
* **replay**: the tape read back (:func:`kbayes.io.sources.tape_events`: tape line, frame,
  the sans-IO stream machine, typed events), merged with a 10-second tick grid by the clock
  (:func:`kbayes.clock.merge`), stepped by the one :class:`~kbayes.runner.loop.Runner` into
  the ladder's state and every feature component of the ``replay`` kind (``--features``)
  and the do-nothing strategy;
* **pipeline**: the same plus the bracket UKF live step at every tick (when the replay kind's
  components include it: ``pmf`` column).

Lines: ``replay_events_per_s``, ``replay_cost_vs_json`` (replay seconds / json.loads
seconds of the same frames; target <= 3), the same against orjson, ``pipeline_events_per_s``
(target >= 100,000). With ``--season STORE`` (a store with the real trade tapes imported:
``kbayes data import --from ../shared/data --store STORE``) every real city-day with trades
is replayed through the full pipeline as the ``replay`` kind does it: ``season_s`` (target
<= 300 s on this machine). The live-path latency (``live_p50_us``, ``live_p99_us``) is
measured against a local WebSocket server by ``benchmarks/bench_live.py`` when present.

The machine is shared and noisy: compare ratios from one run, not absolute rates.

Run: ``.venv/bin/python benchmarks/bench_replay.py [--frames N] [--season STORE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import jax
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_book import SUBSCRIBE, SUBSCRIBED, TICKERS, TS0_MS, generate

from kbayes.clock import merge, tick_source
from kbayes.clock.merge import RANK_MARKET, Source
from kbayes.io.sources import tape_events
from kbayes.runner import FrameSink, LadderPipeline, LadderSpec, Runner

N_FRAMES = 1_000_000
TRADE_EVERY = 9
NS_PER_MS = 1_000_000
TRADE_SUB = {"id": 2, "cmd": "subscribe", "params": {"channels": ["trade"],
             "market_tickers": TICKERS}}  # fmt: skip
TRADE_SUBSCRIBED = {"type": "subscribed", "id": 2, "msg": {"channel": "trade", "sid": 2}}


def write_tape(path: Path, n_frames: int, seed: int = 7) -> list[bytes]:
    """The generated day with trades, as a tape file; returns the frames' texts."""
    deltas, _ = generate(int(n_frames * TRADE_EVERY / (TRADE_EVERY + 1)))
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    frames: list[bytes] = []
    seq = 0
    for i, d in enumerate(deltas):
        frames.append(d)
        if i % TRADE_EVERY == TRADE_EVERY - 1:
            seq += 1
            m = rng.randrange(len(TICKERS))
            cents = rng.randint(5, 95)
            frames.append(dumps({
                "type": "trade", "sid": 2, "seq": seq, "msg": {
                    "trade_id": f"t{seq}", "market_ticker": TICKERS[m],
                    "yes_price_dollars": f"{cents / 100:.4f}",
                    "no_price_dollars": f"{(100 - cents) / 100:.4f}",
                    "count_fp": f"{rng.randint(1, 50)}.00",
                    "taker_outcome_side": rng.choice(("yes", "no")),
                    "ts_ms": TS0_MS + i * 86}}).encode())  # fmt: skip
    span_ns = 86_000 * 1_000_000_000
    t0 = TS0_MS * NS_PER_MS
    with open(path, "wb") as fh:
        fh.write(orjson.dumps({"t": t0, "d": "ev", "ev": "connect"}) + b"\n")
        for cmd in (SUBSCRIBE, TRADE_SUB):
            fh.write(orjson.dumps({"t": t0, "d": "out", "raw": json.dumps(cmd)}) + b"\n")
        for ans in (SUBSCRIBED, TRADE_SUBSCRIBED):
            fh.write(orjson.dumps({"t": t0, "d": "in", "raw": json.dumps(ans)}) + b"\n")
        n = len(frames)
        for i, f in enumerate(frames):
            t = t0 + 1 + (i * span_ns) // n
            fh.write(orjson.dumps({"t": t, "d": "in", "raw": f.decode()}) + b"\n")
    return frames


def spec() -> LadderSpec:
    t0 = TS0_MS * NS_PER_MS
    day = 86_400 * 1_000_000_000
    return LadderSpec("KXHIGHNY-26DEC07", tuple(TICKERS), "", t0, t0 + day, t0, t0 + day)


def time_replay(tape: Path, components) -> tuple[float, int, int]:
    """Seconds, events stepped and ticks of one replay of the tape."""
    s = spec()
    pipe = LadderPipeline(s, components(s))
    runner = Runner([pipe], FrameSink())
    t0 = time.perf_counter()
    runner.run(merge([Source("tape", RANK_MARKET, tape_events(tape)),
                      tick_source(s.start_ns, s.end_ns, 10.0)]))  # fmt: skip
    return time.perf_counter() - t0, runner.n_events, runner.n_ticks


def time_decode(frames: list[bytes], loads) -> float:
    t0 = time.perf_counter()
    for f in frames:
        loads(f)
    return time.perf_counter() - t0


def season(store_path: str, tick_s: float) -> tuple[float, int, int]:
    """Every real city-day with trades through the replay kind's pipeline: seconds."""
    from experiments.replay import component_factory, refs_with_trades
    from kbayes.io.store import DuckDBStore
    from kbayes.runner.replay import ReplayParams, replay_events

    with DuckDBStore(store_path, read_only=True) as store:
        refs = refs_with_trades(store)
        with tempfile.TemporaryDirectory() as out, jax.enable_x64(True):
            build = component_factory(ukf={}, tick_s=tick_s)
            stats = replay_events(store, refs, build, Path(out), ReplayParams(tick_s=tick_s))
    return stats.seconds, len(refs), stats.n_events


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=N_FRAMES)
    ap.add_argument("--features", choices=("top", "all"), default="all",
                    help="components: the top of book only, or the replay kind's")  # fmt: skip
    ap.add_argument("--season", metavar="STORE", help="also replay every real city-day")
    ap.add_argument(
        "--season-tick-s", type=float, default=10.0, help="the season's tick grid (seconds)"
    )
    args = ap.parse_args(argv)
    from experiments import replay as kind
    from kbayes.runner import TopColumns

    # Every feature of the replay kind, Hawkes intensities included (a symmetric model: the
    # cost does not depend on the fitted values), then the same plus the bracket UKF.
    every = {"hawkes": {"mu": 0.05, "alpha": 0.3, "beta": 1.0}}
    feature_components = kind.component_factory(features=every, tick_s=10.0)
    with jax.enable_x64(True):
        pipeline_components = kind.component_factory(ukf={}, features=every, tick_s=10.0)

    def top_only(s):
        return [TopColumns()]

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tape = Path(tmp) / "tape-2026-12-07.jsonl"
        t0 = time.perf_counter()
        frames = write_tape(tape, args.frames)
        print(f"# generated {len(frames):,} frames in {time.perf_counter() - t0:.1f} s")
        json_s = min(time_decode(frames, json.loads) for _ in range(2))
        orjson_s = min(time_decode(frames, orjson.loads) for _ in range(2))
        print(f"json.loads    {len(frames) / json_s:12,.0f} frames/s")
        print(f"orjson.loads  {len(frames) / orjson_s:12,.0f} frames/s")
        comps = top_only if args.features == "top" else feature_components
        replay_s, n_ev, n_ticks = time_replay(tape, comps)
        print(f"replay        {n_ev / replay_s:12,.0f} events/s ({n_ev:,} events, {n_ticks:,} "
              f"ticks, {replay_s:.1f} s)")  # fmt: skip
        with jax.enable_x64(True):
            pipe_s, n_ev2, _ = time_replay(tape, pipeline_components)
        print(f"pipeline      {n_ev2 / pipe_s:12,.0f} events/s ({pipe_s:.1f} s)")
    line = (
        f"replay_events_per_s={n_ev / replay_s:.0f} replay_cost_vs_json={replay_s / json_s:.2f} "
        f"replay_cost_vs_orjson={replay_s / orjson_s:.2f} "
        f"pipeline_events_per_s={n_ev2 / pipe_s:.0f}"
    )
    if args.season:
        season_s, n_days, n_season = season(args.season, args.season_tick_s)
        print(f"season        {n_days} city-days, {n_season:,} events in {season_s:.1f} s "
              f"({args.season_tick_s:g} s ticks)")  # fmt: skip
        line += f" season_s={season_s:.1f} season_tick_s={args.season_tick_s:g}"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
