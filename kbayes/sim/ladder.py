"""The event's bracket ladder, listed the way Kalshi lists KXHIGH ladders.

Six markets centred on the forecast at listing: a lower tail, four 2 °F bins with even
floors, and an upper tail. With ``c`` the even number closest to ``F + ½`` (``F`` the daily
high forecast), the bins are ``[c−4, c−3], [c−2, c−1], [c, c+1], [c+2, c+3]`` and::

    KXHIGHNY-25JAN15-T{c−4}    less     cap_strike  = c−4   "{c−5}° or below"
    KXHIGHNY-25JAN15-B{f+½}   between  floor f, cap f+1    "{f}° to {f+1}°"
    KXHIGHNY-25JAN15-T{c+3}    greater  floor_strike = c+3  "{c+4}° or above"

(tails strict: ``less`` is YES iff ``T < cap``, ``greater`` iff ``T > floor``), as in
``docs/kalshi-api.md`` 4.2.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from kbayes.market.bracket import Bracket
from kbayes.market.ladder import Ladder

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
N_BINS = 4
BIN_WIDTH = 2


def event_ticker(series: str, day: dt.date) -> str:
    """``KXHIGHNY-25JAN15`` (locale-independent month names)."""
    return f"{series}-{day.year % 100:02d}{_MONTHS[day.month - 1]}{day.day:02d}"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """The strike fields of one listed market, exactly as Kalshi publishes them."""

    ticker: str
    strike_type: str
    floor_strike: float | None
    cap_strike: float | None
    yes_sub_title: str
    lo_f: int | None
    hi_f: int | None

    def bracket(self) -> Bracket:
        return Bracket(self.lo_f, self.hi_f, self.ticker, self.yes_sub_title)


def ladder_center(forecast_f: float) -> int:
    """The even ``c`` closest to ``forecast_f + ½`` (bins ``c−4..c+3`` centre on ``c − ½``)."""
    return 2 * math.floor((forecast_f + 0.5) / 2.0 + 0.5)


def ladder_specs(event: str, forecast_f: float) -> list[MarketSpec]:
    """The six markets of ``event`` centred on ``forecast_f``, coldest first."""
    c = ladder_center(forecast_f)
    lo_edge, hi_edge = c - BIN_WIDTH * N_BINS // 2, c + BIN_WIDTH * N_BINS // 2 - 1
    specs = [
        MarketSpec(
            f"{event}-T{lo_edge}",
            "less",
            None,
            float(lo_edge),
            f"{lo_edge - 1}° or below",
            None,
            lo_edge - 1,
        )
    ]
    for f in range(lo_edge, hi_edge, BIN_WIDTH):
        specs.append(
            MarketSpec(
                f"{event}-B{f + 0.5:.1f}",
                "between",
                float(f),
                float(f + 1),
                f"{f}° to {f + 1}°",
                f,
                f + 1,
            )
        )
    specs.append(
        MarketSpec(
            f"{event}-T{hi_edge}",
            "greater",
            float(hi_edge),
            None,
            f"{hi_edge + 1}° or above",
            hi_edge + 1,
            None,
        )
    )
    return specs


def build_ladder(event: str, specs: list[MarketSpec]) -> Ladder:
    """The validated :class:`~kbayes.market.ladder.Ladder` (raises if it does not tile)."""
    return Ladder.from_markets(
        event,
        [
            {
                "ticker": s.ticker,
                "strike_type": s.strike_type,
                "floor_strike": s.floor_strike,
                "cap_strike": s.cap_strike,
                "yes_sub_title": s.yes_sub_title,
            }
            for s in specs
        ],
    )


def interior_edges(specs: list[MarketSpec]) -> list[int]:
    """Highest YES value ``hi`` of every market but the upper tail (the CDF evaluation points)."""
    return [s.hi_f for s in specs[:-1]]
