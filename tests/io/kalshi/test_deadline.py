"""The overall per-request deadline of both REST clients, against a server on 127.0.0.1 that
answers one byte every 0.1 s (status line and headers included)."""

from __future__ import annotations

import asyncio

import pytest

from kbayes.io.kalshi.errors import KalshiTransportError
from kbayes.io.kalshi.rest import AsyncKalshiClient, KalshiClient, RetryPolicy
from tests.cli.test_cli_network_errors import trickle as trickle


def test_sync_client_gives_up_at_the_deadline(trickle: str) -> None:
    client = KalshiClient(trickle, deadline_s=0.5, retry=RetryPolicy(max_attempts=1))
    try:
        with pytest.raises(KalshiTransportError, match=r"within the 0\.5 s deadline"):
            client.exchange_status()
    finally:
        client.close()


def test_async_client_gives_up_at_the_deadline(trickle: str) -> None:
    async def go() -> None:
        retry = RetryPolicy(max_attempts=1)
        async with AsyncKalshiClient(trickle, deadline_s=0.5, retry=retry) as client:
            with pytest.raises(KalshiTransportError, match=r"within 0\.5 s"):
                await client.exchange_status()

    asyncio.run(go())
