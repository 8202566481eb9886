"""Shape bucketing: round array lengths up to few distinct sizes, so that jitted programs compile
once for many inputs of similar size.

A jitted function compiles once per input shape. Fits and replays on data of slightly different
sizes (event-days, cross-validation folds, windows) therefore pad their rows with inert entries
(zero weight) to a *bucket*: the smallest length ``>= n`` with at most ``b + 1`` significant
binary digits (``b = mantissa_bits``), i.e. ``m * 2**k`` with ``m < 2**(b + 1)``. ``b = 0``
gives the next power of two (at most 2x padding, one bucket per octave); ``b = 2`` gives
``m`` in 4..7 (at most 25% padding, four buckets per octave).
"""

from __future__ import annotations


def bucket_length(n: int, minimum: int = 1, mantissa_bits: int = 0) -> int:
    """Padded length for ``n`` rows: ``minimum`` when ``n <= minimum``, else the smallest
    length ``>= n`` with at most ``mantissa_bits + 1`` significant bits (module doc).

    Raises:
        ValueError: when ``minimum < 1`` or ``mantissa_bits < 0``.
    """
    if minimum < 1 or mantissa_bits < 0:
        raise ValueError(f"minimum = {minimum} must be >= 1, mantissa_bits = {mantissa_bits} >= 0")
    n = int(n)
    if n <= minimum:
        return minimum
    k = max(n.bit_length() - 1 - mantissa_bits, 0)
    return -(-n // 2**k) * 2**k
