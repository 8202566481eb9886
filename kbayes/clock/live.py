"""The live queue: asyncio source tasks put events on one queue, the runner takes them in order.

Live there is no merge of pre-sorted sources: the WebSocket client, the weather poller and
the timer are asyncio tasks of one event loop, and each puts what it receives on one
:class:`LiveQueue`. Everything runs on the loop's single thread, so the order in which events
are put *is* the order in which they were stamped, provided the stamp and the put happen in
one synchronous stretch (no ``await`` between them): the WebSocket client stamps a frame on
receipt and its stream puts the frame's events while handling it, the poller's events are
stamped when a poll's answer reaches the loop. The consumer therefore gets events in
non-decreasing ``available_ns`` order, the order :func:`~kbayes.clock.merge.merge` gives
replay.

* **One time function.** :meth:`LiveQueue.now_ns` is the only clock of a live run: the
  client's receive stamps (tape lines and events alike), the poller's receive stamps and the
  timer read it. It wraps an injectable ``now_ns`` (``time.time_ns`` by default) and its
  stamps strictly increase: a wall clock stepped back (NTP), or two reads within its
  resolution, give the last stamp plus 1 ns instead of an event before its predecessor
  (which the runner's :class:`~kbayes.clock.guard.Clock` would refuse) or a tie between two
  sources (which the merge would break by source rank, not by arrival). So the merge of the
  run's recorded sources orders them exactly as they arrived.
* **Ticks interleave exactly as in replay.** The grid is ``t_i = i * tick_s`` (aligned on the
  UTC epoch, as :func:`~kbayes.clock.ticks.ticks`). A tick at ``t`` is put before every
  event available at ``t`` or later and after every event available before it: the timer
  task puts it when the clock reaches ``t``, and an event stamped at ``r >= t`` that is put
  first (the timer task wakes a little late) puts every due tick ahead of itself. So a live
  run and a replay of its tape with the same grid step the same sequence (tested).
* **Late events are restamped, never reordered.** Should an event carry a stamp before the
  last one put (a hook suspended between stamp and put), it is put with the last stamp
  instead (``available_ns`` raised to it, counted in :attr:`LiveQueue.late`): the stream stays
  ordered and free of look-ahead, and the count says the live run drifted from its tape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import cast

from kbayes.market.events import NS_PER_S, Event, Tick

_MIN_NS = -(2**63)


class LiveQueue:
    """One ordered queue of live events with a tick grid (see the module docstring).

    Args:
        tick_s: the grid step in seconds (``None``: no ticks).
        now_ns: the wall clock, integer ns since the UTC epoch (tests inject their own).
        start_ns: the first tick is the first grid point at or after this (default: now).

    Attributes:
        n_put: events put (ticks included).
        n_ticks: ticks put.
        late: events restamped because their stamp was before the last one put.
        first_tick_ns / last_tick_ns: the grid range put so far (``None`` before a tick).
    """

    def __init__(
        self,
        tick_s: float | None = None,
        now_ns: Callable[[], int] = time.time_ns,
        start_ns: int | None = None,
    ) -> None:
        self._raw = now_ns
        self._issued = _MIN_NS  # the last stamp handed out by now_ns()
        self._hwm = _MIN_NS  # available_ns of the last event put
        self._q: asyncio.Queue[Event | None] = asyncio.Queue()
        self.closed = False
        self.n_put = self.n_ticks = self.late = 0
        self.first_tick_ns: int | None = None
        self.last_tick_ns: int | None = None
        if tick_s is None:
            self.step_ns = 0
            self._next_tick: int | None = None
        else:
            step = round(tick_s * NS_PER_S)
            if not step > 0:
                raise ValueError(f"tick_s={tick_s!r} must be a positive number of seconds")
            self.step_ns = step
            start = self.now_ns() if start_ns is None else start_ns
            self._next_tick = -(-start // step) * step  # ceil: the first grid point >= start

    # --- the clock ------------------------------------------------------------------------

    def now_ns(self) -> int:
        """A new stamp: the wall clock, or 1 ns after the last stamp if that is not before it."""
        t = self._raw()
        if t <= self._issued:
            t = self._issued + 1
        self._issued = t
        return t

    @property
    def next_tick_ns(self) -> int | None:
        """The next grid instant not yet put (``None`` without a grid)."""
        return self._next_tick

    # --- producers ------------------------------------------------------------------------

    def _ticks_through(self, t_ns: int) -> None:
        """Put every tick of the grid at or before ``t_ns`` that is not on the queue yet."""
        nt = self._next_tick
        if nt is None or nt > t_ns:
            return
        put = self._q.put_nowait
        step = self.step_ns
        if self.first_tick_ns is None:
            self.first_tick_ns = nt
        while nt <= t_ns:
            put(Tick(nt, nt))
            self._hwm = nt
            self.last_tick_ns = nt
            self.n_ticks += 1
            self.n_put += 1
            nt += step
        self._next_tick = nt

    def put(self, ev: Event) -> Event:
        """Put one event stamped by its producer (``available_ns``); returns what was put."""
        if self.closed:
            raise RuntimeError("the live queue is closed")
        t = ev.available_ns
        if t < self._hwm:  # stamped before something already put: keep the order
            ev = cast(Event, ev._replace(available_ns=self._hwm))
            t = self._hwm
            self.late += 1
        self._ticks_through(t)
        self._q.put_nowait(ev)
        self._hwm = t
        self.n_put += 1
        return ev

    def put_many(self, events: Iterable[Event]) -> None:
        """Put events in order (a frame's events, one poll's events)."""
        for ev in events:
            self.put(ev)

    def put_stamped(self, make: Callable[[int], Iterable[Event]]) -> int:
        """Stamp now and put ``make(stamp)``'s events (stamp and put in one step); the stamp."""
        t = self.now_ns()
        self.put_many(make(t))
        return t

    def tick_due(self) -> None:
        """Put the ticks due by now (what the timer task does when it wakes)."""
        if self._next_tick is not None and not self.closed:
            self._ticks_through(self.now_ns())

    async def run_timer(self, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """Put each tick when the clock reaches it, until :meth:`close`."""
        if self._next_tick is None:
            return
        while not self.closed:
            nt = self._next_tick
            now = self.now_ns()
            if now >= nt:
                self._ticks_through(now)
                continue
            # The loop may wake a little early (its clock resolution): the check above
            # runs again and sleeps the rest.
            await sleep((nt - now) / NS_PER_S)

    def close(self) -> None:
        """No more events: the consumer drains what was put, then gets ``None``."""
        if not self.closed:
            self.closed = True
            self._q.put_nowait(None)

    # --- the consumer ---------------------------------------------------------------------

    def qsize(self) -> int:
        """Events waiting."""
        return self._q.qsize()

    async def get(self) -> Event | None:
        """The next event in order, ``None`` once closed and drained."""
        ev = await self._q.get()
        if ev is None:
            self._q.put_nowait(None)  # every later get() also ends
        return ev

    async def events(self) -> AsyncIterator[Event]:
        """Async iterator over the events until closed (``async for ev in q.events()``)."""
        while (ev := await self.get()) is not None:
            yield ev
