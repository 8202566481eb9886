"""Posterior recovery on days simulated from the model with known parameters (slow)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from models.tmax_ar.fit import FitConfig, fit_nuts
from models.tmax_ar.simulate import DEFAULT_TRUTH, simulate_days


def _inside(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    return (lo <= truth) & (truth <= hi)


@pytest.mark.slow
def test_90pct_intervals_cover_the_truth() -> None:
    hits = []
    for seed in (1, 2, 3):
        sim = simulate_days(seed, 16)
        fit = fit_nuts(jax.random.PRNGKey(seed), sim.data, FitConfig(250, 250, 2, max_tree_depth=6))
        p = fit.idata.posterior
        flat = {v: p[v].values.reshape(-1, *p[v].shape[2:]) for v in p.data_vars}
        t = DEFAULT_TRUTH
        checks = [
            _inside(flat["phi_coef"], t.phi_coef),
            _inside(flat["sigma_coef"], t.sigma_coef),
            _inside(flat["mu_delta"][:, 0], np.array(t.mu_delta)),
            _inside(flat["tau_delta"][:, 0], np.array(t.tau_delta)),
            _inside(flat["tau_eta"], np.array(t.tau_eta)),
            _inside(flat["obs_jitter_sd"], np.array(t.obs_jitter_sd)),
            _inside(flat["log_sigma_day"], sim.log_sigma_day),
        ]
        hits.append(np.concatenate([np.atleast_1d(c) for c in checks]))
    cover = np.concatenate(hits).mean()
    assert cover >= 0.85, f"90% intervals cover {cover:.1%} of the true parameters"
