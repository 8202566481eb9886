"""Hand-made events for the baseline tests: one 3-bracket NY ladder per day."""

from __future__ import annotations

import datetime as dt

from kbayes.experiment.config import DecisionTime
from kbayes.experiment.data import EventDay
from kbayes.market.bracket import Bracket
from kbayes.market.ladder import Ladder

EIGHT = DecisionTime.parse("08:00")  # 13:00Z in January (EST)


def event(day: dt.date, outcome: int, split: str = "train", lo: int = 40) -> EventDay:
    """``<= lo - 1``, ``[lo, lo + 1]``, ``>= lo + 2`` for ``KXHIGHNY-<day>``."""
    ev = f"KXHIGHNY-{day:%y%b%d}".upper()
    ladder = Ladder(
        ev,
        (
            Bracket(None, lo - 1, f"{ev}-T{lo}", ""),
            Bracket(lo, lo + 1, f"{ev}-B{lo}.5", ""),
            Bracket(lo + 2, None, f"{ev}-T{lo + 1}", ""),
        ),
    )
    return EventDay(ev, "NY", day, ladder, outcome, None, "test", split)
