"""Kalshi REST client, sync (:class:`KalshiClient`) and async (:class:`AsyncKalshiClient`).

Each operation is written once, as a generator that yields :class:`Call` (a request to make,
answered with the decoded body) and :class:`Emit` (items for the caller); the two clients only
differ in the driver that performs the calls (httpx sync vs async). Every request:

1. reserves its token cost from the :class:`~kbayes.io.kalshi.ratelimit.RateLimiter` and waits;
2. is signed when a key is configured (public market data works without one; §2 recommends
   signing everything, which is harmless);
3. is retried on 429, 5xx, timeouts and connection errors with jittered exponential backoff,
   capped per delay and in attempts; every retry reserves tokens again, so a burst of 429s
   stays within the rate budget;
4. fails with :class:`KalshiHTTPError` (endpoint, status, Kalshi ``code``) or
   :class:`KalshiSchemaError` (malformed JSON, missing field).

Lists paginate with ``cursor`` until it is empty or missing (§3.2). Old data is routed to the
``/historical/*`` tier by ``GET /historical/cutoff`` (§5.8).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import random
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import Any

import httpx

from kbayes.io.kalshi.auth import Signer, signing_path
from kbayes.io.kalshi.book_wire import book_from_snapshot
from kbayes.io.kalshi.deadline import DeadlineTransport, deadline
from kbayes.io.kalshi.errors import (
    KalshiHTTPError,
    KalshiSchemaError,
    KalshiTransportError,
    parse_error_body,
)
from kbayes.io.kalshi.ratelimit import RateLimiter
from kbayes.io.kalshi.schema import (
    Candle,
    Event,
    ExchangeStatus,
    FieldLog,
    HistoricalCutoff,
    Market,
    Series,
    Trade,
    parse_candle,
    parse_cutoff,
    parse_event,
    parse_exchange_status,
    parse_market,
    parse_series,
    parse_trade,
)
from kbayes.market.book import BookError, OrderBook
from kbayes.market.cities import City, city_of
from kbayes.market.ladder import Ladder

PROD_REST_URL = "https://external-api.kalshi.com/trade-api/v2"
DEMO_REST_URL = "https://external-api.demo.kalshi.co/trade-api/v2"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Retries with "equal jitter" exponential backoff: attempt ``n`` waits U(d/2, d),
    ``d = min(cap_s, base_s * 2**n)``, at most ``max_attempts`` tries in all."""

    max_attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        d = min(self.cap_s, self.base_s * 2**attempt)
        return rng.uniform(d / 2, d)


@dataclasses.dataclass(frozen=True)
class Call:
    """One request an operation needs; answered with the decoded JSON body.

    ``allow`` lists statuses answered with ``None`` instead of raising (e.g. 404 → try the
    historical tier).
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    allow: frozenset[int] = frozenset()


@dataclasses.dataclass(frozen=True)
class Emit:
    """Items an iterating operation hands to the caller, plus the cursor to resume after them."""

    items: list[Any]
    cursor: str | None
    endpoint: str


Op = Generator[Call | Emit, Any, Any]


def _ts(value: dt.datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware UTC time")
    return int(value.timestamp())


def event_ticker_for(city: City | str, day: dt.date) -> str:
    """The event ticker of a city's climate day: ``KXHIGHNY-26MAY16``."""
    c = city if isinstance(city, City) else city_of(city)
    return f"{c.series}-{day:%y}{_MONTHS[day.month - 1]}{day:%d}"


