"""``kbayes fetch`` backfill (resumable) and ``kbayes book`` (book rebuilt from a tape)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from kbayes.cli import main
from kbayes.io.backfill import Checkpoints, fetch_trades
from kbayes.io.kalshi.errors import KalshiTransportError
from kbayes.io.kalshi.rest import KalshiClient, RetryPolicy
from kbayes.io.store import DuckDBStore
from kbayes.io.tape import TapeWriter

CUTOFF = {"market_settled_ts": "2026-01-01T00:00:00Z", "trades_created_ts": "2026-01-01T00:00:00Z"}


def _trade(i: int) -> dict:
    # The documented 2026 trade shape (kalshi-api.md §5.6).
    return {
        "trade_id": f"t{i}", "ticker": "KXHIGHNY-26MAY16-B78.5", "count_fp": f"{i}.50",
        "yes_price_dollars": "0.4100", "no_price_dollars": "0.5900", "taker_side": "yes",
        "taker_outcome_side": "yes" if i % 2 else "no", "taker_book_side": "bid",
        "created_time": f"2026-05-16T15:{i:02d}:11.482913Z", "is_block_trade": False,
    }  # fmt: skip


PAGES = {
    None: ({"trades": [_trade(1), _trade(2)], "cursor": "c1"}),
    "c1": ({"trades": [_trade(3), _trade(4)], "cursor": "c2"}),
    "c2": ({"trades": [_trade(5)], "cursor": ""}),
}


def test_fetch_trades_resumes_after_a_crash(tmp_path: Path) -> None:
    fail_on = {"c2"}
    cursors: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/historical/cutoff"):
            return httpx.Response(200, json=CUTOFF)
        cursor = req.url.params.get("cursor")
        cursors.append(cursor)
        if cursor in fail_on:
            raise httpx.ConnectError("network down")
        return httpx.Response(200, json=PAGES[cursor])

    store_path = tmp_path / "kb.duckdb"
    cp = Checkpoints.beside(store_path)
    with DuckDBStore(store_path) as store:
        client = KalshiClient(
            "https://api.test/trade-api/v2", transport=httpx.MockTransport(handler),
            retry=RetryPolicy(max_attempts=1), sleep=lambda s: None,
        )  # fmt: skip
        with pytest.raises(KalshiTransportError):
            fetch_trades(client, store, ["KXHIGHNY-26MAY16-B78.5"], 1778900000, None, cp)
        assert store.count("trades") == 4
        fail_on.clear()
        cursors.clear()
        n = fetch_trades(
            client,
            store,
            ["KXHIGHNY-26MAY16-B78.5"],
            1778900000,
            None,
            Checkpoints.beside(store_path),
        )
        assert cursors == ["c2"] and n == 1  # resumed from the checkpointed cursor
        df = store.read("trades").sort_values("trade_id")
        assert list(df["trade_id"]) == ["t1", "t2", "t3", "t4", "t5"]
        assert list(df["count_centi"]) == [150, 250, 350, 450, 550]
        assert set(df["yes_price_cc"]) == {4100} and list(df["taker_side"])[:2] == ["yes", "no"]
        assert (
            fetch_trades(
                client,
                store,
                ["KXHIGHNY-26MAY16-B78.5"],
                1778900000,
                None,
                Checkpoints.beside(store_path),
            )
            == 0
        )


def test_book_command_rebuilds_from_tape(tmp_path: Path, capsys) -> None:
    t0 = int(dt.datetime(2026, 8, 7, 6, 46, 28, tzinfo=dt.UTC).timestamp()) * 10**9
    ticker = "KXHIGHNY-26AUG07-B78.5"
    sub = {
        "id": 1,
        "cmd": "subscribe",
        "params": {
            "channels": ["orderbook_delta"],
            "market_tickers": [ticker],
            "use_yes_price": True,
        },
    }
    frames = [
        {"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": 1}},
        # use_yes_price: NO levels arrive as YES-leg prices (0.60 = a NO bid at 0.40).
        {
            "type": "orderbook_snapshot",
            "sid": 1,
            "seq": 1,
            "msg": {
                "market_ticker": ticker,
                "yes_dollars_fp": [["0.3800", "10.00"]],
                "no_dollars_fp": [["0.6000", "5.00"]],
            },
        },
        {
            "type": "orderbook_delta",
            "sid": 1,
            "seq": 2,
            "msg": {
                "market_ticker": ticker,
                "price_dollars": "0.3900",
                "delta_fp": "2.50",
                "side": "yes",
            },
        },
        {
            "type": "orderbook_delta",
            "sid": 1,
            "seq": 3,
            "msg": {
                "market_ticker": ticker,
                "price_dollars": "0.3900",
                "delta_fp": "-2.50",
                "side": "yes",
            },
        },
    ]
    with TapeWriter(tmp_path / "tape") as tape:
        tape.write_event("connect", t0, url="ws://x")
        tape.write_out(json.dumps(sub), t0 + 1)
        for i, f in enumerate(frames):
            tape.write_in(json.dumps(f), t0 + 10**9 * (i + 1))
    at = dt.datetime.fromtimestamp((t0 + 3 * 10**9 + 5) / 1e9, dt.UTC).isoformat()
    assert main(["book", "--tape", str(tmp_path / "tape"), "--ticker", ticker, "--at", at]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["yes_bids"] == [["0.3900", "2.50"], ["0.3800", "10.00"]]
    assert out["no_bids"] == [["0.4000", "5.00"]]
    assert out["best_yes_ask"] == ["0.6000", "5.00"] and out["spread"] == "0.2100"
    assert out["stale"] is False and out["seq"] == 2
    assert out["locked"] is False and out["sync"]["locked"] == out["sync"]["gap"] == 0
    late = dt.datetime.fromtimestamp(t0 / 1e9 + 10, dt.UTC).isoformat()
    main(["book", "--tape", str(tmp_path / "tape"), "--ticker", ticker, "--at", late])
    assert json.loads(capsys.readouterr().out)["yes_bids"] == [["0.3800", "10.00"]]
    assert main(["book", "--tape", str(tmp_path / "tape"), "--ticker", "NOPE", "--at", late]) == 1
