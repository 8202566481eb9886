"""The clock components read, and the look-ahead guard.

The runner advances the clock to each event's ``available_ns`` before anything sees the
event. A component that asks for data as of a time (a forecast path, the running high, a
stored table's rows) passes that time to :meth:`Clock.check`; a time after the clock is a
:class:`LookAheadError` rather than a silently future-informed number. Time never runs
backwards: advancing to an earlier instant is an error too (it would mean the merge broke).
"""

from __future__ import annotations

from kbayes.market.events import ns_to_utc


class LookAheadError(RuntimeError):
    """Something asked for data stamped after the clock (or the clock was moved backwards)."""


class Clock:
    """The current time of a run (integer ns since the UTC epoch).

    Attributes:
        now_ns: the ``available_ns`` of the last released event (``-inf`` before the first:
            stored as the smallest int64).
    """

    __slots__ = ("now_ns",)

    def __init__(self, start_ns: int = -(2**63)) -> None:
        self.now_ns = start_ns

    def advance(self, t_ns: int) -> None:
        """Move to ``t_ns`` (the next event's ``available_ns``)."""
        if t_ns < self.now_ns:
            raise LookAheadError(
                f"clock moved backwards: {ns_to_utc(t_ns).isoformat()} after "
                f"{ns_to_utc(self.now_ns).isoformat()}"
            )
        self.now_ns = t_ns

    def check(self, t_ns: int, what: str) -> None:
        """Refuse ``what`` stamped at ``t_ns`` when that is after the clock."""
        if t_ns > self.now_ns:
            raise LookAheadError(
                f"{what} is stamped {ns_to_utc(t_ns).isoformat()}, after the clock "
                f"({ns_to_utc(self.now_ns).isoformat()}): that would be look-ahead"
            )
