"""Seed streams and ladder listing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kbayes.market.bracket import bracket_from_market
from kbayes.market.ladder import Ladder, LadderError, event_date
from kbayes.sim import (
    build_ladder,
    event_ticker,
    interior_edges,
    ladder_center,
    ladder_specs,
    rng_for,
    seed_sequence,
)

DAY = dt.date(2025, 1, 15)


def test_streams_are_reproducible_and_distinct() -> None:
    a = rng_for(3, "NY", DAY, "weather").standard_normal(4)
    assert np.array_equal(a, rng_for(3, "NY", DAY, "weather").standard_normal(4))
    for other in (
        rng_for(4, "NY", DAY, "weather"),
        rng_for(3, "CHI", DAY, "weather"),
        rng_for(3, "NY", DAY + dt.timedelta(days=1), "weather"),
        rng_for(3, "NY", DAY, "forecast"),
    ):
        assert not np.array_equal(a, other.standard_normal(4))


def test_stream_is_a_spawned_child_of_the_master_seed() -> None:
    ss = seed_sequence(11, "MIA", DAY, "flow")
    assert ss.entropy == 11 and len(ss.spawn_key) == 3


def test_event_ticker_format() -> None:
    assert event_ticker("KXHIGHNY", DAY) == "KXHIGHNY-25JAN15"
    assert event_date(event_ticker("KXHIGHCHI", dt.date(2024, 12, 3))) == dt.date(2024, 12, 3)


@pytest.mark.parametrize("forecast", [-12.3, -0.4, 0.0, 33.5, 41.49, 41.5, 77.0, 89.6, 104.9])
def test_ladder_is_kalshi_shaped_and_tiles(forecast: float) -> None:
    ev = "KXHIGHNY-25JAN15"
    specs = ladder_specs(ev, forecast)
    assert [s.strike_type for s in specs] == ["less"] + ["between"] * 4 + ["greater"]
    c = ladder_center(forecast)
    assert c % 2 == 0 and abs((c - 0.5) - forecast) <= 1.0  # centred on the forecast
    lower, upper = specs[0], specs[-1]
    assert lower.cap_strike == c - 4 and lower.floor_strike is None
    assert lower.ticker == f"{ev}-T{c - 4}" and lower.yes_sub_title == f"{c - 5}° or below"
    assert upper.floor_strike == c + 3 and upper.cap_strike is None
    assert upper.ticker == f"{ev}-T{c + 3}" and upper.yes_sub_title == f"{c + 4}° or above"
    for s, f in zip(specs[1:-1], range(c - 4, c + 4, 2), strict=True):
        assert (s.floor_strike, s.cap_strike, s.lo_f, s.hi_f) == (f, f + 1, f, f + 1)
        assert s.ticker == f"{ev}-B{f + 0.5:.1f}" and s.yes_sub_title == f"{f}° to {f + 1}°"
    ladder = build_ladder(ev, specs)  # raises unless it tiles the integers
    for s in specs:  # strike fields and label agree exactly as the importer reads them
        b = bracket_from_market(
            {
                "ticker": s.ticker,
                "strike_type": s.strike_type,
                "floor_strike": s.floor_strike,
                "cap_strike": s.cap_strike,
                "yes_sub_title": s.yes_sub_title,
            }
        )
        assert (b.lo, b.hi) == (s.lo_f, s.hi_f)
    for t in range(c - 30, c + 30):
        assert sum(b.contains(t) for b in ladder) == 1
    assert interior_edges(specs) == [c - 5, c - 3, c - 1, c + 1, c + 3]


def test_build_ladder_refuses_a_gap() -> None:
    specs = ladder_specs("KXHIGHNY-25JAN15", 40.0)
    with pytest.raises(LadderError):
        build_ladder("KXHIGHNY-25JAN15", specs[:2] + specs[3:])
    assert isinstance(build_ladder("KXHIGHNY-25JAN15", specs), Ladder)
