"""exact_decimal: the decimal as written, errors naming the field and value."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from kbayes.market.exact import exact_decimal
from kbayes.market.prices import PriceFormatError


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (14.4, "14.4"),
        (np.float64(14.4), "14.4"),
        (" 0.4300 ", "0.4300"),
        (7, "7"),
        (Decimal("2.5"), "2.5"),
    ],
)
def test_the_value_as_written(value: object, want: str) -> None:
    assert exact_decimal(value, "x") == Decimal(want)
    assert str(exact_decimal(value, "x")) == want


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (True, "expected a number"),
        (None, "expected a number"),
        ("M", "not a decimal number"),
        (pd.NA, "not a decimal number"),
        (float("nan"), "not finite"),
        ("inf", "not finite"),
    ],
)
def test_refusals_name_field_and_value(value: object, why: str) -> None:
    with pytest.raises(PriceFormatError, match=f"^temp_c={value!r}: {why}"):
        exact_decimal(value, "temp_c", PriceFormatError)
