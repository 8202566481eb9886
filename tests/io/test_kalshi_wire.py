"""Field parsing of both Kalshi wire generations and bracket resolution without strikes."""

from __future__ import annotations

import datetime as dt

import pytest

from kbayes.io.importers.kalshi.ladders import (
    brackets_from_tickers,
    parse_expiration_value,
    parse_market,
    resolve_bracket,
)
from kbayes.io.kalshi_wire import (
    WireError,
    bid_cc,
    city_for,
    count_centi,
    parse_utc,
    price_cc,
)
from kbayes.market.bracket import BracketError


def test_prices_and_counts_parse_from_either_generation() -> None:
    assert price_cc({"yes_price": 43}, "yes_price") == 4300
    assert price_cc({"yes_price_dollars": "0.4350"}, "yes_price") == 4350
    assert price_cc({"yes_price_fixed": "0.0900", "yes_price": 9}, "yes_price") == 900
    assert price_cc({"open": "0.6100"}, "open") == 6100  # historical tier: bare dollar string
    assert price_cc({}, "yes_bid", required=False) is None
    assert count_centi({"count": 12}, "count") == 1200
    assert count_centi({"count_fp": "9.64", "count": None}, "count") == 964
    assert count_centi({"volume_fp": "1944.25"}, "volume") == 194425


@pytest.mark.parametrize(
    ("obj", "name", "field"),
    [
        ({"yes_price": 41, "yes_price_dollars": "0.4000"}, "yes_price", "yes_price"),
        ({"count": 3, "count_fp": "2.00"}, "count", "count"),
        ({"yes_price_dollars": "0.43215"}, "yes_price", "yes_price_dollars"),
        ({"count_fp": "1.005"}, "count", "count_fp"),
        ({}, "yes_price", "yes_price"),
    ],
)
def test_wire_errors_name_the_field(obj: dict, name: str, field: str) -> None:
    fn = price_cc if "price" in name else count_centi
    with pytest.raises(WireError) as exc:
        fn(obj, name)
    assert exc.value.field == field


def test_timestamps_must_carry_a_zone() -> None:
    assert parse_utc("2024-11-10T19:46:00.341845Z", "t") == dt.datetime(
        2024, 11, 10, 19, 46, 0, 341845, tzinfo=dt.UTC
    )
    assert parse_utc("2024-11-10T14:46:00-05:00", "t").hour == 19
    assert parse_utc(1786085188978, "ts_ms") == parse_utc(1786085188.978, "ts")
    for bad in ("2024-11-10T19:46:00", "", None, "yesterday Z"):
        with pytest.raises(WireError):
            parse_utc(bad, "created_time")


def test_empty_bid_sentinel_is_missing() -> None:
    assert bid_cc(0) is None and bid_cc(None) is None and bid_cc(100) == 100


def test_city_for_accepts_the_legacy_austin_prefix() -> None:
    assert city_for("HIGHAUS-24AUG16-B98.5").key == "AUS"
    assert city_for("HIGHNY-23DEC25-T40").key == "NY"
    with pytest.raises(KeyError):
        city_for("KXBTCD-26FEB1217-T67749.99")


def test_bracket_from_label_must_agree_with_ticker() -> None:
    b, note = resolve_bracket({"ticker": "HIGHNY-22APR01-T60", "subtitle": ">60º"})
    assert (b.lo, b.hi) == (61, None) and "label" in note
    b, _ = resolve_bracket({"ticker": "HIGHNY-22APR28-T55", "yes_sub_title": "<55°"})
    assert (b.lo, b.hi) == (None, 54)
    b, _ = resolve_bracket({"ticker": "HIGHNY-22APR28-B55.5", "yes_sub_title": "55-56°"})
    assert (b.lo, b.hi) == (55, 56)
    b, note = resolve_bracket({"ticker": "HIGHNY-22APR28-B55.5"})
    assert (b.lo, b.hi) == (55, 56) and "ticker suffix" in note
    with pytest.raises(BracketError, match="contradicts"):
        resolve_bracket({"ticker": "HIGHNY-21NOV23-T42", "subtitle": ">41°"})
    with pytest.raises(BracketError, match="does not state a bracket"):
        resolve_bracket({"ticker": "HIGHNY-22MAY02-B56.5", "subtitle": "56°"})
    with pytest.raises(BracketError, match="unknown strike_type"):
        resolve_bracket({"ticker": "X-24NOV10-B5.5", "strike_type": "sideways"})
    with pytest.raises(BracketError, match="yes_sub_title"):
        resolve_bracket(
            {
                "ticker": "KXHIGHNY-24NOV10-B55.5",
                "strike_type": "between",
                "floor_strike": 55,
                "cap_strike": 56,
                "yes_sub_title": "57° to 58°",
            }
        )


def test_ticker_ladders_support_negative_strikes() -> None:
    tickers = [
        "HIGHCHI-24JAN14-T-1",
        "HIGHCHI-24JAN14-B-0.5",
        "HIGHCHI-24JAN14-B1.5",
        "HIGHCHI-24JAN14-T2",
    ]
    got = sorted((b.lo, b.hi) for b in brackets_from_tickers(tickers) if b.lo is not None)
    lower = [b for b in brackets_from_tickers(tickers) if b.lo is None]
    assert got == [(-1, 0), (1, 2), (3, None)] and lower[0].hi == -2


def test_parse_market_current_dollar_format() -> None:
    m = {
        "ticker": "KXHIGHNY-26JUL10-T87",
        "event_ticker": "KXHIGHNY-26JUL10",
        "strike_type": "less",
        "cap_strike": 87,
        "yes_sub_title": "86° or below",
        "status": "finalized",
        "result": "yes",
        "expiration_value": "85.00",
        "volume_fp": "41195.68",
        "close_time": "2026-07-11T04:59:00Z",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
    }
    row = parse_market(m, source="test").row
    assert (row["lo_f"], row["hi_f"], row["volume_centi"]) == (None, 86, 4119568)
    assert row["expiration_value_f"] == 85 and row["climate_date"] == dt.date(2026, 7, 10)
    assert parse_expiration_value("78.00") == 78 and parse_expiration_value("") is None
    with pytest.raises(WireError):
        parse_expiration_value("84. Although the Daily Climate Report was not finalized")
