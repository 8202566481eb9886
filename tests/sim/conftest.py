"""Simulations shared by the simulator tests (each is run once per test session)."""

from __future__ import annotations

import time

import pytest

from kbayes.sim import SimConfig, SimResult, simulate
from tests.sim.helpers import SMALL


@pytest.fixture(scope="session")
def small() -> SimResult:
    """Two cities × five days across the DST switch (fast)."""
    return simulate(SMALL)


@pytest.fixture(scope="session")
def demo_timed() -> tuple[SimResult, float]:
    """The default demo configuration (3 cities × 60 days) and the CPU seconds it took."""
    t0 = time.process_time()
    res = simulate(SimConfig())
    return res, time.process_time() - t0


@pytest.fixture(scope="session")
def demo(demo_timed: tuple[SimResult, float]) -> SimResult:
    return demo_timed[0]
