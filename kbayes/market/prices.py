"""Exact money and size units at the boundary with Kalshi.

Kalshi quotes prices either as integer cents (pre-2026 payloads: ``yes_price: 43``) or as
fixed-point dollar strings with four decimals (``"0.4300"``), and sizes either as integers or
as fixed-point strings with two decimals (``"966425.00"``, fractional contracts ``"9.64"``).
Both are parsed here into exact integers, never floats:

* prices in **centi-cents** (1 cc = $0.0001, so $1 = 10_000 cc; a whole cent is 100 cc);
* counts in **centi-contracts** (1 contract = 100).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from kbayes.market.exact import exact_decimal

CC_PER_DOLLAR = 10_000
CC_PER_CENT = 100
CENTI_PER_CONTRACT = 100


class PriceFormatError(ValueError):
    """A price or size field could not be parsed exactly."""


def _decimal(value: object, field: str) -> Decimal:
    # A float is accepted when its repr is on the target grid (checked by the caller).
    return exact_decimal(value, field, PriceFormatError)


def dollars_to_cc(value: object, field: str = "price_dollars") -> int:
    """Parse a dollar amount (``"0.4300"``) into exact centi-cents.

    Raises:
        PriceFormatError: when the value is not a finite decimal on the $0.0001 grid.
    """
    d = _decimal(value, field) * CC_PER_DOLLAR
    if d != d.to_integral_value():
        raise PriceFormatError(f"{field}={value!r}: finer than $0.0001")
    return int(d)


def cents_to_cc(value: object, field: str = "price") -> int:
    """Parse an integer-cent price (legacy payloads, e.g. ``43``) into centi-cents."""
    d = _decimal(value, field) * CC_PER_CENT
    if d != d.to_integral_value():
        raise PriceFormatError(f"{field}={value!r}: finer than 0.01 cent")
    return int(d)


def fp_to_centi(value: object, field: str = "count_fp") -> int:
    """Parse a fixed-point count (``"9.64"`` or ``12``) into centi-contracts."""
    d = _decimal(value, field) * CENTI_PER_CONTRACT
    if d != d.to_integral_value():
        raise PriceFormatError(f"{field}={value!r}: finer than 0.01 contract")
    return int(d)


def cc_to_dollars(cc: int) -> Decimal:
    """Centi-cents to an exact Decimal dollar amount."""
    return Decimal(cc) / CC_PER_DOLLAR


def ceil_to_cent_cc(amount_dollars: Decimal) -> int:
    """Round a dollar amount up to the next whole cent, returned in centi-cents."""
    cents = (amount_dollars * 100).to_integral_value(rounding=ROUND_CEILING)
    return int(cents) * CC_PER_CENT
