"""°C to whole °F with NWS rounding (halves up), checked against exact rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from kbayes.market.fahrenheit import c_to_f, c_to_f_whole, round_half_up


@pytest.mark.parametrize(
    ("c", "f"),
    [
        (22.8, 73),
        (22.5, 73),  # 72.5 °F: round() would give 72
        (-2.5, 28),  # 27.5 °F
        (37.5, 100),  # 99.5 °F
        (0.0, 32),
        (-40, -40),
        (-17.5, 1),  # 0.5 °F
        (np.float64(14.4), 58),
        ("31.1", 88),
    ],
)
def test_c_to_f_whole(c: object, f: int) -> None:
    assert c_to_f_whole(c) == f


def test_c_to_f_whole_matches_exact_arithmetic_on_every_tenth() -> None:
    for n in range(-500, 501):
        exact = Fraction(n, 10) * Fraction(9, 5) + 32
        expected = math.floor(exact + Fraction(1, 2))
        assert c_to_f_whole(n / 10) == expected, n / 10


@pytest.mark.parametrize("bad", [float("nan"), None, pd.NA, "M", float("inf")])
def test_c_to_f_whole_refuses_missing_values(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        c_to_f_whole(bad)


def test_round_half_up_and_c_to_f() -> None:
    assert [round_half_up(x) for x in (72.5, 72.49, -0.5, -0.51, 35.96)] == [73, 72, 0, -1, 36]
    assert c_to_f(2.2) == pytest.approx(35.96)
