"""A tiny NUTS fit on simulated days, shared by the fast tests (not a quality fit)."""

from __future__ import annotations

import jax
import pytest

from models.tmax_ar.fit import FitConfig, NutsFit, fit_nuts
from models.tmax_ar.simulate import simulate_days


@pytest.fixture(scope="session")
def tiny_fit() -> NutsFit:
    sim = simulate_days(11, 6)
    return fit_nuts(jax.random.PRNGKey(0), sim.data, FitConfig(25, 25, 2, max_tree_depth=3))
