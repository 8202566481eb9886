# ruff: noqa: E501
"""REST client against recorded real responses served by ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kbayes.io.kalshi.auth import verify_headers
from kbayes.io.kalshi.errors import KalshiHTTPError, KalshiSchemaError, KalshiTransportError
from kbayes.io.kalshi.ratelimit import RateLimiter, TokenBucket
from kbayes.io.kalshi.rest import AsyncKalshiClient, KalshiClient, RetryPolicy, event_ticker_for
from kbayes.io.kalshi.schema import KalshiSchemaWarning
from tests.io.kalshi.conftest import KEY_ID

BASE = "https://api.test/trade-api/v2"
CUTOFF = {
    "market_settled_ts": "2026-06-14T00:00:00Z",
    "trades_created_ts": "2026-06-14T00:00:00Z",
    "orders_updated_ts": "2026-06-14T00:00:00Z",
}


class VirtualClock:
    """Virtual time: ``sleep`` advances it, so backoff and rate limits cost no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def client_for(handler, clock: VirtualClock | None = None, **kw: Any) -> KalshiClient:
    clock = clock or VirtualClock()
    kw.setdefault("limiter", RateLimiter.for_tier("basic", clock=clock))
    return KalshiClient(BASE, transport=httpx.MockTransport(handler), sleep=clock.sleep, **kw)


def load(captures: Path, name: str) -> dict:
    return json.loads((captures / name).read_text())


@pytest.mark.realdata
def test_markets_paginate_to_the_end(captures: Path) -> None:
    pages = {
        None: {**load(captures, "tmer234_kxhighny_open_trimmed.json"), "cursor": "page2"},
        "page2": {**load(captures, "tmer234_kxhighny_settled_trimmed.json"), "cursor": "page3"},
        "page3": {"markets": [], "cursor": None},  # the guide's "null" end marker
    }
    seen: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.url.path == "/trade-api/v2/markets"
        assert req.url.params["series_ticker"] == "KXHIGHNY"
        cursor = req.url.params.get("cursor")
        seen.append(cursor)
        return httpx.Response(200, json=pages[cursor])

    with client_for(handler) as client:
        markets = list(client.markets(series_ticker="KXHIGHNY"))
    assert seen == [None, "page2", "page3"]
    assert [m.ticker for m in markets] == [
        "KXHIGHNY-26JUL12-T89", "KXHIGHNY-26JUL12-T82", "KXHIGHNY-26JUL12-B88.5",
        "KXHIGHNY-26JUL10-T94", "KXHIGHNY-26JUL10-T87",
    ]  # fmt: skip
    open_t89, settled = markets[0], markets[3]
    assert open_t89.no_bid_cc == 9900 and open_t89.no_ask_cc is None  # "1.0000" ask = no ask
    assert open_t89.open_interest_centi == 164225 and open_t89.strike_type == "greater"
    assert settled.result == "no" and settled.expiration_value == "85.00"
    assert settled.yes_bid_cc is None  # "0.0000" bid = empty side, never 0


@pytest.mark.realdata
def test_candlesticks_parse_exactly(captures: Path) -> None:
    body = load(captures, "tmer234_candlesticks_trimmed.json")

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/historical/cutoff"):
            return httpx.Response(200, json=CUTOFF)
        assert (
            req.url.path
            == "/trade-api/v2/series/KXHIGHNY/markets/KXHIGHNY-26JUL10-T87/candlesticks"
        )
        assert req.url.params["period_interval"] == "60"
        return httpx.Response(200, json=body)

    with client_for(handler) as client:
        candles = client.candlesticks("KXHIGHNY", "KXHIGHNY-26JUL10-T87", 1783670400, 1783681200)
    first = candles[0]
    assert first.end == dt.datetime.fromtimestamp(1783674000, dt.UTC)
    assert first.price.close_cc == 6000 and first.mean_cc == 6071 and first.previous_cc == 6300
    assert first.yes_bid.low_cc == 5500 and first.yes_ask.high_cc == 6300
    assert first.volume_centi == 8370 and first.open_interest_centi == 690473
    assert len(candles) == 3


