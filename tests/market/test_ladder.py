"""Brackets, ladders, events and cities."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbayes.market import (
    Bracket,
    BracketError,
    Event,
    Ladder,
    LadderError,
    bounds_from_subtitle,
    bracket_from_market,
    brackets_from_tickers,
    city_of,
    event_date,
)

UTC = dt.UTC


def _m(ticker, strike_type, floor=None, cap=None, label=""):
    d = {"ticker": ticker, "strike_type": strike_type, "yes_sub_title": label}
    if floor is not None:
        d["floor_strike"] = floor
    if cap is not None:
        d["cap_strike"] = cap
    return d


NOV10 = [
    _m("KXHIGHNY-24NOV10-T55", "less", cap=55, label="54° or below"),
    _m("KXHIGHNY-24NOV10-B55.5", "between", 55, 56, "55° to 56°"),
    _m("KXHIGHNY-24NOV10-B57.5", "between", 57, 58, "57° to 58°"),
    _m("KXHIGHNY-24NOV10-B59.5", "between", 59, 60, "59° to 60°"),
    _m("KXHIGHNY-24NOV10-B61.5", "between", 61, 62, "61° to 62°"),
    _m("KXHIGHNY-24NOV10-T62", "greater", floor=62, label="63° or above"),
]


def test_strike_semantics_follow_contract_text() -> None:
    # less: T < cap (strict); greater: T > floor (strict); between: inclusive.
    lo = bracket_from_market(NOV10[0])
    hi = bracket_from_market(NOV10[-1])
    mid = bracket_from_market(NOV10[1])
    assert (lo.lo, lo.hi) == (None, 54) and lo.contains(54) and not lo.contains(55)
    assert (hi.lo, hi.hi) == (63, None) and hi.contains(63) and not hi.contains(62)
    assert mid.contains(55) and mid.contains(56) and not mid.contains(57)


def test_dollar_format_market_parses() -> None:
    # The 2026 dollar-string object from kalshi-samples.md 2.1.
    b = bracket_from_market(
        {
            "ticker": "KXHIGHAUS-26JUL18-T90",
            "strike_type": "less",
            "cap_strike": 90,
            "floor_strike": None,
            "yes_sub_title": "89° or below",
            "last_price_dollars": "0.0100",
        }
    )
    assert (b.lo, b.hi) == (None, 89)


def test_label_disagreement_is_refused() -> None:
    with pytest.raises(BracketError, match="yes_sub_title"):
        bracket_from_market(_m("X-24NOV10-T55", "less", cap=55, label="55° or below"))


@pytest.mark.parametrize("bad", ["functional", "greater_or_equal", "weird"])
def test_unknown_or_unused_strike_type_is_an_error(bad: str) -> None:
    with pytest.raises(BracketError, match=bad):
        bracket_from_market(_m("X-24NOV10-T55", bad, cap=55))


def test_missing_strike_field_names_it() -> None:
    with pytest.raises(BracketError, match="cap_strike"):
        bracket_from_market(_m("X-24NOV10-T55", "less"))


def test_ladder_tiles_and_maps_highs() -> None:
    lad = Ladder.from_markets("KXHIGHNY-24NOV10", reversed(NOV10))
    assert lad.tickers == [m["ticker"] for m in NOV10]
    assert lad.bracket_of(-40).ticker.endswith("T55")
    assert lad.bracket_of(54).ticker.endswith("T55")
    assert lad.bracket_of(55).ticker.endswith("B55.5")
    assert lad.bracket_of(62).ticker.endswith("B61.5")
    assert lad.bracket_of(63).ticker.endswith("T62")
    assert lad.midpoints().tolist() == [53.5, 55.5, 57.5, 59.5, 61.5, 63.5]


@given(st.integers(min_value=-60, max_value=140))
def test_every_integer_falls_in_exactly_one_bracket(t: int) -> None:
    lad = Ladder.from_markets("KXHIGHNY-24NOV10", NOV10)
    assert sum(b.contains(t) for b in lad) == 1
    assert lad.bracket_of(t).contains(t)


def test_gap_and_overlap_name_event_and_markets() -> None:
    gap = [m for m in NOV10 if not m["ticker"].endswith("B57.5")]
    with pytest.raises(LadderError, match=r"KXHIGHNY-24NOV10.*gap 57..58.*B55.5.*B59.5"):
        Ladder.from_markets("KXHIGHNY-24NOV10", gap)
    overlap = [*NOV10, _m("KXHIGHNY-24NOV10-B56.5", "between", 56, 57, "56° to 57°")]
    with pytest.raises(LadderError, match="overlaps"):
        Ladder.from_markets("KXHIGHNY-24NOV10", overlap)
    with pytest.raises(LadderError, match="no upper tail"):
        Ladder.from_markets("KXHIGHNY-24NOV10", NOV10[:-1])


def test_old_tickers_give_brackets() -> None:
    bs = brackets_from_tickers(
        [
            "HIGHNY-23DEC25-T50",
            "HIGHNY-23DEC25-B43.5",
            "HIGHNY-23DEC25-B45.5",
            "HIGHNY-23DEC25-B47.5",
            "HIGHNY-23DEC25-B49.5",
            "HIGHNY-23DEC25-T43",
        ]
    )
    lad = Ladder("HIGHNY-23DEC25", tuple(bs))
    assert lad.labels == [
        "42° or below",
        "43° to 44°",
        "45° to 46°",
        "47° to 48°",
        "49° to 50°",
        "51° or above",
    ]


def test_subtitle_variants() -> None:
    assert bounds_from_subtitle("78° to 79°") == (78, 79)
    assert bounds_from_subtitle("84° or above") == (84, None)
    assert bounds_from_subtitle("22° or lower") == (None, 22)
    assert bounds_from_subtitle(">86°") == (87, None)
    assert bounds_from_subtitle("<40°") == (None, 39)
    assert bounds_from_subtitle("") is None


def test_bracket_rejects_empty() -> None:
    with pytest.raises(BracketError):
        Bracket(5, 4, "X")
    with pytest.raises(BracketError):
        Bracket(None, None, "X")


def test_event_window_is_local_standard_time() -> None:
    ev = Event.from_markets(
        "KXHIGHNY-24JUL04",
        [
            _m("KXHIGHNY-24JUL04-T80", "less", cap=80, label="79° or below"),
            _m("KXHIGHNY-24JUL04-T79", "greater", floor=79, label="80° or above"),
        ],
    )
    assert ev.date == dt.date(2024, 7, 4) and ev.station == "KNYC"
    # EST all year, even in July (EDT would give 04:00Z).
    assert ev.window_utc == (
        dt.datetime(2024, 7, 4, 5, tzinfo=UTC),
        dt.datetime(2024, 7, 5, 5, tzinfo=UTC),
    )
    assert event_date("HIGHCHI-23DEC25") == dt.date(2023, 12, 25)


def test_trades_at_0459z_and_0501z_fall_on_different_nyc_climate_days() -> None:
    ny = city_of("KXHIGHNY")
    a = ny.climate_day_of(dt.datetime(2025, 1, 15, 4, 59, tzinfo=UTC))
    b = ny.climate_day_of(dt.datetime(2025, 1, 15, 5, 1, tzinfo=UTC))
    assert (a, b) == (dt.date(2025, 1, 14), dt.date(2025, 1, 15))
    with pytest.raises(ValueError, match="time zone"):
        ny.climate_day_of(dt.datetime(2025, 1, 15, 5, 1))


@pytest.mark.parametrize(
    ("name", "station", "offset"),
    [
        ("NY", "KNYC", -5),
        ("CHI", "KMDW", -6),
        ("MIA", "KMIA", -5),
        ("AUS", "KAUS", -6),
        ("DEN", "KDEN", -7),
        ("LAX", "KLAX", -8),
        ("PHIL", "KPHL", -5),
    ],
)
def test_city_table(name: str, station: str, offset: int) -> None:
    c = city_of(name)
    assert (c.station, c.lst_offset_hours) == (station, offset)
    assert city_of(c.series) is c and city_of(station) is c


def test_negative_strikes_in_old_tickers() -> None:
    bs = brackets_from_tickers(
        [
            "HIGHCHI-24JAN14-T-1",
            "HIGHCHI-24JAN14-B-0.5",
            "HIGHCHI-24JAN14-B1.5",
            "HIGHCHI-24JAN14-T2",
        ]
    )
    lad = Ladder("HIGHCHI-24JAN14", tuple(bs))
    assert lad.labels == ["-2° or below", "-1° to 0°", "1° to 2°", "3° or above"]
    assert lad.bracket_of(0).ticker == "HIGHCHI-24JAN14-B-0.5"
