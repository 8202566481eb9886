"""Seeded random streams: one independent generator per (city, climate day, component).

Every random draw of the simulator comes from ``numpy.random.Generator(PCG64)`` seeded by a
:class:`numpy.random.SeedSequence` whose ``spawn_key`` is ``(city code, date ordinal,
component)``. This is exactly what ``SeedSequence(seed).spawn`` produces for a child, but the
key is the stable *name* of the stream instead of its position in a list, so that

* adding or removing a city, or moving ``start``/``n_days``, leaves every other (city, day)
  bit-for-bit unchanged;
* changing one component (say, the order-flow parameters) leaves the weather unchanged.

The city code is a CRC-32 of the city key (deterministic across processes, unlike ``hash``).
No wall-clock time and no global random state are used anywhere in :mod:`kbayes.sim`.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

#: Component ids of the per-(city, day) streams; never renumber (it would change all output).
STREAMS: dict[str, int] = {
    "regime": 0,  # day-to-day weather-regime shock (one normal per day)
    "weather": 1,  # diurnal amplitude, trend, AR(1) innovations, 1-minute excursions
    "forecast": 2,  # nested forecast errors
    "obs": 3,  # station reporting: missing steps, whole-degree-only rows, dew point
    "mc": 4,  # common random numbers of the market maker's Monte Carlo posterior
    "quotes": 5,  # quote noise and spreads
    "book": 6,  # resting sizes
    "flow": 7,  # Hawkes trade arrivals, marks and sizes
}


def city_code(key: str) -> int:
    """Stable 32-bit code of a city key (CRC-32 of its ASCII bytes)."""
    return zlib.crc32(key.encode("ascii"))


def seed_sequence(seed: int, city: str, day: dt.date, stream: str) -> np.random.SeedSequence:
    """The :class:`~numpy.random.SeedSequence` child of ``seed`` for one named stream."""
    return np.random.SeedSequence(
        int(seed), spawn_key=(city_code(city), day.toordinal(), STREAMS[stream])
    )


def rng_for(seed: int, city: str, day: dt.date, stream: str) -> np.random.Generator:
    """Independent PCG64 generator for ``(city, day, stream)`` under the master ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, city, day, stream)))
