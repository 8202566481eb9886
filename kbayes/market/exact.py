"""The exact decimal a written number stands for, for money and temperatures alike.

A float is read through its ``repr``, the shortest decimal that round-trips, i.e. the value as
it was written (``14.4`` means 14.4, not 14.4000000000000003552713678800500929355621337890625);
strings are parsed as decimals; bools, missing values and non-finite numbers are refused with
an error naming the field and the value (never a silent NaN).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def exact_decimal(value: object, field: str, error: type[ValueError] = ValueError) -> Decimal:
    """``value`` as an exact finite :class:`~decimal.Decimal`.

    Raises:
        error: ``value`` is a bool or ``None``, not a number, or not finite.
    """
    if isinstance(value, bool) or value is None:
        raise error(f"{field}={value!r}: expected a number or a decimal string")
    # float(): numpy scalars repr as ``np.float64(14.4)``.
    text = repr(float(value)) if isinstance(value, float) else str(value).strip()
    try:
        d = Decimal(text)
    except InvalidOperation as exc:
        raise error(f"{field}={value!r}: not a decimal number") from exc
    if not d.is_finite():
        raise error(f"{field}={value!r}: not finite")
    return d
