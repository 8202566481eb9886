# ruff: noqa: E501
"""``kbayes fetch`` and ``kbayes record`` end to end, against exchanges on 127.0.0.1.

The REST side is a real HTTP server (``http.server`` in a thread) serving the documented 2026
payload shapes (kalshi-api.md §5.3, §5.6: dollar and count strings, ``*_fp`` fields, string
cursors ending in ``""``) and checking every request's RSA-PSS signature; the WebSocket side is
the :class:`~tests.io.kalshi.fake_exchange.FakeExchange` of the client tests. The CLI runs
in-process through :func:`kbayes.cli.main`, exactly as the ``kbayes`` script calls it, with the
store and tape under ``tmp_path``. Expected values are computed from the served JSON with
``decimal`` here, never by kbayes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from kbayes.cli import main
from kbayes.io.kalshi.auth import verify_headers
from kbayes.io.store import DuckDBStore
from kbayes.io.tape import read_tape
from tests.io.kalshi.conftest import KEY_ID
from tests.io.kalshi.conftest import key_file as key_file
from tests.io.kalshi.conftest import rsa_key as rsa_key
from tests.io.kalshi.fake_exchange import (
    FakeExchange,
    generate_deltas,
    ref_from_script,
    synthetic_snapshots,
)

API = "/trade-api/v2"
SERIES = "KXHIGHNY"
PAGE = 4  # markets per page: the first event's 6 brackets straddle pages 0 and 1
TRADE_PAGE = 2
TRADES_CUTOFF = dt.datetime(2026, 5, 16, 0, 0, tzinfo=dt.UTC)
CUTOFF = {
    "market_settled_ts": "2026-05-01T00:00:00Z",
    "trades_created_ts": "2026-05-16T00:00:00Z",
    "orders_updated_ts": "2026-05-01T00:00:00Z",
}

# --- the served data ---------------------------------------------------------------------------

# (suffix, strike_type, floor_strike, cap_strike, yes_sub_title): a 6-bracket ladder tiling Z.
LADDER = [
    ("T75", "less", None, 75, "74° or below"),
    ("B75.5", "between", 75, 76, "75° to 76°"),
    ("B77.5", "between", 77, 78, "77° to 78°"),
    ("B79.5", "between", 79, 80, "79° to 80°"),
    ("B81.5", "between", 81, 82, "81° to 82°"),
    ("T82", "greater", 82, None, "83° or above"),
]
BOUNDS = {"T75": (None, 74), "B75.5": (75, 76), "B77.5": (77, 78), "B79.5": (79, 80),
          "B81.5": (81, 82), "T82": (83, None)}  # fmt: skip


def _iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _market(event: str, i: int, spec: tuple, *, settled_yes: str | None) -> dict[str, Any]:
    """A market object with every field of the OpenAPI 3.28.0 ``Market`` a KXHIGH one has."""
    suffix, strike_type, floor, cap, label = spec
    day = dt.datetime.strptime(event.split("-")[1], "%y%b%d").replace(tzinfo=dt.UTC)
    settled = settled_yes is not None
    m: dict[str, Any] = {
        "ticker": f"{event}-{suffix}", "event_ticker": event, "market_type": "binary",
        "yes_sub_title": label, "no_sub_title": label,
        "created_time": _iso(day - dt.timedelta(days=2)), "updated_time": _iso(day),
        "open_time": _iso(day - dt.timedelta(hours=10)), "close_time": _iso(day + dt.timedelta(hours=28, minutes=59)),
        "expected_expiration_time": _iso(day + dt.timedelta(hours=38)),
        "latest_expiration_time": _iso(day + dt.timedelta(days=7, hours=14)),
        "settlement_timer_seconds": 3600, "status": "finalized" if settled else "active",
        "yes_bid_dollars": "0.0000" if settled else f"0.{10 + 7 * i:02d}00",
        "yes_ask_dollars": "1.0000" if settled else f"0.{14 + 7 * i:02d}00",
        "no_bid_dollars": "0.0000" if settled else f"0.{86 - 7 * i:02d}00",
        "no_ask_dollars": "1.0000" if settled else f"0.{90 - 7 * i:02d}00",
        "yes_bid_size_fp": "0.00" if settled else f"{3 * i + 1}.00", "yes_ask_size_fp": "0.00" if settled else "6.00",
        "last_price_dollars": f"0.{12 + 7 * i:02d}00", "previous_yes_bid_dollars": "0.3000",
        "previous_yes_ask_dollars": "0.3400", "previous_price_dollars": "0.3200",
        # Fractional counts (kalshi-api.md conventions): volume_centi must keep the cents.
        "volume_fp": f"{1700 + 13 * i}.{(37 * i) % 100:02d}", "volume_24h_fp": "1203.00",
        "open_interest_fp": "1288.65", "notional_value_dollars": "1.0000",
        "liquidity_dollars": "0.0000", "result": "", "can_close_early": True,
        "expiration_value": "", "occurrence_datetime": _iso(day + dt.timedelta(hours=14)),
        "strike_type": strike_type, "floor_strike": floor, "cap_strike": cap,
        "rules_primary": f"If the highest temperature recorded in Central Park, New York for {day:%B %d, %Y} ... then the market resolves to Yes.",
        "rules_secondary": "The official and final value used to determine this market is the highest temperature as reported by the corresponding NWS Climatological Report (Daily).",
        "price_level_structure": "linear_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
        "exchange_index": 0,
    }  # fmt: skip
    if settled:
        win = suffix == settled_yes
        m.update(result="yes" if win else "no", expiration_value="78",
                 settlement_value_dollars="1.0000" if win else "0.0000",
                 settlement_ts=_iso(day + dt.timedelta(days=1, hours=12, minutes=5)))  # fmt: skip
    return m


SETTLED_EV, OPEN_EV, GAP_EV = f"{SERIES}-26MAY15", f"{SERIES}-26MAY16", f"{SERIES}-26MAY17"
MARKETS = (
    [_market(SETTLED_EV, i, s, settled_yes="B77.5") for i, s in enumerate(LADDER)]
    + [_market(OPEN_EV, i, s, settled_yes=None) for i, s in enumerate(LADDER)]
    # The 26MAY17 ladder misses its 79-80 bracket: a gap, so no event row for it.
    + [_market(GAP_EV, i, s, settled_yes=None) for i, s in enumerate(LADDER) if s[0] != "B79.5"]
)
OPEN_TICKERS = sorted(m["ticker"] for m in MARKETS if m["status"] == "active")


def _trade(n: int, ticker: str, when: str, price: str, count: str, side: str) -> dict[str, Any]:
    """A trade in the documented 2026 shape (kalshi-api.md §5.6)."""
    return {
        "trade_id": f"00000000-0000-4000-8000-{n:012d}", "ticker": ticker, "count_fp": count,
        "yes_price_dollars": price, "no_price_dollars": f"{Decimal(1) - Decimal(price):.4f}",
        "taker_side": side, "taker_outcome_side": side,
        "taker_book_side": "bid" if side == "yes" else "ask",
        "created_time": when, "is_block_trade": False,
    }  # fmt: skip


TRADES = [
    # Before the trade cutoff: only /historical/trades has them (3 pages of 2).
    _trade(1, f"{SETTLED_EV}-B77.5", "2026-05-15T13:01:02.123456Z", "0.4100", "25.00", "yes"),
    _trade(2, f"{SETTLED_EV}-B77.5", "2026-05-15T14:11:09.000001Z", "0.3800", "24.64", "no"),
    _trade(3, f"{SETTLED_EV}-B77.5", "2026-05-15T15:20:00Z", "0.5500", "0.01", "yes"),
    _trade(4, f"{SETTLED_EV}-B77.5", "2026-05-15T19:59:59.999999Z", "0.9900", "1000.00", "yes"),
    _trade(5, f"{SETTLED_EV}-T82", "2026-05-15T20:00:00.5Z", "0.0100", "3.50", "no"),
    # After it: /markets/trades (B79.5 has 3 pages of 2; the fetch fails on its 2nd page once).
    _trade(6, f"{OPEN_EV}-B79.5", "2026-05-16T14:00:00.25Z", "0.2300", "10.00", "yes"),
    _trade(7, f"{OPEN_EV}-B79.5", "2026-05-16T14:05:00Z", "0.2400", "2.75", "yes"),
    _trade(8, f"{OPEN_EV}-B79.5", "2026-05-16T14:30:00Z", "0.2200", "1.00", "no"),
    _trade(9, f"{OPEN_EV}-B79.5", "2026-05-16T15:00:00Z", "0.0700", "13.13", "no"),
    _trade(10, f"{OPEN_EV}-B79.5", "2026-05-16T16:45:30.75Z", "0.3100", "5.00", "yes"),
    _trade(11, f"{GAP_EV}-T75", "2026-05-16T17:00:00Z", "0.0200", "100.00", "no"),
]


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the local REST exchange -----------------------------------------------------------------


class FakeRest:
    """The REST endpoints ``kbayes fetch``/``record`` use, on 127.0.0.1, signatures checked.

    ``fail_once`` holds ``(path, ticker, cursor)`` requests answered once with a 400 (not
    retried by the client), to interrupt a fetch mid-way.
    """

    def __init__(self, public_key: Any) -> None:
        self.public_key = public_key
        self.log: list[tuple[str, dict[str, str]]] = []
        self.auth_failures: list[str] = []
        self.fail_once: set[tuple[str, str | None, str | None]] = set()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{API}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def calls(self, path: str) -> list[dict[str, str]]:
        """Query parameters of every request to ``path`` (after the API prefix)."""
        with self._lock:
            return [q for p, q in self.log if p == path]

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        why = verify_headers(self.public_key, req.headers, "GET", url.path, key_id=KEY_ID)
        path = url.path.removeprefix(API)
        with self._lock:
            self.log.append((path, q))
            fault = (path, q.get("ticker"), q.get("cursor")) in self.fail_once
            self.fail_once.discard((path, q.get("ticker"), q.get("cursor")))
        if why is not None:
            self.auth_failures.append(why)
            return self.reply(req, 401, {"error": {"code": "unauthorized", "message": why}})
        if fault:
            return self.reply(req, 400, {"error": {"code": "bad_request", "message": "injected", "details": "test fault"}})  # fmt: skip
        if path == "/historical/cutoff":
            return self.reply(req, 200, CUTOFF)
        if path == "/markets":
            status = {"open": "active", "settled": "finalized", None: None}[q.get("status")]
            rows = [m for m in MARKETS if m["event_ticker"].startswith(q["series_ticker"] + "-")
                    and (status is None or m["status"] == status)]  # fmt: skip
            return self.reply(req, 200, self.page(rows, q, "markets", PAGE))
        if path in ("/markets/trades", "/historical/trades"):
            cut = TRADES_CUTOFF
            lo = q.get("min_ts") and dt.datetime.fromtimestamp(int(q["min_ts"]), dt.UTC)
            hi = q.get("max_ts") and dt.datetime.fromtimestamp(int(q["max_ts"]) + 1, dt.UTC)
            rows = [
                t for t in TRADES
                if t["ticker"] == q.get("ticker")
                and ((_when(t["created_time"]) < cut) == (path == "/historical/trades"))
                and (not lo or _when(t["created_time"]) >= lo)
                and (not hi or _when(t["created_time"]) < hi)
            ]  # fmt: skip
            return self.reply(req, 200, self.page(rows, q, "trades", TRADE_PAGE))
        return self.reply(req, 404, {"error": {"code": "not_found", "message": path}})

    @staticmethod
    def page(rows: list[dict], q: dict[str, str], key: str, size: int) -> dict[str, Any]:
        """Cursor ``c<offset>``; the last page has ``""`` (the spec's end marker)."""
        start = int(q["cursor"][1:]) if q.get("cursor") else 0
        size = min(size, int(q.get("limit", size)))
        end = start + size
        return {key: rows[start:end], "cursor": f"c{end}" if end < len(rows) else ""}

    @staticmethod
    def reply(req: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)


@pytest.fixture
def rest(rsa_key: Any) -> Iterator[FakeRest]:
    fake = FakeRest(rsa_key.public_key())
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    assert not fake.auth_failures, fake.auth_failures


@pytest.fixture
def kalshi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(var, raising=False)


def _kbayes(*argv: str | Path) -> int:
    return main([str(a) for a in argv])


# --- fetch -------------------------------------------------------------------------------------


def _expected_trades() -> pd.DataFrame:
    rows = [
        {
            "trade_id": t["trade_id"], "ticker": t["ticker"],
            "event_ticker": t["ticker"].rsplit("-", 1)[0], "city": "NY",
            "ts": pd.Timestamp(_when(t["created_time"])),
            "yes_price_cc": int(Decimal(t["yes_price_dollars"]) * 10_000),
            "count_centi": int(Decimal(t["count_fp"]) * 100),
            "taker_side": t["taker_outcome_side"], "source": "kalshi_api_trades",
        }
        for t in TRADES
    ]  # fmt: skip
    return pd.DataFrame(rows).sort_values("trade_id").reset_index(drop=True)


def _opt(value: Any) -> Any:
    return None if pd.isna(value) else value


def _trades(store_path: Path) -> pd.DataFrame:
    with DuckDBStore(store_path, read_only=True) as store:
        df = store.read("trades")
    cols = list(_expected_trades().columns)
    return df[cols].sort_values("trade_id").reset_index(drop=True)


def test_fetch_markets_then_trades_resumable_and_idempotent(
    rest: FakeRest,
    key_file: Path,
    kalshi_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store_path = tmp_path / "kb.duckdb"
    common = ["--series", SERIES, "--rest-url", rest.url, "--store", store_path,
              "--key-id", KEY_ID, "--key-path", key_file]  # fmt: skip

    # markets: 17 over 5 pages; every page its own request, the cursors passed back verbatim.
    assert _kbayes("fetch", "markets", *common) == 0
    assert [q.get("cursor") for q in rest.calls("/markets")] == [None, "c4", "c8", "c12", "c16"]
    assert "fetched 17 markets rows" in capsys.readouterr().err
    with DuckDBStore(store_path, read_only=True) as store:
        markets = store.read("markets").sort_values("ticker").set_index("ticker")
        events = store.read("events").sort_values("event_ticker").set_index("event_ticker")
        issues = store.read("import_issues")
    served = {m["ticker"]: m for m in MARKETS}
    assert sorted(markets.index) == sorted(served)
    for ticker, m in served.items():
        row = markets.loc[ticker]
        assert (_opt(row["lo_f"]), _opt(row["hi_f"])) == BOUNDS[ticker.rsplit("-", 1)[1]]
        assert row["volume_centi"] == int(Decimal(m["volume_fp"]) * 100)
        assert row["status"] == m["status"] and (_opt(row["result"]) or "") == m["result"]
        assert row["event_ticker"] == m["event_ticker"] and row["city"] == "NY"
        assert row["close_time"] == pd.Timestamp(_when(m["close_time"]))
    assert markets.loc[f"{SETTLED_EV}-B77.5", "expiration_value_f"] == 78

    # events: built across the page split; the settled one carries its outcome; the ladder
    # with a gap gets none, and says why in import_issues.
    assert list(events.index) == [SETTLED_EV, OPEN_EV]
    settled, live = events.loc[SETTLED_EV], events.loc[OPEN_EV]
    assert settled["n_markets"] == 6 and live["n_markets"] == 6
    assert settled["outcome_f"] == 78 and settled["outcome_ticker"] == f"{SETTLED_EV}-B77.5"
    assert settled["outcome_source"] == "kalshi_result"
    assert _opt(live["outcome_f"]) is None and _opt(live["outcome_ticker"]) is None
    assert settled["station"] == "KNYC" and settled["series"] == SERIES
    assert settled["climate_date"] == dt.date(2026, 5, 15)
    # NYC climate day: local standard time (UTC-5) midnight to midnight.
    assert settled["window_start"] == pd.Timestamp("2026-05-15T05:00Z")
    assert settled["window_end"] == pd.Timestamp("2026-05-16T05:00Z")
    assert settled["close_time"] == pd.Timestamp(_when(served[f"{SETTLED_EV}-T82"]["close_time"]))
    gap = issues[issues["record"] == GAP_EV]
    assert len(gap) == 1 and "event skipped (markets kept)" in gap.iloc[0]["message"]

    # A second run is a no-op: no request, same rows.
    n_calls = len(rest.log)
    assert _kbayes("fetch", "markets", *common) == 0
    assert len(rest.log) == n_calls
    with DuckDBStore(store_path, read_only=True) as store:
        assert (store.count("markets"), store.count("events")) == (17, 2)

    # trades: interrupted by a 400 on the 2nd live page of B79.5 ...
    b795 = f"{OPEN_EV}-B79.5"
    rest.fail_once.add(("/markets/trades", b795, "c2"))
    capsys.readouterr()
    assert _kbayes("fetch", "trades", *common) == 6  # a Kalshi API error
    err = capsys.readouterr().err
    assert "HTTP 400" in err and "run the same command again to resume" in err
    partial = _trades(store_path)
    assert {"00000000-0000-4000-8000-000000000006", "00000000-0000-4000-8000-000000000007"} <= set(partial["trade_id"])  # fmt: skip
    assert "00000000-0000-4000-8000-000000000008" not in set(partial["trade_id"])

    # ... and the re-run goes on from that page: B79.5 is asked for c2 first, not page 1 again,
    # and tickers finished before the failure are not asked again at all.
    first = len(rest.log)
    assert _kbayes("fetch", "trades", *common) == 0
    again = [(p, q) for p, q in rest.log[first:] if p.endswith("/trades")]
    assert [
        q.get("cursor") for p, q in again if q["ticker"] == b795 and p == "/markets/trades"
    ] == ["c2", "c4"]
    assert not [q for _, q in again if q["ticker"] == f"{SETTLED_EV}-B77.5"]
    expected = _expected_trades()
    pd.testing.assert_frame_equal(_trades(store_path), expected, check_dtype=False)

    # Both tiers were used, each for its side of the cutoff.
    hist = {q["ticker"] for q in rest.calls("/historical/trades")}
    assert f"{SETTLED_EV}-B77.5" in hist
    assert all(int(q["max_ts"]) == int(TRADES_CUTOFF.timestamp()) - 1 for q in rest.calls("/historical/trades"))  # fmt: skip
    assert all(int(q["min_ts"]) == int(TRADES_CUTOFF.timestamp()) for q in rest.calls("/markets/trades"))  # fmt: skip

    # A finished job is skipped; --force refetches and replaces, never duplicates.
    capsys.readouterr()
    before = len(rest.calls("/markets/trades"))
    assert _kbayes("fetch", "trades", *common) == 0
    assert len(rest.calls("/markets/trades")) == before
    assert "fetched 0 trades rows" in capsys.readouterr().err
    assert _kbayes("fetch", "trades", "--force", *common) == 0
    assert f"fetched {len(TRADES)} trades rows" in capsys.readouterr().err
    assert _kbayes("fetch", "markets", "--force", *common) == 0
    pd.testing.assert_frame_equal(_trades(store_path), expected, check_dtype=False)
    with DuckDBStore(store_path, read_only=True) as store:
        assert (store.count("trades"), store.count("markets"), store.count("events")) == (len(TRADES), 17, 2)  # fmt: skip


def test_fetch_markets_gives_events_to_a_store_fetched_before_events_were_written(
    rest: FakeRest, key_file: Path, kalshi_env: None, tmp_path: Path
) -> None:
    store_path = tmp_path / "kb.duckdb"
    common = ["--series", SERIES, "--rest-url", rest.url, "--store", store_path,
              "--key-id", KEY_ID, "--key-path", key_file]  # fmt: skip
    assert _kbayes("fetch", "markets", "--status", "settled", *common) == 0
    with DuckDBStore(store_path) as store:
        assert store.count("markets") == 6
        store.con.execute("DELETE FROM events")  # as an older kbayes left it
    n_calls = len(rest.log)
    assert _kbayes("fetch", "markets", "--status", "settled", *common) == 0
    assert len(rest.log) == n_calls  # the finished job is not fetched again ...
    with DuckDBStore(store_path, read_only=True) as store:  # ... but its events are written
        events = store.read("events")
    assert list(events["event_ticker"]) == [SETTLED_EV] and int(events["outcome_f"][0]) == 78
    assert rest.calls("/markets")[0]["status"] == "settled"


# --- record ------------------------------------------------------------------------------------


class LoopThread:
    """An asyncio loop in a daemon thread, so the exchange runs beside the CLI's own loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _levels(levels: list[list[str]] | None) -> dict[Decimal, Decimal]:
    return {Decimal(p): Decimal(s) for p, s in levels or []}


def test_record_series_writes_a_flushed_tape_the_book_command_reads(
    rest: FakeRest, rsa_key: Any, key_file: Path, kalshi_env: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    snaps = synthetic_snapshots(OPEN_TICKERS, seed=5)
    script = snaps + generate_deltas(ref_from_script(snaps), 300, seed=9)
    truth = ref_from_script(script)
    loop = LoopThread()
    ex: FakeExchange | None = None
    try:

        async def start() -> tuple[FakeExchange, str]:
            server = FakeExchange(script, public_key=rsa_key.public_key(), key_id=KEY_ID)
            return server, await server.start()

        ex, ws_url = loop.run(start())
        tape = tmp_path / "tape"
        assert _kbayes("record", "--series", SERIES, "--ws-url", ws_url, "--rest-url", rest.url,
                       "--tape", tape, "--duration", "1.5",
                       "--key-id", KEY_ID, "--key-path", key_file) == 0  # fmt: skip
        assert ex.done.is_set() and ex.connections == 1 and not ex.auth_failures
        sent = list(ex.sent)
        received = list(ex.received)
    finally:
        if ex is not None:
            loop.run(ex.stop())
        loop.close()
    assert "recorded to" in capsys.readouterr().err

    # --series resolved to the series' open markets over REST (3 pages), and those were subscribed.
    calls = rest.calls("/markets")
    assert [(q["status"], q.get("cursor")) for q in calls] == [("open", None), ("open", "c4"), ("open", "c8")]  # fmt: skip
    book_sub = next(c for c in received if "orderbook_delta" in c["params"]["channels"])
    assert sorted(book_sub["params"]["market_tickers"]) == OPEN_TICKERS

    # The tape is complete and flushed when the command returns: whole lines only, every
    # frame the server sent, in order, verbatim; every command sent is on it too.
    files = sorted(tape.glob("*.jsonl"))
    assert files and all(f.read_bytes().endswith(b"\n") for f in files)
    entries = list(read_tape(tape))  # strict: every line parses
    assert [e.raw for e in entries if e.d == "in"] == sent
    assert [json.loads(e.raw) for e in entries if e.d == "out"] == received
    types = [json.loads(s)["type"] for s in sent]
    assert types.count("orderbook_snapshot") == len(OPEN_TICKERS)
    assert types.count("orderbook_delta") == 300

    # And `kbayes book` rebuilds every market's final book from it.
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    for ticker in OPEN_TICKERS:
        capsys.readouterr()
        assert _kbayes("book", "--tape", tape, "--ticker", ticker, "--at", at) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["stale"] is False
        assert _levels(out["yes_bids"]) == truth[ticker]["yes"]
        assert _levels(out["no_bids"]) == truth[ticker]["no"]
