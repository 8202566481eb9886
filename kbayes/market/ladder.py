"""A day's bracket ladder: the partition of the integers into mutually exclusive markets."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kbayes.market.bracket import Bracket, BracketError, bracket_from_market
from kbayes.market.cities import City, city_of_ticker

_EVENT_DATE_RE = re.compile(r"-(\d{2})([A-Z]{3})(\d{2})$")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}


class LadderError(ValueError):
    """A ladder that does not tile the integers (gap, overlap, missing tail)."""


def event_date(event_ticker: str) -> dt.date:
    """Climate day of an event ticker (``KXHIGHNY-24NOV10`` -> 2024-11-10)."""
    m = _EVENT_DATE_RE.search(event_ticker)
    if not m or m.group(2) not in _MONTHS:
        raise ValueError(f"event_ticker={event_ticker!r}: no -YYMMMDD date suffix")
    return dt.date(2000 + int(m.group(1)), _MONTHS[m.group(2)], int(m.group(3)))


def event_ticker_of(market_ticker: str) -> str:
    """``KXHIGHNY-24NOV10-T55`` -> ``KXHIGHNY-24NOV10``."""
    parts = market_ticker.split("-")
    if len(parts) < 3:
        raise ValueError(f"market_ticker={market_ticker!r}: expected SERIES-YYMMMDD-SUFFIX")
    return "-".join(parts[:2])


@dataclass(frozen=True)
class Ladder:
    """Brackets of one event, sorted from coldest to warmest, tiling the integers.

    Raises:
        LadderError: on construction when the brackets leave a gap, overlap, or lack either tail.
    """

    event_ticker: str
    brackets: tuple[Bracket, ...]
    _lows: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.brackets, key=lambda b: (b.sort_key, b.hi is None)))
        object.__setattr__(self, "brackets", ordered)
        _check_tiling(self.event_ticker, ordered)
        lows = np.array([b.lo if b.lo is not None else np.iinfo(np.int64).min for b in ordered])
        object.__setattr__(self, "_lows", lows)

    @classmethod
    def from_markets(cls, event_ticker: str, markets: Iterable[dict[str, Any]]) -> Ladder:
        """Build from Kalshi market objects (any vintage), validating each against its label."""
        brackets, errors = [], []
        for m in markets:
            try:
                brackets.append(bracket_from_market(m))
            except BracketError as exc:
                errors.append(str(exc))
        if errors:
            raise LadderError(f"event {event_ticker}: " + "; ".join(errors))
        return cls(event_ticker, tuple(brackets))

    def __len__(self) -> int:
        return len(self.brackets)

    def __iter__(self) -> Iterator[Bracket]:
        return iter(self.brackets)

    def __getitem__(self, i: int) -> Bracket:
        return self.brackets[i]

    @property
    def tickers(self) -> list[str]:
        return [b.ticker for b in self.brackets]

    @property
    def labels(self) -> list[str]:
        return [b.describe() for b in self.brackets]

    def index_of(self, tmax_f: int) -> int:
        """Index of the bracket that a whole-°F high settles YES."""
        return int(np.searchsorted(self._lows, int(tmax_f), side="right") - 1)

    def bracket_of(self, tmax_f: int) -> Bracket:
        """The bracket that a whole-°F high settles YES."""
        return self.brackets[self.index_of(tmax_f)]

    def index_of_ticker(self, ticker: str) -> int:
        for i, b in enumerate(self.brackets):
            if b.ticker == ticker:
                return i
        raise KeyError(f"{ticker} is not a market of {self.event_ticker}")

    def midpoints(self, tail_width: float = 2.0) -> np.ndarray:
        """Bracket centres in °F (tails get ``tail_width``)."""
        return np.array([b.midpoint(tail_width) for b in self.brackets])

    def interior_edges(self) -> np.ndarray:
        """The ``K-1`` thresholds ``lo_k`` of brackets 1..K-1 (°F)."""
        return self._lows[1:].astype(float)

    def pmf_from_cdf(self, cdf) -> np.ndarray:
        """Bracket probabilities from a CDF ``F(x) = P(T <= x)`` of the whole-°F high."""
        edges = np.array([b.lo - 1 for b in self.brackets[1:]], dtype=float)
        c = np.concatenate([[0.0], np.asarray(cdf(edges), dtype=float), [1.0]])
        return np.diff(c)


def _check_tiling(event_ticker: str, brackets: Sequence[Bracket]) -> None:
    if not brackets:
        raise LadderError(f"event {event_ticker}: ladder has no markets")
    problems: list[str] = []
    if brackets[0].lo is not None:
        problems.append(
            f"no lower tail (lowest market {brackets[0].ticker} starts at {brackets[0].lo}°)"
        )
    if brackets[-1].hi is not None:
        problems.append(
            f"no upper tail (highest market {brackets[-1].ticker} ends at {brackets[-1].hi}°)"
        )
    for a, b in itertools.pairwise(brackets):
        if a.hi is None:
            problems.append(f"{a.ticker} ({a.describe()}) overlaps {b.ticker} ({b.describe()})")
            continue
        if b.lo is None:
            problems.append(f"{b.ticker} ({b.describe()}) overlaps {a.ticker} ({a.describe()})")
            continue
        if b.lo > a.hi + 1:
            problems.append(
                f"gap {a.hi + 1}..{b.lo - 1}° between {a.ticker} ({a.describe()}) and "
                f"{b.ticker} ({b.describe()})"
            )
        elif b.lo <= a.hi:
            problems.append(f"{a.ticker} ({a.describe()}) overlaps {b.ticker} ({b.describe()})")
    if problems:
        raise LadderError(
            f"event {event_ticker}: ladder does not tile the integers: " + "; ".join(problems)
        )


@dataclass(frozen=True)
class Event:
    """One city's climate day and its ladder.

    Attributes:
        event_ticker: ``KXHIGHNY-24NOV10``.
        city: settlement city (series, station, LST offset).
        date: the climate day (LST calendar date).
        ladder: the validated bracket ladder.
        close_time: last trading instant (UTC), when known.
    """

    event_ticker: str
    city: City
    date: dt.date
    ladder: Ladder
    close_time: dt.datetime | None = None

    @classmethod
    def from_markets(
        cls,
        event_ticker: str,
        markets: Sequence[dict[str, Any]],
        close_time: dt.datetime | None = None,
    ) -> Event:
        return cls(
            event_ticker,
            city_of_ticker(event_ticker),
            event_date(event_ticker),
            Ladder.from_markets(event_ticker, markets),
            close_time,
        )

    @property
    def series(self) -> str:
        return self.event_ticker.split("-", 1)[0]

    @property
    def station(self) -> str:
        return self.city.station

    @property
    def lst_offset_hours(self) -> int:
        return self.city.lst_offset_hours

    @property
    def window_utc(self) -> tuple[dt.datetime, dt.datetime]:
        """UTC ``[start, end)`` of the climate day."""
        return self.city.climate_day_window(self.date)
