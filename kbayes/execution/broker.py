"""The broker slot of the runner: intents in, at the clock's time.

A broker receives the strategy's intents at a decision time and the market events as they
happen (a paper broker fills against them; a live broker hears its fills from the exchange).
:class:`RecordingBroker` accepts and records, and fills nothing: the slot's default until a
paper broker is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kbayes.execution.intents import Intent
from kbayes.market.events import Event


class Broker(Protocol):
    """What the runner hands intents and events to."""

    def submit(self, now_ns: int, intents: Sequence[Intent]) -> None:
        """Take a decision's intents (already checked) at ``now_ns``."""
        ...

    def on_event(self, ev: Event) -> None:
        """See a market event (after the state applied it)."""
        ...


class RecordingBroker:
    """Records every intent with its decision time; never fills.

    Attributes:
        submitted: ``(now_ns, intent)`` in submission order.
    """

    def __init__(self) -> None:
        self.submitted: list[tuple[int, Intent]] = []
        self._keys: set[str] = set()

    def submit(self, now_ns: int, intents: Sequence[Intent]) -> None:
        for intent in intents:
            intent.check()
            if intent.key in self._keys:  # idempotent: a repeated key is the same order
                continue
            self._keys.add(intent.key)
            self.submitted.append((now_ns, intent))

    def on_event(self, ev: Event) -> None:
        del ev
