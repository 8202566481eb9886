"""One bracket (binary market) of a daily-high ladder and how to read it from Kalshi objects.

Semantics (DESIGN 1, kalshi-api.md 4.2), with ``T`` the official CLI high in whole °F:

==============  ==========================  =====================================
strike_type     fields                      YES iff
==============  ==========================  =====================================
``between``     floor_strike, cap_strike    ``floor <= T <= cap`` (both inclusive)
``greater``     floor_strike                ``T > floor``, i.e. ``T >= floor + 1``
``less``        cap_strike                  ``T < cap``, i.e. ``T <= cap - 1``
==============  ==========================  =====================================

A bracket is stored as the closed integer interval ``[lo, hi]`` with ``None`` for an open end.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_BETWEEN_RE = re.compile(r"(-?\d+)\s*°?\s*(?:to|-)\s*(-?\d+)\s*°?")
_ABOVE_RE = re.compile(r"(-?\d+)\s*°?\s*or\s+(?:above|higher|more)")
_BELOW_RE = re.compile(r"(-?\d+)\s*°?\s*or\s+(?:below|lower|less)")
_GT_RE = re.compile(r"^\s*>\s*(-?\d+)\s*°?\s*$")
_LT_RE = re.compile(r"^\s*<\s*(-?\d+)\s*°?\s*$")
_SUFFIX_RE = re.compile(r"^(?P<kind>[BT])(?P<value>-?\d+(?:\.\d+)?)$")

ALL_STRIKE_TYPES = frozenset(
    {
        "between",
        "greater",
        "greater_or_equal",
        "less",
        "less_or_equal",
        "functional",
        "custom",
        "structured",
    }
)


class BracketError(ValueError):
    """A market whose bracket cannot be determined or is inconsistent."""


@dataclass(frozen=True, slots=True, order=True)
class Bracket:
    """A closed set of whole-°F daily highs ``[lo, hi]`` that settles one market YES.

    Attributes:
        lo: lowest high (°F) that settles YES, ``None`` for a lower tail.
        hi: highest high (°F) that settles YES, ``None`` for an upper tail.
        ticker: market ticker.
        label: the market's ``yes_sub_title`` (or derived label).
    """

    lo: int | None
    hi: int | None
    ticker: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if self.lo is None and self.hi is None:
            raise BracketError(f"{self.ticker}: a bracket needs at least one finite bound")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise BracketError(f"{self.ticker}: empty bracket lo={self.lo} > hi={self.hi}")

    @property
    def strike_type(self) -> str:
        if self.lo is None:
            return "less"
        if self.hi is None:
            return "greater"
        return "between"

    @property
    def sort_key(self) -> float:
        return -math.inf if self.lo is None else float(self.lo)

    def contains(self, tmax_f: int) -> bool:
        """Whether a whole-°F high settles this bracket YES."""
        return (self.lo is None or tmax_f >= self.lo) and (self.hi is None or tmax_f <= self.hi)

    def midpoint(self, tail_width: float = 2.0) -> float:
        """Centre of the bracket in °F; a tail is given the width ``tail_width``."""
        if self.lo is None:
            return self.hi - (tail_width - 1) / 2
        if self.hi is None:
            return self.lo + (tail_width - 1) / 2
        return (self.lo + self.hi) / 2

    def describe(self) -> str:
        if self.lo is None:
            return f"{self.hi}° or below"
        if self.hi is None:
            return f"{self.lo}° or above"
        return f"{self.lo}° to {self.hi}°"


def bounds_from_strikes(
    strike_type: str, floor_strike: float | None, cap_strike: float | None, ticker: str
) -> tuple[int | None, int | None]:
    """Integer ``[lo, hi]`` from Kalshi's strike fields (see the module table)."""

    def _int(x: Any, name: str) -> int:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            raise BracketError(f"{ticker}: strike_type={strike_type!r} needs {name}, got {x!r}")
        if float(x) != int(float(x)):
            raise BracketError(f"{ticker}: {name}={x!r} is not a whole °F strike")
        return int(float(x))

    if strike_type == "between":
        return _int(floor_strike, "floor_strike"), _int(cap_strike, "cap_strike")
    if strike_type == "greater":
        return _int(floor_strike, "floor_strike") + 1, None
    if strike_type == "less":
        return None, _int(cap_strike, "cap_strike") - 1
    if strike_type in ALL_STRIKE_TYPES:
        raise BracketError(
            f"{ticker}: strike_type={strike_type!r} is a Kalshi type that daily-high ladders "
            "do not use"
        )
    raise BracketError(f"{ticker}: unknown strike_type={strike_type!r}")


