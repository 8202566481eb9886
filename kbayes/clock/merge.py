"""Merge ordered sources into one deterministic stream.

The total order is ``(available_ns, rank, sequence)``: the time an event became knowable,
then the source's rank (ties between sources broken the same way on every run: the timer
ranks first, so a tick at ``t`` precedes everything that became available at ``t`` and a
decision there sees only what came strictly before), then the event's position in its
source. A source must itself be ordered by ``available_ns``; one that is not raises
:class:`OrderError` naming it (a silently re-sorted source would hide a broken importer).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from kbayes.market.events import Event, ns_to_utc

RANK_TIMER = 0
RANK_WEATHER = 10
RANK_MARKET = 20


class OrderError(ValueError):
    """A source yielded an event available before its predecessor."""


class Source(NamedTuple):
    """An iterator of events in ``available_ns`` order, with a name and a tie-break rank."""

    name: str
    rank: int
    events: Iterable[Event]


def _keyed(source: Source) -> Iterator[tuple[int, int, int, Event]]:
    last = -(2**63)
    rank = source.rank
    for seq, ev in enumerate(source.events):
        t = ev.available_ns
        if t < last:
            raise OrderError(
                f"source {source.name!r}: event {seq} ({type(ev).__name__}) is available at "
                f"{ns_to_utc(t).isoformat()}, before the previous one "
                f"({ns_to_utc(last).isoformat()})"
            )
        last = t
        yield t, rank, seq, ev


def merge(sources: Iterable[Source]) -> Iterator[Event]:
    """The events of every source in ``(available_ns, rank, sequence)`` order."""
    sources = list(sources)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"source names must be distinct, got {names}")
    ranks = [(s.rank, s.name) for s in sources]
    if len({r for r, _ in ranks}) != len(ranks):
        raise ValueError(f"source ranks must be distinct (they break ties), got {ranks}")
    if len(sources) == 1:  # no heap: the check alone
        for *_, ev in _keyed(sources[0]):
            yield ev
        return
    # Tuples compare (t, rank, seq) first and never reach the event: ranks are distinct.
    for *_, ev in heapq.merge(*(_keyed(s) for s in sources)):
        yield ev
