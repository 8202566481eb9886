"""The tape recorder behind ``kbayes record``: subscribe, write every frame, run until told."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from pathlib import Path

from kbayes.io.kalshi.auth import Signer
from kbayes.io.kalshi.rest import PROD_REST_URL, AsyncKalshiClient
from kbayes.io.kalshi.ws import (
    DEFAULT_CHANNELS,
    PROD_WS_URL,
    Hook,
    KalshiWebSocket,
    WebSocketError,
)
from kbayes.io.tape import TapeWriter


async def resolve_tickers(
    series: Sequence[str], rest_url: str = PROD_REST_URL, signer: Signer | None = None
) -> list[str]:
    """Tickers of the open markets of each series (REST ``GET /markets?status=open``)."""
    out: list[str] = []
    async with AsyncKalshiClient(rest_url, signer=signer) as client:
        for s in series:
            async for m in client.markets(series_ticker=s, status="open"):
                out.append(m.ticker)
    return out


async def record(
    tape_dir: str | Path,
    *,
    tickers: Sequence[str] = (),
    series: Sequence[str] = (),
    ws_url: str = PROD_WS_URL,
    rest_url: str = PROD_REST_URL,
    signer: Signer | None = None,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    use_yes_price: bool = False,
    duration_s: float | None = None,
    handle_signals: bool = True,
    on_connect_error: Hook | None = None,
    on_rejected: Hook | None = None,
) -> KalshiWebSocket:
    """Record a live stream into ``tape_dir`` until SIGINT/SIGTERM or ``duration_s`` (or the
    server closes normally, or rejects every subscription).

    Args:
        on_connect_error: Called with ``(exception, consecutive failures)`` after each failed
            connect attempt (attempts go on with backoff until the end).
        on_rejected: Called with each rejected ``subscribe``
            (:class:`~kbayes.io.kalshi.ws.Rejection`).

    Returns:
        The client (its ``metrics``, ``rejections``, ``close_reason`` and ``stream.metrics``
        summarise the session).

    Raises:
        WebSocketError: Nothing to record, or the handshake was refused for good.
    """
    all_tickers = list(tickers)
    if series:
        all_tickers += [
            t for t in await resolve_tickers(series, rest_url, signer) if t not in all_tickers
        ]
    if not all_tickers:
        raise WebSocketError(f"nothing to record: no open market in series {','.join(series)}")
    with TapeWriter(tape_dir) as tape:
        client = KalshiWebSocket(
            ws_url, signer=signer, tape=tape, on_connect_error=on_connect_error,
            on_rejected=on_rejected,
        )  # fmt: skip
        await client.subscribe(channels, all_tickers, use_yes_price=use_yes_price)
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, client.stop)
        timer = loop.call_later(duration_s, client.stop) if duration_s else None
        try:
            await client.run()
        finally:
            if timer is not None:
                timer.cancel()
    return client
