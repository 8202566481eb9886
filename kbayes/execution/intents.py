"""What a strategy asks for: an order intent (Kalshi V2 semantics, exact integers)."""

from __future__ import annotations

from typing import NamedTuple

ACTIONS = ("buy", "sell")
OUTCOMES = ("yes", "no")
TIME_IN_FORCE = ("good_till_canceled", "immediate_or_cancel", "fill_or_kill")


class Intent(NamedTuple):
    """One order a strategy wants, before risk gates and the broker.

    Attributes:
        key: idempotency key (the same key twice is one order).
        ticker: market.
        action: ``"buy"`` or ``"sell"``.
        outcome: ``"yes"`` or ``"no"`` (which contract).
        price_cc: limit price of that contract (centi-cents, in (0, $1)).
        count_centi: contracts (centi-contracts, > 0).
        time_in_force: one of ``TIME_IN_FORCE``.
        post_only: reject instead of crossing.
        reduce_only: may only reduce a position.
        reason: why (the signal's words, for the ledger).
    """

    key: str
    ticker: str
    action: str
    outcome: str
    price_cc: int
    count_centi: int
    time_in_force: str = "good_till_canceled"
    post_only: bool = True
    reduce_only: bool = False
    reason: str = ""

    def check(self) -> Intent:
        """``self``, or ValueError naming the bad field and value."""
        if self.action not in ACTIONS:
            raise ValueError(f"intent {self.key}: action={self.action!r} not in {ACTIONS}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"intent {self.key}: outcome={self.outcome!r} not in {OUTCOMES}")
        if self.time_in_force not in TIME_IN_FORCE:
            raise ValueError(
                f"intent {self.key}: time_in_force={self.time_in_force!r} not in {TIME_IN_FORCE}"
            )
        if not 0 < self.price_cc < 10_000:
            raise ValueError(f"intent {self.key}: price_cc={self.price_cc} not in (0, 10000)")
        if self.count_centi <= 0:
            raise ValueError(f"intent {self.key}: count_centi={self.count_centi} must be > 0")
        return self
