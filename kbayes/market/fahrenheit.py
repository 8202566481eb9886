"""Celsius to whole Fahrenheit with the rounding NWS uses for the settlement value (domain rule).

The settlement value is a whole °F integer. Python's ``round`` rounds halves to even
(``round(72.5) == 72``) and binary floats turn exact decimal halves into near-halves, so
``round(c * 9 / 5 + 32)`` is wrong in both directions. Here the conversion is done in decimal
arithmetic on the value as written (``22.5`` °C, not its binary approximation) and halves round
up (towards +inf): 72.5 °F → 73 °F, -0.5 °F → 0 °F. Negative halves only occur below -17.5 °C,
far outside the settlement cities' climates; the choice is stated here so it is not silent.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from kbayes.market.exact import exact_decimal

_NINE_FIFTHS = Decimal(9) / Decimal(5)
_HALF = Decimal("0.5")


def _decimal(temp: float | int | str | Decimal) -> Decimal:
    """The exact decimal a reported value stands for (``14.4`` means 14.4, not 14.4000000001)."""
    return exact_decimal(temp, "temperature")


def round_half_up(value: float | int | str | Decimal) -> int:
    """Round to the nearest integer, halves towards +inf (``72.5 -> 73``, ``-0.5 -> 0``).

    Raises:
        ValueError: ``value`` is missing (NaN/None-like) or not a number.
    """
    return int((_decimal(value) + _HALF).to_integral_value(rounding=ROUND_FLOOR))


def c_to_f(temp_c: float | int | str | Decimal) -> float:
    """°C to °F, unrounded (``22.8 -> 73.04``), computed exactly in decimal then as float."""
    return float(_decimal(temp_c) * _NINE_FIFTHS + 32)


def c_to_f_whole(temp_c: float | int | str | Decimal) -> int:
    """°C to whole °F as NWS reports it: ``round_half_up(temp_c * 9/5 + 32)``.

    Examples: 22.8 °C → 73.04 → 73; 22.5 °C → 72.5 → 73 (not 72 as ``round`` gives);
    -2.5 °C → 27.5 → 28.

    Raises:
        ValueError: ``temp_c`` is missing or not a finite number (never converted to a NaN).
    """
    return round_half_up(_decimal(temp_c) * _NINE_FIFTHS + 32)
