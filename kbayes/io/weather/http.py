"""One GET with retries on 429/5xx/timeouts, shared by the weather clients."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx


class WeatherAPIError(RuntimeError):
    """A weather API answered with an error (the body is often plain text, not JSON).

    Attributes:
        provider: ``visual_crossing``, ``nws`` or ``iem``.
        status: HTTP status, ``None`` when no response arrived.
    """

    def __init__(self, provider: str, url: str, status: int | None, message: str) -> None:
        self.provider, self.url, self.status = provider, url, status
        what = f"HTTP {status}" if status else "no response"
        super().__init__(f"{provider} {url}: {what}: {message[:200]}")


def get(
    client: httpx.Client,
    provider: str,
    url: str,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    attempts: int = 4,
    base_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> httpx.Response:
    """GET ``url``; 429, 5xx and transport errors are retried with jittered backoff.

    Raises:
        WeatherAPIError: On any other status, or when the attempts run out.
    """
    rng = rng or random.Random()
    for attempt in range(attempts):
        try:
            resp = client.get(url, params=params, headers=headers)
        except httpx.TransportError as exc:
            if attempt + 1 == attempts:
                raise WeatherAPIError(provider, url, None, str(exc)) from exc
        else:
            if resp.status_code < 400:
                return resp
            if (resp.status_code != 429 and resp.status_code < 500) or attempt + 1 == attempts:
                raise WeatherAPIError(provider, url, resp.status_code, resp.text)
        d = base_s * 2**attempt
        sleep(rng.uniform(d / 2, d))
    raise AssertionError("unreachable")  # pragma: no cover
