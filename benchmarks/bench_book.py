"""Order-book stream speed: 1,000,000 ``orderbook_delta`` frames over 6 markets, against JSON.

One generated ladder day (seeded), in the message shapes of the 2026 WebSocket API
(kalshi-api.md §7.5): one ``orderbook_snapshot`` per market (``yes_dollars_fp`` /
``no_dollars_fp``), then ``orderbook_delta`` frames ``{"type", "sid", "seq", "msg":
{"market_ticker", "market_id", "price_dollars": "0.4400", "delta_fp": "-3.00", "side",
"ts_ms"}}`` on one sid, as compact JSON text (what the socket delivers). The touch of each side
is pulled towards a drifting fair value; most changes are at or near the touch; sizes are
mostly whole contracts, some fractional; the book never crosses nor locks (the generator
keeps best YES bid + best NO bid < $1), so every delta must apply.

Timed over the same frames, each pass from a fresh state (best of ``--repeat``):

* ``json.loads`` of every frame (the reference: the cost of parsing what arrives);
* ``json.loads`` + :meth:`BookStream.handle` (the live path: decode, seq check per sid,
  validated apply);
* :meth:`BookStream.handle` alone on pre-parsed frames (parsed in chunks outside the timer);
* the layers below it, for the profile: :func:`kbayes.io.kalshi.book_wire.apply_delta` (wire
  fields to integers, then the change) and :meth:`OrderBook.change` on decoded integers;
* ``orjson.loads`` (the stream's decoder, :data:`kbayes.io.kalshi.stream.decode_frame`) and
  ``orjson.loads`` + :meth:`BookStream.handle` (the live path as the client runs it);
  ``msgspec.json.decode`` when installed (not a dependency; for context).

The headline is ``book_apply_ratio_vs_json`` = cost of ``handle`` / cost of ``json.loads``
on the same frames (target < 1: applying a delta should cost less than parsing it); the same
ratio against orjson is printed beside it. At the end the stream's books are checked against
the generator's own (equal levels, no resync).

The peer figures (NautilusTrader, hftbacktest, orjson, a dict book) are in
../shared/bench/peers/README.md, measured on ../shared/bench/peers/gen_stream.py's day (legacy
integer-cent shapes, 10% trades). ``--stream FILE`` times that file (or any JSONL of frames)
instead of the generated day, so the kbayes rows there can be reproduced in the same run.

The machine is shared and noisy: compare ratios from one run, not absolute rates.

Run: ``.venv/bin/python benchmarks/bench_book.py [--frames N] [--repeat R]``. The last line is
``book_apply_ratio_vs_json=<r> book_apply_ratio_vs_orjson=<o> book_parse_apply_msgs_per_s=<a>
book_apply_msgs_per_s=<b> json_loads_msgs_per_s=<c> orjson_loads_msgs_per_s=<d>``
(``book_parse_apply`` is the live path: orjson + ``handle``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kbayes.io.kalshi.book_wire import apply_delta, book_from_snapshot, parse_delta
from kbayes.io.kalshi.stream import BookStream, decode_frame
from kbayes.market.book import OrderBook
from kbayes.market.prices import CC_PER_CENT

N_FRAMES = 1_000_000
SEED = 20261207
TICKERS = [f"KXHIGHNY-26DEC07-B{t}.5" for t in (75, 77, 79, 81, 83, 85)]
FAIR = [16, 28, 44, 55, 36, 20]  # initial YES fair value, cents
WEIGHTS = [0.08, 0.20, 0.30, 0.24, 0.12, 0.06]  # share of activity per market
MARKET_IDS = [f"00000000-0000-4000-8000-{m:012d}" for m in range(len(TICKERS))]
TS0_MS = 1_796_601_600_000  # 2026-12-07T00:00:00Z
CHUNK = 50_000  # frames pre-parsed at a time for the "alone" passes (bounded memory)


# --- the generated day ------------------------------------------------------------------------


def _price(cents: int) -> str:
    return f"0.{cents:02d}00"


def _count(centi: int) -> str:
    sign = "-" if centi < 0 else ""
    return f"{sign}{abs(centi) // 100}.{abs(centi) % 100:02d}"


def _size(rng: random.Random) -> int:
    """A resting size in centi-contracts: heavy-tailed, mostly whole contracts."""
    contracts = min(5000, int(rng.paretovariate(1.3) * 8)) + 1
    return contracts * 100 + (rng.randrange(1, 100) if rng.random() < 0.2 else 0)


def _depth(rng: random.Random, n: int) -> int:
    k = 0
    while rng.random() > 0.45 and k < n - 1:  # geometric: mostly at or near the touch
        k += 1
    return k


def generate(
    n_frames: int, seed: int = SEED
) -> tuple[list[bytes], dict[str, tuple[dict[int, int], dict[int, int]]]]:
    """The day as JSON lines (6 snapshots, then ``n_frames`` deltas) and the final books.

    Books are ``{ticker: (yes, no)}`` with ``{price_cc: size_centi}`` sides, for the check.
    """
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    books: list[tuple[dict[int, int], dict[int, int]]] = []  # cents -> centi-contracts
    lines: list[bytes] = []
    seq = 0
    for m, ticker in enumerate(TICKERS):
        sides: list[dict[int, int]] = []
        for top in (FAIR[m] - 1, 100 - FAIR[m] - 1):
            side: dict[int, int] = {}
            p, n_levels = top, rng.randint(10, 30)
            while len(side) < n_levels and p >= 1:
                if p == top or rng.random() < 0.85:
                    side[p] = _size(rng)
                p -= 1
            sides.append(side)
        books.append((sides[0], sides[1]))
        seq += 1
        msg = {"market_ticker": ticker, "market_id": MARKET_IDS[m]}
        for name, side in zip(("yes_dollars_fp", "no_dollars_fp"), sides, strict=True):
            msg[name] = [[_price(p), _count(side[p])] for p in sorted(side)]
        lines.append(
            dumps({"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg}).encode()
        )
    fair = list(FAIR)
    cum = [sum(WEIGHTS[: i + 1]) for i in range(len(WEIGHTS))]
    for i in range(n_frames):
        r = rng.random()
        m = next((j for j, c in enumerate(cum) if r <= c), len(cum) - 1)
        if i % 20_000 == 19_999:
            fair[m] = max(3, min(97, fair[m] + rng.choice((-1, 0, 1))))
        is_yes = rng.random() < 0.5
        own, other = books[m] if is_yes else books[m][::-1]
        target = (fair[m] if is_yes else 100 - fair[m]) - 1  # the touch is pulled to fair − 1
        prices = sorted(own, reverse=True)
        n, best = len(prices), prices[0]
        cap = 99 - max(other)  # highest price that keeps best YES + best NO < $1 (no lock)
        r = rng.random()
        p_rm = 0.03 + (0.06 if n > 28 else 0.0) - (0.02 if best < target else 0.0)
        pull = 0.04 * min(3, target - best) if best < target else 0.0
        p_add = 0.03 + (0.06 if n < 12 else 0.0) + pull
        price = delta = 0
        if r < p_rm and n > 3:  # a level is cancelled whole
            price = prices[_depth(rng, n)]
            delta = -own[price]
        elif r < p_rm + p_add:  # a new level: improve the touch, or somewhere below it
            if rng.random() < (0.9 if best < target else 0.05) and best + 1 <= cap:
                price = best + 1
            else:
                for _ in range(4):
                    p = rng.randint(max(1, best - 25), min(best, cap))
                    if p not in own:
                        price = p
                        break
            if price:
                delta = _size(rng)
        if not price:  # a size change at an existing level
            price = prices[_depth(rng, n)]
            step = (1 + int(rng.expovariate(1 / 4))) * 100
            if rng.random() < 0.2:
                step += rng.randrange(1, 100)
            delta = -min(step, own[price] - 1) if rng.random() < 0.5 and own[price] > 1 else step
        new = own.get(price, 0) + delta
        if new:
            own[price] = new
        else:
            del own[price]
        seq += 1
        lines.append(
            dumps(
                {"type": "orderbook_delta", "sid": 1, "seq": seq,
                 "msg": {"market_ticker": TICKERS[m], "market_id": MARKET_IDS[m],
                         "price_dollars": _price(price), "delta_fp": _count(delta),
                         "side": "yes" if is_yes else "no", "ts_ms": TS0_MS + i * 86}}
            ).encode()
        )  # fmt: skip
    final = {
        t: tuple({p * CC_PER_CENT: s for p, s in side.items()} for side in book)
        for t, book in zip(TICKERS, books, strict=True)
    }
    return lines, final  # type: ignore[return-value]


# --- timing -----------------------------------------------------------------------------------


SUBSCRIBE = {
    "id": 1,
    "cmd": "subscribe",
    "params": {"channels": ["orderbook_delta"], "market_tickers": TICKERS, "use_yes_price": False},
}
SUBSCRIBED = {"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 1}}


def fresh_stream() -> BookStream:
    stream = BookStream()
    stream.sent(SUBSCRIBE)
    stream.handle(SUBSCRIBED)
    return stream


def chunks(lines: Sequence[bytes]) -> Iterator[list[Any]]:
    """Frames parsed a chunk at a time (outside any timer)."""
    for i in range(0, len(lines), CHUNK):
        yield [json.loads(x) for x in lines[i : i + CHUNK]]


def best_of(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def time_decode(lines: Sequence[bytes], loads: Callable[[bytes], Any]) -> float:
    t0 = time.perf_counter()
    for x in lines:
        loads(x)
    return time.perf_counter() - t0


def time_parse_and_handle(
    lines: Sequence[bytes], loads: Callable[[bytes], Any]
) -> tuple[float, BookStream]:
    stream = fresh_stream()
    handle = stream.handle
    t0 = time.perf_counter()
    for x in lines:
        handle(loads(x))
    return time.perf_counter() - t0, stream


def time_handle(lines: Sequence[bytes]) -> tuple[float, BookStream]:
    stream = fresh_stream()
    handle, total = stream.handle, 0.0
    for frames in chunks(lines):
        t0 = time.perf_counter()
        for f in frames:
            handle(f)
        total += time.perf_counter() - t0
    return total, stream


def _snapshot_books(frames: list[Any]) -> dict[str, OrderBook]:
    return {
        f["msg"]["market_ticker"]: book_from_snapshot(f["msg"], seq=f["seq"])
        for f in frames
        if f.get("type") == "orderbook_snapshot"
    }


def time_apply_delta(lines: Sequence[bytes]) -> tuple[float, int]:
    """Seconds spent in ``apply_delta`` and how many deltas it applied."""
    books: dict[str, OrderBook] = {}
    total, count = 0.0, 0
    for frames in chunks(lines):
        books.update(_snapshot_books(frames))
        deltas = [f for f in frames if f.get("type") == "orderbook_delta"]
        t0 = time.perf_counter()
        for f in deltas:
            m = f["msg"]
            apply_delta(books[m["market_ticker"]], m, seq=f["seq"])
        total += time.perf_counter() - t0
        count += len(deltas)
    return total, count


def time_change(lines: Sequence[bytes]) -> tuple[float, int]:
    """Seconds spent in ``OrderBook.change`` and how many changes it applied."""
    books: dict[str, OrderBook] = {}
    total, count = 0.0, 0
    for frames in chunks(lines):
        books.update(_snapshot_books(frames))
        decoded = [
            (books[f["msg"]["market_ticker"]], *parse_delta(f["msg"]), f["seq"])
            for f in frames
            if f.get("type") == "orderbook_delta"
        ]
        t0 = time.perf_counter()
        for book, side, price, delta, seq in decoded:
            book.change(side, price, delta, seq=seq)
        total += time.perf_counter() - t0
        count += len(decoded)
    return total, count


def optional_decoders() -> dict[str, Callable[[bytes], Any] | str]:
    """msgspec's decoder when installed, else why not (orjson is the stream's own)."""
    out: dict[str, Callable[[bytes], Any] | str] = {}
    try:
        import msgspec

        out[f"msgspec.json.decode ({msgspec.__version__})"] = msgspec.json.Decoder().decode
    except ImportError:
        out["msgspec.json.decode"] = "not installed"
    return out


def row(name: str, seconds: float, n: int) -> str:
    return f"{name:<44} {n / seconds:>12,.0f} msgs/s {seconds / n * 1e6:8.3f} µs/frame"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=N_FRAMES, help="delta frames to generate")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--repeat", type=int, default=1, help="best of R runs per pass")
    ap.add_argument("--stream", type=Path, help="time this JSONL of frames instead of the day")
    args = ap.parse_args(argv)
    if args.frames < 1 or args.repeat < 1:
        ap.error(f"--frames={args.frames} and --repeat={args.repeat} must be >= 1")

    t0 = time.perf_counter()
    final: dict[str, tuple[dict[int, int], dict[int, int]]] | None = None
    if args.stream is not None:
        lines = args.stream.read_bytes().splitlines()
        source = f"{args.stream} ({len(lines):,} frames)"
    else:
        lines, final = generate(args.frames, args.seed)
        source = (
            f"{args.frames:,} orderbook_delta frames over {len(TICKERS)} markets, seed {args.seed}"
        )
    n = len(lines)
    size_mb = sum(map(len, lines)) / 1e6
    print(
        f"bench_book: {source}; {size_mb:.0f} MB of JSON, ready in {time.perf_counter() - t0:.1f} s"
    )
    print(
        f"python {platform.python_version()} on {os.cpu_count()} CPUs (a shared machine: "
        "compare ratios from one run), best of "
        f"{args.repeat}; rates count every frame (snapshots included)"
    )

    t_json = best_of(args.repeat, lambda: time_decode(lines, json.loads))
    print(row("json.loads", t_json, n))
    import orjson

    t_orjson = best_of(args.repeat, lambda: time_decode(lines, decode_frame))
    print(row(f"orjson.loads ({orjson.__version__}, the stream's decoder)", t_orjson, n))
    for name, loads in optional_decoders().items():
        if isinstance(loads, str):
            print(f"{name:<44} {loads}")
        else:
            print(row(name, best_of(args.repeat, lambda loads=loads: time_decode(lines, loads)), n))
    runs = [time_parse_and_handle(lines, json.loads) for _ in range(args.repeat)]
    t_json_apply, stream = min(runs, key=lambda r: r[0])
    print(row("json.loads + BookStream.handle", t_json_apply, n))
    runs = [time_parse_and_handle(lines, decode_frame) for _ in range(args.repeat)]
    t_parse_apply, stream = min(runs, key=lambda r: r[0])
    print(row("orjson.loads + BookStream.handle (live path)", t_parse_apply, n))
    t_handle, stream = min((time_handle(lines) for _ in range(args.repeat)), key=lambda r: r[0])
    print(row("BookStream.handle (pre-parsed frames)", t_handle, n))
    t_wire, n_deltas = min(time_apply_delta(lines) for _ in range(args.repeat))
    print(row("  book_wire.apply_delta (wire msg -> change)", t_wire, n_deltas) + " (deltas)")
    t_change, n_deltas = min(time_change(lines) for _ in range(args.repeat))
    print(row("  OrderBook.change (decoded integers)", t_change, n_deltas) + " (deltas)")
    ratio, ratio_orjson = t_handle / t_json, t_handle / t_orjson
    print(f"apply cost / json.loads cost: {ratio:.2f} (target < 1); / orjson: {ratio_orjson:.2f}")

    m = stream.metrics
    trouble = {k: v for k, v in stream.sync_report().items() if v}
    print(
        f"stream: {m['deltas']:,} deltas and {m['snapshots']} snapshots applied, "
        f"{m['malformed']} malformed, out of sync: {trouble or 'never'}"
    )
    if final is not None:
        got = {t: (dict(b.bids("yes")), dict(b.bids("no"))) for t, b in stream.books.items()}
        same = got == final and m["deltas"] == args.frames and not trouble
        print(f"final books equal the generator's: {same}")
        if not same:
            raise SystemExit("the stream did not rebuild the generated books")
    else:
        for t, b in sorted(stream.books.items()):
            bid, ask = b.best_yes_bid, b.best_yes_ask
            bid_cc, ask_cc = (None if x is None else x.price_cc for x in (bid, ask))
            print(f"  {t}: best YES bid {bid_cc}, best YES ask {ask_cc} (centi-cents)")
    print(
        f"book_apply_ratio_vs_json={ratio:.2f} book_apply_ratio_vs_orjson={ratio_orjson:.2f} "
        f"book_parse_apply_msgs_per_s={n / t_parse_apply:.0f} "
        f"book_apply_msgs_per_s={n / t_handle:.0f} json_loads_msgs_per_s={n / t_json:.0f} "
        f"orjson_loads_msgs_per_s={n / t_orjson:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
