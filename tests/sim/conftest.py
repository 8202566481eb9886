"""Simulations shared by the simulator tests (each is run once per test session)."""

from __future__ import annotations

import pytest

from kbayes.sim import SimConfig, SimResult, simulate
from tests.sim.helpers import SMALL


@pytest.fixture(scope="session")
def small() -> SimResult:
    """Two cities × five days across the DST switch (fast)."""
    return simulate(SMALL)


@pytest.fixture(scope="session")
def demo() -> SimResult:
    """The default demo configuration (3 cities × 60 days)."""
    return simulate(SimConfig())