def bounds_from_subtitle(text: str) -> tuple[int | None, int | None] | None:
    """Integer ``[lo, hi]`` from a label such as ``"78° to 79°"``, ``"84° or above"``, ``">86°"``.

    Returns ``None`` when the text has no recognisable bracket.
    """
    if not text:
        return None
    if m := _BETWEEN_RE.search(text):
        return int(m.group(1)), int(m.group(2))
    if m := _ABOVE_RE.search(text):
        return int(m.group(1)), None
    if m := _BELOW_RE.search(text):
        return None, int(m.group(1))
    if m := _GT_RE.match(text):
        return int(m.group(1)) + 1, None
    if m := _LT_RE.match(text):
        return None, int(m.group(1)) - 1
    return None


def ticker_suffix(ticker: str) -> tuple[str, float]:
    """``("B", 43.5)`` or ``("T", 44.0)`` from a market ticker's last dash-separated part."""
    # Everything after SERIES-YYMMMDD-: strikes can be negative (``HIGHCHI-24JAN14-T-1``).
    parts = ticker.split("-", 2)
    suffix = parts[2] if len(parts) == 3 else ticker
    m = _SUFFIX_RE.match(suffix)
    if not m:
        raise BracketError(f"{ticker}: ticker suffix {suffix!r} is neither B<x.5> nor T<x>")
    return m.group("kind"), float(m.group("value"))


def bracket_from_market(market: dict[str, Any]) -> Bracket:
    """Bracket of a Kalshi market object (REST, any vintage) with its strike fields.

    The strike fields decide; ``yes_sub_title`` (or legacy ``subtitle``) is a cross-check and a
    disagreement raises :class:`BracketError`.
    """
    ticker = str(market.get("ticker") or market.get("market_ticker") or "?")
    strike_type = market.get("strike_type")
    label = str(market.get("yes_sub_title") or market.get("subtitle") or "")
    if strike_type in (None, ""):
        raise BracketError(f"{ticker}: field strike_type is missing")
    lo, hi = bounds_from_strikes(
        str(strike_type), market.get("floor_strike"), market.get("cap_strike"), ticker
    )
    parsed = bounds_from_subtitle(label)
    if parsed is not None and parsed != (lo, hi):
        raise BracketError(
            f"{ticker}: strike fields give {Bracket(lo, hi).describe()!r} but "
            f"yes_sub_title={label!r}"
        )
    return Bracket(lo, hi, ticker, label or Bracket(lo, hi).describe())


def brackets_from_tickers(tickers: list[str]) -> list[Bracket]:
    """Brackets of an old-style ladder whose strikes exist only in the tickers.

    ``B43.5`` is the bin 43-44 °F. A ``T<x>`` tail is the lower tail (``<= x-1``) when ``x`` is at
    or below every bin's floor and the upper tail (``>= x+1``) when at or above every bin's cap;
    without bins, two tails are ordered by value.
    """
    parsed = [(t, *ticker_suffix(t)) for t in tickers]
    bins = [(t, v) for t, k, v in parsed if k == "B"]
    tails = [(t, v) for t, k, v in parsed if k == "T"]
    out: list[Bracket] = []
    for t, v in bins:
        if v != math.floor(v) + 0.5:
            raise BracketError(f"{t}: between-bracket suffix B{v} is not at a half degree")
        lo = math.floor(v)
        out.append(Bracket(lo, lo + 1, t, f"{lo}° to {lo + 1}°"))
    if bins:
        min_floor = min(b.lo for b in out)
        max_cap = max(b.hi for b in out)
    for t, v in tails:
        if v != int(v):
            raise BracketError(f"{t}: tail suffix T{v} is not a whole degree")
        x = int(v)
        if bins:
            if x <= min_floor:
                out.append(Bracket(None, x - 1, t, f"{x - 1}° or below"))
            elif x >= max_cap:
                out.append(Bracket(x + 1, None, t, f"{x + 1}° or above"))
            else:
                raise BracketError(f"{t}: tail T{x} lies inside the bins {min_floor}..{max_cap}")
        elif len(tails) == 2:
            lower = x == min(v2 for _, v2 in tails)
            out.append(
                Bracket(None, x - 1, t, f"{x - 1}° or below")
                if lower
                else Bracket(x + 1, None, t, f"{x + 1}° or above")
            )
        else:
            raise BracketError(f"{t}: cannot tell whether tail T{x} is upper or lower")
    return out
