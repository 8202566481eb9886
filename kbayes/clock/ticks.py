"""The timer: grid instants as :class:`~kbayes.market.events.Tick` events."""

from __future__ import annotations

from collections.abc import Iterator

from kbayes.clock.merge import RANK_TIMER, Source
from kbayes.market.events import NS_PER_S, Tick


def ticks(start_ns: int, end_ns: int, step_s: float) -> Iterator[Tick]:
    """Ticks at the multiples of ``step_s`` (aligned on the UTC epoch) in ``[start, end]``."""
    step = round(step_s * NS_PER_S)
    if step <= 0:
        raise ValueError(f"tick step_s={step_s} must be positive")
    t = -(-start_ns // step) * step
    while t <= end_ns:
        yield Tick(t, t)
        t += step


def tick_source(start_ns: int, end_ns: int, step_s: float, name: str = "timer") -> Source:
    """:func:`ticks` as a merge source (rank first: a tick precedes events available at it)."""
    return Source(name, RANK_TIMER, ticks(start_ns, end_ns, step_s))
