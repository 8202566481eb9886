"""Kalshi exchange clients: REST (sync/async), WebSocket books, tape recorder and replay.

* :mod:`.auth`: RSA-PSS request signing; :mod:`.ratelimit`: token buckets;
* :mod:`.rest`: :class:`KalshiClient` / :class:`AsyncKalshiClient`; :mod:`.schema`: typed objects;
* :mod:`.book_wire`: order-book payloads to books; :mod:`.seq`: the per-sid ``seq`` check;
* :mod:`.stream`: books and seq per sid (no I/O); :mod:`.ws`: :class:`KalshiWebSocket`;
* :mod:`.recorder`, :mod:`.replay`: ``kbayes record`` / ``kbayes book``.

The field readers it shares with the importers are :mod:`kbayes.io.kalshi_wire`; the REST
backfill into the store (``kbayes fetch``) is :mod:`kbayes.io.backfill`.
"""

from kbayes.io.kalshi.auth import Signer
from kbayes.io.kalshi.errors import (
    KalshiError,
    KalshiHTTPError,
    KalshiSchemaError,
    KalshiTransportError,
)
from kbayes.io.kalshi.rest import AsyncKalshiClient, KalshiClient, RetryPolicy
from kbayes.io.kalshi.ws import KalshiWebSocket

__all__ = [
    "AsyncKalshiClient",
    "KalshiClient",
    "KalshiError",
    "KalshiHTTPError",
    "KalshiSchemaError",
    "KalshiTransportError",
    "KalshiWebSocket",
    "RetryPolicy",
    "Signer",
]