@pytest.mark.realdata
def test_http_400_body_gives_endpoint_status_and_code(captures: Path) -> None:
    doc = load(captures, "cockpit_markets_settled.json")
    error = next(q["error"] for q in doc["queries"] if "error" in q)
    body = error.split("\n", 1)[1]  # "HTTP 400 from <url>\n<body>" as captured
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(400, text=body)

    with client_for(handler) as client, pytest.raises(KalshiHTTPError) as err:
        list(client.markets(series_ticker="KXMLBGAME", status="finalized", limit=20))
    e = err.value
    assert (e.endpoint, e.status, e.code) == ("GET /trade-api/v2/markets", 400, "bad_request")
    assert e.details == "invalid status filter"
    assert len(calls) == 1  # a 400 is not retried


def test_burst_of_429_stays_within_rate_budget() -> None:
    clock = VirtualClock()
    # 20 tokens/s, bucket of 20, cost 10: at most 2 requests at once, then 2 per second.
    limiter = RateLimiter(TokenBucket(20, 20, clock), TokenBucket(20, 20, clock), {})
    sent: list[float] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        if len(sent) <= 8:
            return httpx.Response(429, json={"error": "too many requests"})
        return httpx.Response(200, json={"exchange_active": True, "trading_active": True})

    retry = RetryPolicy(max_attempts=10, base_s=0.05, cap_s=1.0)
    with client_for(handler, clock, limiter=limiter, retry=retry) as client:
        status = client.exchange_status()
    assert status.trading_active and len(sent) == 9
    t0 = sent[0]
    for i, t in enumerate(sent):  # tokens used never exceed capacity + refill so far
        assert (i + 1) * 10 <= 20 + 20 * (t - t0) + 1e-9, (i, t - t0)


def test_5xx_then_success_with_jittered_backoff() -> None:
    clock = VirtualClock()
    statuses = iter([503, 500, 502, 200])

    def handler(req: httpx.Request) -> httpx.Response:
        s = next(statuses)
        return httpx.Response(
            s,
            json={"exchange_active": True, "trading_active": False}
            if s == 200
            else {"error": {"code": "internal"}},
        )

    retry = RetryPolicy(max_attempts=5, base_s=0.5, cap_s=30)
    with client_for(handler, clock, retry=retry) as client:
        assert client.exchange_status().trading_active is False
        assert client.requests == 4
    backoffs = clock.sleeps
    assert len(backoffs) == 3
    for n, s in enumerate(backoffs):
        d = 0.5 * 2**n
        assert d / 2 <= s <= d


def test_5xx_forever_raises_after_cap_and_timeouts_retry() -> None:
    busy = client_for(
        lambda r: httpx.Response(503, text="<html>busy</html>"), retry=RetryPolicy(max_attempts=3)
    )
    with busy as client, pytest.raises(KalshiHTTPError) as err:
        client.exchange_status()
    assert err.value.status == 503 and client.requests == 3
    n = 0

    def flaky(req: httpx.Request) -> httpx.Response:
        nonlocal n
        n += 1
        if n < 3:
            raise httpx.ReadTimeout("slow", request=req)
        return httpx.Response(200, json={"exchange_active": True, "trading_active": True})

    with client_for(flaky) as client:
        assert client.exchange_status().exchange_active
    down = client_for(
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("down")),
        retry=RetryPolicy(max_attempts=2),
    )
    with (
        down as client,
        pytest.raises(KalshiTransportError, match="GET /trade-api/v2/exchange/status"),
    ):
        client.exchange_status()


def test_malformed_bodies_give_clear_errors() -> None:
    bodies = {
        "/trade-api/v2/exchange/status": (200, "not json{"),
        "/trade-api/v2/markets": (200, json.dumps({"markets": "oops"})),
        "/trade-api/v2/markets/X": (200, json.dumps({"market": {"event_ticker": "E", "status": "active"}})),
        "/trade-api/v2/markets/trades": (200, json.dumps({"trades": [{"trade_id": "t", "ticker": "X", "count_fp": "1.00",
                                                                       "created_time": "2026-07-01T00:00:00Z", "taker_outcome_side": "yes",
                                                                       "yes_price_dollars": "0.123456"}]})),
    }  # fmt: skip

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/cutoff"):
            return httpx.Response(200, json=CUTOFF)
        status, text = bodies[req.url.path]
        return httpx.Response(status, text=text)

    with client_for(handler) as client:
        with pytest.raises(KalshiSchemaError, match="not JSON"):
            client.exchange_status()
        with pytest.raises(KalshiSchemaError) as err:
            list(client.markets())
        assert err.value.field == "markets"
        with pytest.raises(KalshiSchemaError) as err:
            client.market("X")
        assert err.value.field == "ticker" and "required field is missing" in str(err.value)
        with pytest.raises(KalshiSchemaError, match=r"finer than \$0.0001") as err:
            list(client.trades("X", min_ts=1783000000))
        assert err.value.endpoint == "GET /trade-api/v2/markets/trades"


