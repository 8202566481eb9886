"""Run the flow Hawkes tests in float64 (a `jax.enable_x64` context, as the package code uses)."""

from __future__ import annotations

from collections.abc import Iterator

import jax
import pytest


@pytest.fixture(autouse=True, scope="package")
def _enable_x64() -> Iterator[None]:
    with jax.enable_x64(True):
        yield
