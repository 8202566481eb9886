"""Shape buckets: the rule of kbayes.shapes against a brute-force search."""

from __future__ import annotations

import pytest

from kbayes.shapes import bucket_length


def _brute(n: int, minimum: int, bits: int) -> int:
    """The smallest length ``>= n`` with at most ``bits + 1`` significant bits, by search."""
    if n <= minimum:
        return minimum
    m = n
    while len(bin(m).rstrip("0")) - 2 > bits + 1:  # significant bits of m
        m += 1
    return m


@pytest.mark.parametrize(("minimum", "bits"), [(1, 0), (8, 2), (256, 0), (4096, 0), (1, 3)])
def test_bucket_length_is_the_smallest_admissible_length(minimum: int, bits: int) -> None:
    for n in [*range(0, 600), 4095, 4096, 4097, 10_000, 123_457, 2**20 + 3]:
        assert bucket_length(n, minimum, bits) == _brute(n, minimum, bits), n


def test_bucket_length_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="minimum = 0"):
        bucket_length(5, 0)
    with pytest.raises(ValueError, match="mantissa_bits = -1"):
        bucket_length(5, 1, -1)