def test_unknown_fields_are_kept_and_warned_once() -> None:
    market = {"ticker": "KXHIGHNY-26MAY16-B78.5", "event_ticker": "KXHIGHNY-26MAY16",
              "status": "active", "yes_bid_dollars": "0.3800", "brand_new_field": 1}  # fmt: skip

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"markets": [market, market], "cursor": ""})

    with client_for(handler) as client, pytest.warns(KalshiSchemaWarning, match="brand_new_field"):
        ms = list(client.markets())
    assert ms[0].raw["brand_new_field"] == 1 and ms[0].yes_bid_cc == 3800
    assert client.fields.unknown() == {"market": ["brand_new_field"]}
    assert client.fields.counts[("market", "brand_new_field")] == 2


def test_requests_are_signed_without_query(signer) -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(
            200,
            json={
                "orderbook_fp": {
                    "yes_dollars": [["0.4200", "13.00"]],
                    "no_dollars": [["0.5600", "17.00"]],
                }
            },
        )

    with client_for(handler, signer=signer) as client:
        book = client.orderbook("KXHIGHNY-26MAY16-B78.5", depth=5)
    req = seen[0]
    assert req.url.params["use_yes_price"] == "false" and req.url.params["depth"] == "5"
    pub = signer._key.public_key()
    assert verify_headers(pub, req.headers, "GET", req.url.path, key_id=KEY_ID) is None
    assert (
        verify_headers(pub, req.headers, "GET", "/trade-api/v2/markets", key_id=KEY_ID)
        == "bad signature"
    )
    assert book.best_yes_ask.price_cc == 4400 and book.best_yes_bid.price_cc == 4200
    with client_for(handler) as public:
        public.orderbook("KXHIGHNY-26MAY16-B78.5")
    assert "KALSHI-ACCESS-SIGNATURE" not in seen[-1].headers


@pytest.mark.realdata
def test_recorded_orderbook_bodies(captures: Path, shared_data: Path) -> None:
    single = load(captures, "cockpit_market_single.json")
    l2 = (shared_data / "kalshi" / "ericzzhang_l2_sample").glob("*.jsonl")
    first = json.loads(next(iter(l2)).open().readline())
    bodies = {single["ticker"]: single["orderbook"], first["ticker"]: first["payload"]}
    market = single["single"]

    def handler(req: httpx.Request) -> httpx.Response:
        ticker = req.url.path.split("/")[4]
        if req.url.path.endswith("/orderbook"):
            return httpx.Response(200, json=bodies[ticker])
        return httpx.Response(200, json=market)

    with client_for(handler) as client:
        for ticker, body in bodies.items():
            book = client.orderbook(ticker)
            no = body["orderbook_fp"]["no_dollars"]
            assert book.best_yes_ask.price_cc == 10_000 - round(float(no[-1][0]) * 10_000)
        m = client.market(single["ticker"])
    assert m.ticker == single["ticker"] and m.exchange_index == 0


