"""The strategy slot: asked at each decision tick with what the pipeline knows then."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from kbayes.execution.intents import Intent


class TickView(NamedTuple):
    """What a strategy sees at a tick of one ladder (read-only by convention).

    Attributes:
        t_ns: the decision time (the tick): everything in the view was available before it.
        event_ticker: the ladder.
        tickers: its markets, in bracket order.
        columns: per-bracket features and model outputs at ``t_ns`` (``(K,)`` arrays).
    """

    t_ns: int
    event_ticker: str
    tickers: tuple[str, ...]
    columns: Mapping[str, np.ndarray]


class Strategy(Protocol):
    """Decides at ticks; returns the intents for the broker (possibly none)."""

    def on_tick(self, view: TickView) -> Sequence[Intent]: ...


class DoNothing:
    """The do-nothing strategy: a slot-filler that never trades (and a baseline)."""

    def on_tick(self, view: TickView) -> Sequence[Intent]:
        del view
        return ()
