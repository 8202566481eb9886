"""Client-side token buckets matching Kalshi's rate limits (kalshi-api.md §3.3).

Kalshi bills each request in tokens (default 10, others from ``GET /account/endpoint_costs``)
from two independent buckets, Read and Write, refilled per second by usage tier; Basic and
Advanced read buckets hold 2 s of budget. A 429 carries no ``Retry-After``, so the cheapest
way to stay under the limit is to never send faster than the bucket allows: each request
*reserves* its cost and sleeps until the bucket covers it. Retries reserve again, so a burst
of 429s cannot push the client over its budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_COST = 10

# (read tokens/s, write tokens/s) per usage tier.
TIERS: dict[str, tuple[int, int]] = {
    "basic": (200, 100),
    "advanced": (300, 300),
    "expert": (600, 600),
    "premier": (1000, 1000),
    "paragon": (2000, 2000),
    "prime": (4000, 4000),
    "prestige": (10000, 8000),
}

# Mutations that draw on the Write bucket (orders, order groups, RFQ quotes, block trades).
_WRITE_PREFIXES = (
    "/portfolio/orders",
    "/portfolio/events/orders",
    "/portfolio/order_groups",
    "/communications/quotes",
    "/communications/rfqs",
    "/block_trades",
)


class TokenBucket:
    """A token bucket that hands out reservations (the wait before a request may go).

    Thread-safe. ``clock`` is injectable so tests can run on virtual time.

    Attributes:
        rate: Tokens added per second.
        capacity: Most tokens the bucket holds.
    """

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Start full."""
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def reserve(self, cost: float) -> float:
        """Take ``cost`` tokens now (possibly going negative) and return the wait in seconds.

        Raises:
            ValueError: A cost above the capacity could never be granted (Kalshi rejects it too).
        """
        if cost > self.capacity:
            raise ValueError(f"cost {cost} exceeds the bucket capacity {self.capacity}")
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= cost
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while reservations are outstanding)."""
        with self._lock:
            now = self._clock()
            return min(self.capacity, self._tokens + (now - self._stamp) * self.rate)


@dataclass
class RateLimiter:
    """Read and Write buckets plus per-endpoint costs.

    Attributes:
        read: The Read bucket (GETs and anything that is not a Write).
        write: The Write bucket.
        costs: ``{(METHOD, path template or path): tokens}`` of non-default endpoints.
        default_cost: Tokens of any other endpoint.
    """

    read: TokenBucket
    write: TokenBucket
    costs: dict[tuple[str, str], int]
    default_cost: int = DEFAULT_COST

    @classmethod
    def for_tier(
        cls, tier: str = "basic", clock: Callable[[], float] = time.monotonic
    ) -> RateLimiter:
        """Buckets of a usage tier (Basic by default: 200 read / 100 write tokens per second)."""
        try:
            read_rate, write_rate = TIERS[tier.lower()]
        except KeyError:
            raise ValueError(f"unknown tier {tier!r}; known: {sorted(TIERS)}") from None
        # Basic/Advanced read and above-Basic write buckets hold 2 s of budget, others 1 s.
        read_cap = read_rate * (2 if tier.lower() in ("basic", "advanced") else 1)
        write_cap = write_rate * (1 if tier.lower() == "basic" else 2)
        return cls(
            TokenBucket(read_rate, read_cap, clock), TokenBucket(write_rate, write_cap, clock), {}
        )

    def update_costs(self, payload: Mapping[str, object]) -> None:
        """Load a ``GET /account/endpoint_costs`` body (``default_cost``, ``endpoint_costs``)."""
        if isinstance(payload.get("default_cost"), int):
            self.default_cost = int(payload["default_cost"])  # type: ignore[arg-type]
        for item in payload.get("endpoint_costs") or []:  # type: ignore[union-attr]
            if isinstance(item, Mapping) and "cost" in item:
                method = str(item.get("method", "GET")).upper()
                path = str(item.get("path") or item.get("endpoint") or "")
                if path:
                    self.costs[(method, path)] = int(item["cost"])  # type: ignore[arg-type]

    def cost(self, method: str, path: str) -> int:
        """Tokens one request costs."""
        return self.costs.get((method.upper(), path), self.default_cost)

    def is_write(self, method: str, path: str) -> bool:
        """Whether a request draws on the Write bucket."""
        if method.upper() == "GET":
            return False
        rel = path.split("/trade-api/v2", 1)[-1]
        return rel.startswith(_WRITE_PREFIXES)

    def reserve(self, method: str, path: str) -> float:
        """Reserve one request's cost; the seconds to wait before sending it."""
        bucket = self.write if self.is_write(method, path) else self.read
        return bucket.reserve(self.cost(method, path))