def test_historical_routing_by_cutoff() -> None:
    paths: list[tuple[str, dict]] = []
    trade = {"trade_id": "a", "ticker": "KXHIGHNY-26MAY16-B78.5", "count_fp": "25.00",
             "yes_price_dollars": "0.4100", "no_price_dollars": "0.5900", "taker_side": "yes",
             "taker_outcome_side": "yes", "taker_book_side": "bid",
             "created_time": "2026-05-16T15:02:11.482913Z", "is_block_trade": False}  # fmt: skip
    legacy = {"trade_id": "b", "ticker": "KXHIGHNY-25MAY08-B77.5", "count": 162,
              "created_time": "2025-05-09T02:58:58.524835Z", "yes_price": 99, "no_price": 1,
              "taker_side": "no"}  # fmt: skip

    def handler(req: httpx.Request) -> httpx.Response:
        p = req.url.path.removeprefix("/trade-api/v2")
        paths.append((p, dict(req.url.params)))
        if p == "/historical/cutoff":
            return httpx.Response(200, json=CUTOFF)
        if p == "/historical/trades":
            return httpx.Response(200, json={"trades": [legacy], "cursor": ""})
        if p == "/markets/trades":
            return httpx.Response(200, json={"trades": [trade], "cursor": ""})
        if p == "/markets/OLD":
            return httpx.Response(
                404, json={"error": {"code": "not_found", "message": "not found"}}
            )
        if p == "/historical/markets/OLD":
            return httpx.Response(
                200, json={"market": {"ticker": "OLD", "event_ticker": "E", "status": "finalized"}}
            )
        raise AssertionError(p)

    with client_for(handler) as client:
        trades = list(client.trades("T", min_ts=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
        assert client.market("OLD").status == "finalized"
    cut = int(dt.datetime(2026, 6, 14, tzinfo=dt.UTC).timestamp())
    assert [p for p, _ in paths] == ["/historical/cutoff", "/historical/trades", "/markets/trades",
                                     "/markets/OLD", "/historical/markets/OLD"]  # fmt: skip
    assert paths[1][1]["max_ts"] == str(cut - 1) and paths[2][1]["min_ts"] == str(cut)
    assert [(t.trade_id, t.yes_price_cc, t.count_centi, t.taker_outcome_side) for t in trades] == [
        ("b", 9900, 16200, "no"),
        ("a", 4100, 2500, "yes"),
    ]


def ladder_market(suffix: str, strike: str, label: str, **strikes: float) -> dict:
    return {"ticker": f"KXHIGHNY-26MAY16-{suffix}", "event_ticker": "KXHIGHNY-26MAY16",
            "status": "active", "strike_type": strike, "yes_sub_title": label, **strikes}  # fmt: skip


def test_todays_ladder_uses_the_lst_climate_day() -> None:
    markets = [
        ladder_market("T78", "less", "77° or below", cap_strike=78),
        ladder_market("B78.5", "between", "78° to 79°", floor_strike=78, cap_strike=79),
        ladder_market("B80.5", "between", "80° to 81°", floor_strike=80, cap_strike=81),
        ladder_market("T81", "greater", "82° or above", floor_strike=81),
    ]

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.url.path == "/trade-api/v2/events/KXHIGHNY-26MAY16"
        assert req.url.params["with_nested_markets"] == "true"
        return httpx.Response(200, json={"event": {"event_ticker": "KXHIGHNY-26MAY16",
                                                   "series_ticker": "KXHIGHNY", "markets": markets}})  # fmt: skip

    # 23:30 EDT on May 16 = 22:30 EST: still the May 16 climate day.
    now = dt.datetime(2026, 5, 17, 3, 30, tzinfo=dt.UTC)
    with client_for(handler) as client:
        event, ladder = client.todays_ladder("NY", now)
    assert event.series_ticker == "KXHIGHNY" and len(ladder) == 4
    assert ladder.bracket_of(80).ticker.endswith("B80.5")
    assert event_ticker_for("CHI", dt.date(2026, 1, 2)) == "KXHIGHCHI-26JAN02"


def test_async_client_paginates_and_retries() -> None:
    n = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal n
        n += 1
        if n == 1:
            return httpx.Response(429, json={"error": "too many requests"})
        cursor = req.url.params.get("cursor")
        nxt = {None: "b", "b": ""}[cursor]
        return httpx.Response(200, json={"events": [{"event_ticker": f"E{cursor}"}], "cursor": nxt})

    async def go() -> list[str]:
        async def nosleep(s: float) -> None:
            return None

        async with AsyncKalshiClient(
            BASE, transport=httpx.MockTransport(handler), sleep=nosleep
        ) as c:
            return [e.event_ticker async for e in c.events(series_ticker="KXHIGHNY")]

    assert asyncio.run(go()) == ["ENone", "Eb"] and n == 3