class _Api:
    """Operations (written once) and the request machinery both clients share."""

    def __init__(
        self,
        base_url: str = PROD_REST_URL,
        *,
        signer: Signer | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        user_agent: str = "kbayes",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_path = signing_path(self.base_url)
        self.signer = signer
        self.limiter = limiter or RateLimiter.for_tier("basic")
        self.retry = retry or RetryPolicy()
        self.rng = rng or random.Random()
        self.fields = FieldLog()
        self.user_agent = user_agent
        self.requests = 0  # requests sent, retries included
        self._cutoff: tuple[float, HistoricalCutoff] | None = None

    # --- request pieces ----------------------------------------------------------------------

    def _headers(self, method: str, path: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.signer is not None:
            headers.update(self.signer.headers(method, self._base_path + path))
        return headers

    @staticmethod
    def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not params:
            return None
        out: dict[str, Any] = {}
        for k, v in params.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = "true" if v else "false"
            out[k] = v
        return out

    def _endpoint(self, call: Call) -> str:
        return f"{call.method} {self._base_path}{call.path}"

    def _decode(self, call: Call, resp: httpx.Response) -> Any:
        endpoint = self._endpoint(call)
        if resp.status_code in call.allow:
            return None
        if not 200 <= resp.status_code < 300:
            code, message, details = parse_error_body(resp.text)
            raise KalshiHTTPError(
                endpoint, message, status=resp.status_code, code=code, details=details
            )
        try:
            body = json.loads(resp.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise KalshiSchemaError(
                endpoint,
                f"body is not JSON ({exc}): {resp.text[:120]!r}",
                status=resp.status_code,
            ) from exc
        if not isinstance(body, dict):
            raise KalshiSchemaError(
                endpoint,
                f"body is a JSON {type(body).__name__}, expected an object",
                status=resp.status_code,
            )
        return body

    def _give_up(self, call: Call, attempt: int, exc: Exception | None, resp: Any) -> bool:
        """Whether to stop retrying (raising the last error)."""
        if attempt + 1 >= self.retry.max_attempts:
            return True
        if exc is not None:
            return not isinstance(exc, httpx.TimeoutException | httpx.TransportError)
        return resp.status_code not in self.retry.statuses

    def _transport_error(self, call: Call, exc: Exception, attempts: int) -> KalshiTransportError:
        return KalshiTransportError(
            self._endpoint(call), f"{type(exc).__name__}: {exc} (after {attempts} attempts)"
        )

    # --- operations -------------------------------------------------------------------------

    def _field(self, body: Mapping[str, Any], key: str, call: Call, kind: type = dict) -> Any:
        value = body.get(key)
        if not isinstance(value, kind):
            raise KalshiSchemaError(self._endpoint(call), f"expected a {kind.__name__}", field=key)
        return value

    def _paginate(
        self,
        path: str,
        params: Mapping[str, Any],
        key: str,
        parse: Callable[[object, str, FieldLog], Any],
        cursor: str | None = None,
        max_pages: int | None = None,
    ) -> Op:
        pages = 0
        seen: set[str] = set()
        while True:
            call = Call("GET", path, {**params, "cursor": cursor or None})
            body = yield call
            endpoint = self._endpoint(call)
            items = [parse(x, endpoint, self.fields) for x in self._field(body, key, call, list)]
            nxt = body.get("cursor")
            nxt = str(nxt) if nxt not in (None, "") else None
            if nxt is not None and nxt in seen:  # a server bug must not loop forever
                raise KalshiSchemaError(endpoint, f"cursor {nxt!r} repeated", field="cursor")
            if nxt is not None:
                seen.add(nxt)
            yield Emit(items, nxt, endpoint)
            pages += 1
            if nxt is None or (max_pages is not None and pages >= max_pages):
                return
            cursor = nxt

    def _op_cutoff(self, max_age_s: float = 600.0) -> Op:
        now = time.monotonic()
        if self._cutoff is not None and now - self._cutoff[0] < max_age_s:
            return self._cutoff[1]
        call = Call("GET", "/historical/cutoff")
        body = yield call
        cutoff = parse_cutoff(body, self._endpoint(call), self.fields)
        self._cutoff = (now, cutoff)
        return cutoff

    def _op_exchange_status(self) -> Op:
        call = Call("GET", "/exchange/status")
        body = yield call
        return parse_exchange_status(body, self._endpoint(call), self.fields)

    def _op_series(self, series_ticker: str) -> Op:
        call = Call("GET", f"/series/{series_ticker}")
        body = yield call
        return parse_series(self._field(body, "series", call), self._endpoint(call), self.fields)

    def _op_event(self, event_ticker: str, nested: bool = True) -> Op:
        call = Call("GET", f"/events/{event_ticker}", {"with_nested_markets": nested})
        body = yield call
        return parse_event(
            self._field(body, "event", call), self._endpoint(call), self.fields, body.get("markets")
        )

    def _op_market(self, ticker: str, historical: bool | None = None) -> Op:
        # A settled market older than the cutoff answers 404 on the live tier (§5.3, §5.8).
        if historical is not True:
            call = Call(
                "GET",
                f"/markets/{ticker}",
                allow=frozenset({404}) if historical is None else frozenset(),
            )
            body = yield call
            if body is not None:
                return parse_market(
                    self._field(body, "market", call), self._endpoint(call), self.fields
                )
        call = Call("GET", f"/historical/markets/{ticker}")
        body = yield call
        return parse_market(self._field(body, "market", call), self._endpoint(call), self.fields)

    def _op_orderbook(self, ticker: str, depth: int = 0, use_yes_price: bool = False) -> Op:
        # The flag is sent explicitly: Kalshi announced its default will flip (§7.5, §11).
        call = Call(
            "GET", f"/markets/{ticker}/orderbook", {"depth": depth, "use_yes_price": use_yes_price}
        )
        body = yield call
        try:
            return book_from_snapshot(body, ticker=ticker, use_yes_price=use_yes_price)
        except BookError as exc:
            raise KalshiSchemaError(self._endpoint(call), str(exc), field="orderbook_fp") from exc

    def _op_market_candles(
        self,
        series_ticker: str,
        ticker: str,
        start_ts: int,
        end_ts: int,
        period_minutes: int,
        historical: bool | None,
    ) -> Op:
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_minutes}
        if historical is None:
            cutoff = yield from self._op_cutoff()
            # Candles of markets settled before the cutoff exist only in the historical tier.
            historical = end_ts < cutoff.market_settled.timestamp()
        if not historical:
            call = Call(
                "GET",
                f"/series/{series_ticker}/markets/{ticker}/candlesticks",
                params,
                allow=frozenset({404}),
            )
            body = yield call
            if body is not None:
                return self._candles(body, call)
        call = Call("GET", f"/historical/markets/{ticker}/candlesticks", params)
        body = yield call
        return self._candles(body, call)

    def _candles(self, body: Mapping[str, Any], call: Call) -> list[Candle]:
        endpoint = self._endpoint(call)
        return [
            parse_candle(c, endpoint, self.fields)
            for c in self._field(body, "candlesticks", call, list)
        ]

    def _op_event_candles(
        self, series_ticker: str, event_ticker: str, start_ts: int, end_ts: int, period: int
    ) -> Op:
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period}
        call = Call("GET", f"/series/{series_ticker}/events/{event_ticker}/candlesticks", params)
        body = yield call
        endpoint = self._endpoint(call)
        tickers = self._field(body, "market_tickers", call, list)
        lists = self._field(body, "market_candlesticks", call, list)
        if len(tickers) != len(lists):
            raise KalshiSchemaError(
                endpoint,
                f"{len(tickers)} tickers but {len(lists)} candle lists",
                field="market_candlesticks",
            )
        out = {
            str(t): [parse_candle(c, endpoint, self.fields) for c in cs]
            for t, cs in zip(tickers, lists, strict=True)
        }
        return out, body.get("adjusted_end_ts")

    def _op_batch_candles(self, tickers: list[str], start_ts: int, end_ts: int, period: int) -> Op:
        out: dict[str, list[Candle]] = {}
        for i in range(0, len(tickers), 100):  # ≤100 tickers per call (§5.5)
            params = {
                "market_tickers": ",".join(tickers[i : i + 100]),
                "start_ts": start_ts, "end_ts": end_ts, "period_interval": period,
            }  # fmt: skip
            call = Call("GET", "/markets/candlesticks", params)
            body = yield call
            endpoint = self._endpoint(call)
            for m in self._field(body, "markets", call, list):
                if not isinstance(m, dict) or not m.get("market_ticker"):
                    raise KalshiSchemaError(
                        endpoint, "entry without market_ticker", field="markets"
                    )
                out[str(m["market_ticker"])] = [
                    parse_candle(c, endpoint, self.fields) for c in m.get("candlesticks") or []
                ]
        return out

    def _op_trades(
        self,
        ticker: str | None,
        min_ts: int | None,
        max_ts: int | None,
        cursor: str | None,
        tier: str | None,
        limit: int,
    ) -> Op:
        """Trades in ``[min_ts, max_ts]``; the part older than the trade cutoff comes from
        ``/historical/trades``. ``tier``/``cursor`` resume a previous run."""
        cutoff = yield from self._op_cutoff()
        cut = int(cutoff.trades_created.timestamp())
        parts: list[tuple[str, str, int | None, int | None]] = []
        if min_ts is None or min_ts < cut:
            parts.append(
                (
                    "historical",
                    "/historical/trades",
                    min_ts,
                    cut - 1 if max_ts is None else min(max_ts, cut - 1),
                )
            )
        if max_ts is None or max_ts >= cut:
            parts.append(
                ("live", "/markets/trades", cut if min_ts is None else max(min_ts, cut), max_ts)
            )
        if tier is not None:
            names = [p[0] for p in parts]
            parts = parts[names.index(tier) :] if tier in names else parts
        for name, path, lo, hi in parts:
            params = {"ticker": ticker, "min_ts": lo, "max_ts": hi, "limit": limit}
            page_op = self._paginate(path, params, "trades", parse_trade, cursor=cursor)
            reply = None
            while True:
                try:
                    step = page_op.send(reply)
                except StopIteration:
                    break
                if isinstance(step, Emit):
                    step = Emit(step.items, step.cursor, name)  # endpoint field carries the tier
                reply = yield step
            cursor = None


class KalshiClient(_Api):
    """Synchronous Kalshi REST client (httpx).

    Args:
        base_url: REST base including ``/trade-api/v2`` (production by default; point it at a
            local server in tests).
        signer: Signs every request when given (``Signer.from_env()`` reads the environment).
        limiter: Token buckets (Basic tier by default).
        retry: Retry policy.
        transport: An httpx transport (``httpx.MockTransport`` in tests); by default a
            :class:`~kbayes.io.kalshi.deadline.DeadlineTransport`.
        timeout: Per socket operation timeout in seconds.
        deadline_s: Overall limit of one attempt, connect to last body byte (a server that
            trickles bytes cannot hang the client); an attempt past it is a timeout, retried
            like one. ``None``: no limit.
        sleep: Sleep function (tests pass a virtual clock's).
        rng: Randomness for jitter.
    """

    def __init__(
        self,
        base_url: str = PROD_REST_URL,
        *,
        signer: Signer | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        deadline_s: float | None = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(base_url, signer=signer, limiter=limiter, retry=retry, rng=rng)
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport or DeadlineTransport(), timeout=timeout
        )
        self.deadline_s = deadline_s
        self._sleep = sleep

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, call: Call) -> Any:
        """Perform one :class:`Call` with rate limiting, signing and retries."""
        for attempt in range(self.retry.max_attempts):
            wait = self.limiter.reserve(call.method, self._base_path + call.path)
            if wait > 0:
                self._sleep(wait)
            self.requests += 1
            exc: Exception | None = None
            resp = None
            try:
                with deadline(self.deadline_s):
                    resp = self._http.request(
                        call.method, call.path, params=self._params(call.params),
                        headers=self._headers(call.method, call.path),
                    )  # fmt: skip
            except httpx.HTTPError as e:
                exc = e
            if exc is None and (resp.status_code < 400 or resp.status_code in call.allow):  # type: ignore[union-attr]
                return self._decode(call, resp)  # type: ignore[arg-type]
            if self._give_up(call, attempt, exc, resp):
                if exc is not None:
                    if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
                        raise self._transport_error(call, exc, attempt + 1) from exc
                    raise exc
                return self._decode(call, resp)  # type: ignore[arg-type]  # raises the HTTP error
            self._sleep(self.retry.delay(attempt, self.rng))
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, op: Op) -> Any:
        reply = None
        while True:
            try:
                step = op.send(reply)
            except StopIteration as stop:
                return stop.value
            reply = self.request(step) if isinstance(step, Call) else None

    def _iter(self, op: Op) -> Iterator[Any]:
        for page in self._pages(op):
            yield from page.items

    def _pages(self, op: Op) -> Iterator[Emit]:
        reply = None
        while True:
            try:
                step = op.send(reply)
            except StopIteration:
                return
            if isinstance(step, Call):
                reply = self.request(step)
            else:
                reply = None
                yield step

    # --- public API -----------------------------------------------------------------------------

    def exchange_status(self) -> ExchangeStatus:
        """``GET /exchange/status``."""
        return self._run(self._op_exchange_status())

    def historical_cutoff(self) -> HistoricalCutoff:
        """``GET /historical/cutoff`` (cached for 10 minutes)."""
        return self._run(self._op_cutoff())

    def series(self, series_ticker: str) -> Series:
        """``GET /series/{series_ticker}``."""
        return self._run(self._op_series(series_ticker))

    def events(self, **filters: Any) -> Iterator[Event]:
        """All events matching ``filters`` (``series_ticker``, ``status``, nesting)."""
        return self._iter(
            self._paginate("/events", {"limit": 200, **filters}, "events", parse_event)
        )

    def event(self, event_ticker: str, nested: bool = True) -> Event:
        """``GET /events/{event_ticker}`` with its markets."""
        return self._run(self._op_event(event_ticker, nested))

    def markets(self, **filters: Any) -> Iterator[Market]:
        """All markets matching ``filters`` (``series_ticker``, ``event_ticker``, ``status``…)."""
        return self._iter(self.market_pages(**filters))

    def market_pages(
        self, cursor: str | None = None, historical: bool = False, **filters: Any
    ) -> Iterator[Emit]:
        """Pages of ``GET /markets`` (or ``/historical/markets``), resumable from ``cursor``."""
        path = "/historical/markets" if historical else "/markets"
        return self._pages(
            self._paginate(path, {"limit": 1000, **filters}, "markets", parse_market, cursor)
        )

    def market(self, ticker: str, historical: bool | None = None) -> Market:
        """One market; a 404 on the live tier falls back to ``/historical/markets/{ticker}``."""
        return self._run(self._op_market(ticker, historical))

    def orderbook(self, ticker: str, depth: int = 0, use_yes_price: bool = False) -> OrderBook:
        """The order book (all levels by default), sending ``use_yes_price`` explicitly."""
        return self._run(self._op_orderbook(ticker, depth, use_yes_price))

    def candlesticks(
        self,
        series_ticker: str,
        ticker: str,
        start: dt.datetime | int,
        end: dt.datetime | int,
        period_minutes: int = 60,
        historical: bool | None = None,
    ) -> list[Candle]:
        """One market's candles whose end falls in ``[start, end]`` (routed by the cutoff)."""
        return self._run(
            self._op_market_candles(
                series_ticker, ticker, _ts(start), _ts(end), period_minutes, historical
            )  # type: ignore[arg-type]
        )

    def event_candlesticks(
        self, series_ticker: str, event_ticker: str, start: dt.datetime | int,
        end: dt.datetime | int, period_minutes: int = 60,
    ) -> tuple[dict[str, list[Candle]], int | None]:  # fmt: skip
        """Candles of every market of an event, and ``adjusted_end_ts`` (lowered when too big)."""
        return self._run(
            self._op_event_candles(
                series_ticker, event_ticker, _ts(start), _ts(end), period_minutes
            )  # type: ignore[arg-type]
        )

    def multi_event_candlesticks(
        self, series_ticker: str, event_tickers: list[str], start: dt.datetime | int,
        end: dt.datetime | int, period_minutes: int = 60,
    ) -> dict[str, list[Candle]]:  # fmt: skip
        """Candles of every market of several events, merged by market ticker."""
        out: dict[str, list[Candle]] = {}
        for ev in event_tickers:
            out.update(self.event_candlesticks(series_ticker, ev, start, end, period_minutes)[0])
        return out

    def batch_candlesticks(
        self, tickers: list[str], start: dt.datetime | int, end: dt.datetime | int,
        period_minutes: int = 60,
    ) -> dict[str, list[Candle]]:  # fmt: skip
        """``GET /markets/candlesticks`` for many markets (100 per request)."""
        return self._run(
            self._op_batch_candles(list(tickers), _ts(start), _ts(end), period_minutes)
        )  # type: ignore[arg-type]

    def trades(
        self, ticker: str | None = None, min_ts: dt.datetime | int | None = None,
        max_ts: dt.datetime | int | None = None, limit: int = 1000,
    ) -> Iterator[Trade]:  # fmt: skip
        """Public trades, newest first per tier, historical tier included when needed."""
        for page in self.trade_pages(ticker, min_ts, max_ts, limit=limit):
            yield from page.items

    def trade_pages(
        self, ticker: str | None = None, min_ts: dt.datetime | int | None = None,
        max_ts: dt.datetime | int | None = None, *, cursor: str | None = None,
        tier: str | None = None, limit: int = 1000,
    ) -> Iterator[Emit]:  # fmt: skip
        """Pages of trades; each :class:`Emit` carries the ``cursor`` and tier (``endpoint``)
        to resume from."""
        return self._pages(self._op_trades(ticker, _ts(min_ts), _ts(max_ts), cursor, tier, limit))

    def todays_ladder(
        self, city: City | str, now: dt.datetime | None = None
    ) -> tuple[Event, Ladder]:
        """The event and validated ladder of a city's current climate day (LST, §1.2)."""
        c = city if isinstance(city, City) else city_of(city)
        day = c.climate_day_of(now or dt.datetime.now(dt.UTC))
        event = self.event(event_ticker_for(c, day), nested=True)
        return event, Ladder.from_markets(event.event_ticker, [m.raw for m in event.markets])


