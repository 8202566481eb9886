"""One clock for replay and live: sources merged into one ordered stream, grid ticks, guards.

* :mod:`kbayes.clock.merge`: the deterministic total order ``(available_ns, source rank,
  sequence)`` over any number of ordered sources, with a check that each source is ordered.
* :mod:`kbayes.clock.ticks`: the timer grid as a source.
* :mod:`kbayes.clock.guard`: the clock every component reads; asking for anything stamped
  after it is a :class:`~kbayes.clock.guard.LookAheadError`.
* :mod:`kbayes.clock.live`: the live queue that asyncio source tasks put events on.
"""

from kbayes.clock.guard import Clock, LookAheadError
from kbayes.clock.merge import OrderError, Source, merge
from kbayes.clock.ticks import tick_source, ticks

__all__ = ["Clock", "LookAheadError", "OrderError", "Source", "merge", "tick_source", "ticks"]
