"""Exact price and size parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbayes.market.prices import (
    PriceFormatError,
    cc_to_dollars,
    ceil_to_cent_cc,
    cents_to_cc,
    dollars_to_cc,
    fp_to_centi,
)


def test_both_wire_generations_agree() -> None:
    assert dollars_to_cc("0.4300") == cents_to_cc(43) == 4300
    assert dollars_to_cc("1.0000") == 10_000
    assert dollars_to_cc("0.0050") == 50  # half-cent tick
    assert fp_to_centi("966425.00") == 96_642_500 and fp_to_centi("9.64") == 964
    assert fp_to_centi(12) == 1200


@pytest.mark.parametrize("bad", ["0.43001", "abc", "", None, "nan", True])
def test_bad_values_name_the_field(bad: object) -> None:
    with pytest.raises(PriceFormatError, match="yes_bid_dollars"):
        dollars_to_cc(bad, "yes_bid_dollars")


@given(st.integers(min_value=0, max_value=10_000))
def test_roundtrip(cc: int) -> None:
    assert dollars_to_cc(str(cc_to_dollars(cc))) == cc


def test_ceil_to_cent() -> None:
    assert ceil_to_cent_cc(Decimal("0.63")) == 6300
    assert ceil_to_cent_cc(Decimal("0.003325")) == 100
    assert ceil_to_cent_cc(Decimal("0.175")) == 1800