class AsyncKalshiClient(_Api):
    """Asynchronous Kalshi REST client; same operations as :class:`KalshiClient`."""

    def __init__(
        self,
        base_url: str = PROD_REST_URL,
        *,
        signer: Signer | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        deadline_s: float | None = 60.0,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(base_url, signer=signer, limiter=limiter, retry=retry, rng=rng)
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=timeout)
        self.deadline_s = deadline_s
        self._sleep = sleep

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncKalshiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(self, call: Call) -> Any:
        """Perform one :class:`Call` with rate limiting, signing and retries."""
        for attempt in range(self.retry.max_attempts):
            wait = self.limiter.reserve(call.method, self._base_path + call.path)
            if wait > 0:
                await self._sleep(wait)
            self.requests += 1
            exc: Exception | None = None
            resp = None
            try:
                resp = await asyncio.wait_for(
                    self._http.request(
                        call.method, call.path, params=self._params(call.params),
                        headers=self._headers(call.method, call.path),
                    ),
                    self.deadline_s,
                )  # fmt: skip
            except httpx.HTTPError as e:
                exc = e
            except TimeoutError:
                exc = httpx.ReadTimeout(f"no complete answer within {self.deadline_s:g} s")
            if exc is None and (resp.status_code < 400 or resp.status_code in call.allow):  # type: ignore[union-attr]
                return self._decode(call, resp)  # type: ignore[arg-type]
            if self._give_up(call, attempt, exc, resp):
                if exc is not None:
                    if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
                        raise self._transport_error(call, exc, attempt + 1) from exc
                    raise exc
                return self._decode(call, resp)  # type: ignore[arg-type]
            await self._sleep(self.retry.delay(attempt, self.rng))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run(self, op: Op) -> Any:
        reply = None
        while True:
            try:
                step = op.send(reply)
            except StopIteration as stop:
                return stop.value
            reply = await self.request(step) if isinstance(step, Call) else None

    async def _pages(self, op: Op) -> AsyncIterator[Emit]:
        reply = None
        while True:
            try:
                step = op.send(reply)
            except StopIteration:
                return
            if isinstance(step, Call):
                reply = await self.request(step)
            else:
                reply = None
                yield step

    async def _iter(self, op: Op) -> AsyncIterator[Any]:
        async for page in self._pages(op):
            for item in page.items:
                yield item

    async def exchange_status(self) -> ExchangeStatus:
        """``GET /exchange/status``."""
        return await self._run(self._op_exchange_status())

    async def historical_cutoff(self) -> HistoricalCutoff:
        """``GET /historical/cutoff`` (cached for 10 minutes)."""
        return await self._run(self._op_cutoff())

    async def series(self, series_ticker: str) -> Series:
        """``GET /series/{series_ticker}``."""
        return await self._run(self._op_series(series_ticker))

    def events(self, **filters: Any) -> AsyncIterator[Event]:
        """All events matching ``filters``."""
        return self._iter(
            self._paginate("/events", {"limit": 200, **filters}, "events", parse_event)
        )

    async def event(self, event_ticker: str, nested: bool = True) -> Event:
        """``GET /events/{event_ticker}``."""
        return await self._run(self._op_event(event_ticker, nested))

    def markets(self, cursor: str | None = None, **filters: Any) -> AsyncIterator[Market]:
        """All markets matching ``filters``."""
        return self._iter(
            self._paginate("/markets", {"limit": 1000, **filters}, "markets", parse_market, cursor)
        )

    async def market(self, ticker: str, historical: bool | None = None) -> Market:
        """One market (live tier, then historical on 404)."""
        return await self._run(self._op_market(ticker, historical))

    async def orderbook(
        self, ticker: str, depth: int = 0, use_yes_price: bool = False
    ) -> OrderBook:
        """The order book, sending ``use_yes_price`` explicitly."""
        return await self._run(self._op_orderbook(ticker, depth, use_yes_price))

    async def candlesticks(
        self, series_ticker: str, ticker: str, start: dt.datetime | int, end: dt.datetime | int,
        period_minutes: int = 60, historical: bool | None = None,
    ) -> list[Candle]:  # fmt: skip
        """One market's candles (routed by the cutoff)."""
        return await self._run(
            self._op_market_candles(
                series_ticker, ticker, _ts(start), _ts(end), period_minutes, historical
            )  # type: ignore[arg-type]
        )

    async def event_candlesticks(
        self, series_ticker: str, event_ticker: str, start: dt.datetime | int,
        end: dt.datetime | int, period_minutes: int = 60,
    ) -> tuple[dict[str, list[Candle]], int | None]:  # fmt: skip
        """Candles of every market of an event."""
        return await self._run(
            self._op_event_candles(
                series_ticker, event_ticker, _ts(start), _ts(end), period_minutes
            )  # type: ignore[arg-type]
        )

    async def batch_candlesticks(
        self, tickers: list[str], start: dt.datetime | int, end: dt.datetime | int,
        period_minutes: int = 60,
    ) -> dict[str, list[Candle]]:  # fmt: skip
        """``GET /markets/candlesticks`` for many markets."""
        return await self._run(
            self._op_batch_candles(list(tickers), _ts(start), _ts(end), period_minutes)
        )  # type: ignore[arg-type]

    def trades(
        self, ticker: str | None = None, min_ts: dt.datetime | int | None = None,
        max_ts: dt.datetime | int | None = None, limit: int = 1000,
    ) -> AsyncIterator[Trade]:  # fmt: skip
        """Public trades (historical tier included when needed)."""
        return self._iter(self._op_trades(ticker, _ts(min_ts), _ts(max_ts), None, None, limit))

    async def todays_ladder(
        self, city: City | str, now: dt.datetime | None = None
    ) -> tuple[Event, Ladder]:
        """The event and validated ladder of a city's current climate day."""
        c = city if isinstance(city, City) else city_of(city)
        day = c.climate_day_of(now or dt.datetime.now(dt.UTC))
        event = await self.event(event_ticker_for(c, day), nested=True)
        return event, Ladder.from_markets(event.event_ticker, [m.raw for m in event.markets])
