"""Maximum marginal likelihood recovers the scales of data simulated from the model."""

from __future__ import annotations

import numpy as np
import pytest

from models.bracket_pmf import (
    DAY_PROFILE,
    BracketStep,
    default_params,
    fit_params,
    natural_params,
)


def simulate(
    rng: np.random.Generator, n_events: int, n_steps: int, k: int, q: float, s0: float
) -> BracketStep:
    """Events from the model: iid log-part random walk, prices softmax + N(0, s0^2 + cv^2/(1+v))."""
    vol_scale = default_params().log_volume
    c_v2 = float(np.exp(2 * vol_scale))
    dt = rng.uniform(0.05, 0.5, (n_events, n_steps))
    dt[:, 0] = 0.0
    volume = rng.integers(0, 50, (n_events, n_steps, k)).astype(float)
    price = np.empty((n_events, n_steps, k))
    for e in range(n_events):
        a = rng.normal(0.0, 1.0, k)  # iid log-parts: alr covariance I + 1 1^T
        for t in range(n_steps):
            a = a + rng.normal(0.0, np.sqrt(q * dt[e, t]), k)
            p = np.exp(a - a.max())
            p /= p.sum()
            sd = np.sqrt(s0**2 + c_v2 / (1.0 + volume[e, t]))
            price[e, t] = p + rng.normal(0.0, sd)
    price[rng.uniform(size=price.shape) < 0.3] = np.nan
    zeros = np.zeros((n_events, n_steps, k))
    return BracketStep(
        dt=dt,
        price=price,
        half_spread=zeros,
        staleness_h=zeros,
        volume=volume,
        weather_alr=np.full((n_events, n_steps, k - 1), np.nan),
        weather_hours_left=np.zeros((n_events, n_steps)),
    )


def test_fit_recovers_known_noise_scale_and_q() -> None:
    rng = np.random.default_rng(0)
    q_true, s0_true = 0.3, 0.04
    data = simulate(rng, n_events=24, n_steps=96, k=4, q=q_true, s0=s0_true)
    init = default_params(q=0.05, s0=0.01, p0=1.0)
    # Every step is at the same place in the day here, so the profile would only rescale q.
    fixed = ("log_p0", "log_spread", "log_stale", "log_volume", "log_wx", "log_wx_horizon")
    fixed = (*fixed, *DAY_PROFILE)
    res = fit_params(init, [data], num_iters=120, learning_rate=0.08, penalty=0.0, fixed=fixed)
    got = natural_params(res.params)
    assert res.loss_history[-1] < res.loss_history[0]
    assert got["s0"] == pytest.approx(s0_true, rel=0.15)
    assert got["q"] == pytest.approx(q_true, rel=0.35)
    # Held parameters do not move.
    assert got["spread"] == pytest.approx(1.0) and got["p0"] == pytest.approx(1.0)
