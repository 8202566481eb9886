"""Fixed inputs of the Tmax AR filter, and the results the code gave on them when recorded.

``data/kalman_recorded.npz`` holds the output of the filter (the per-step moments and
log-likelihoods of a batch of candidate days in float32 and float64, backward-sampled paths,
and the NumPyro model's log-density) as computed by the pre-refactor code (the 5-tuple carry
``filter_step`` / ``kalman_filter`` of commit 01b5ab3) on :func:`filter_case` and
:func:`model_case`. :mod:`tests.models.tmax_ar.test_kalman` checks that the current code
reproduces them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.tmax_ar.grid import MISSING, STEPS, TENTHS, WHOLE

RECORDED = Path(__file__).parent / "data" / "kalman_recorded.npz"
CANDIDATES = 6
T = 120
MODEL_STATIONS = 2


def filter_case() -> dict[str, np.ndarray]:
    """A batch of candidate parameters on one day: tenths, whole-°C and missing reports."""
    rng = np.random.default_rng(2024)
    phi = 0.6 + 0.39 * rng.random((CANDIDATES, T))
    phi[:, 0] = 0.0  # as effective_ar
    sigma = 0.05 + 0.3 * rng.random((CANDIDATES, T))
    base = 18.0 + 4.0 * np.sin(np.linspace(0.0, np.pi, T))
    y = base + 0.8 + np.cumsum(0.15 * rng.standard_normal(T))
    kind = np.full(T, TENTHS)
    whole = rng.random(T) < 0.2
    kind[whole] = WHOLE
    y = np.where(whole, np.round(y), np.round(y * 10.0) / 10.0)
    kind[[3, 4, 5, 50, 51, 90]] = MISSING
    y[[3, 50]] = 1e6  # a missing report's value is never read
    kind[100] = WHOLE
    y[100] = np.round(base[100] + 6.0)  # a whole report far in the tail
    return {
        "phi": phi,
        "sigma": sigma,
        "base": base,
        "y": y,
        "kind": kind,
        "mu_delta": rng.normal(0.5, 1.0, CANDIDATES),
        "tau_delta": 0.5 + 2.0 * rng.random(CANDIDATES),
        "obs_var": 0.01 + 0.05 * rng.random(CANDIDATES),
    }


def model_case() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Three days of two stations on the full grid, and one value of every sampled site."""
    rng = np.random.default_rng(7)
    n_days = 3
    base = 15.0 + 6.0 * np.sin(np.linspace(-0.5, 2.5, STEPS))[None, :]
    base = base + rng.normal(size=(n_days, 1))
    y = base + np.cumsum(0.1 * rng.standard_normal((n_days, STEPS)), axis=1)
    kind = np.where(rng.random((n_days, STEPS)) < 0.1, WHOLE, TENTHS)
    kind[rng.random((n_days, STEPS)) < 0.05] = MISSING
    y = np.where(kind == WHOLE, np.round(y), np.round(y * 10.0) / 10.0)
    data = {"y": y, "kind": kind, "base": base, "station": np.array([0, 1, 1])}
    sites = {
        "phi_coef": np.array([5.5, 0.3, -0.2]),
        "sigma_coef": np.array([np.log(0.12), 0.1, -0.1, 0.05, 0.0]),
        "mu_delta": np.array([0.4, -0.3]),
        "tau_delta": np.array([1.2, 0.8]),
        "tau_u": np.array(0.3),
        "u_raw": np.array([0.5, -0.5]),
        "tau_v": np.array(0.2),
        "v_raw": np.array([-0.3, 0.7]),
        "tau_eta": np.array(0.25),
        "obs_jitter_sd": np.array(0.05),
        "log_sigma_day": np.array([-2.0, -2.2, -1.9]),
    }
    return data, sites
