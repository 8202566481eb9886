"""The variance-rate profile over the climate day: operational time and its fit."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from models.bracket_pmf import (
    BracketStep,
    day_fraction,
    default_params,
    fit_params,
    natural_params,
    operational_time,
)


def test_zero_profile_is_clock_time_and_profile_integrates() -> None:
    dt = jnp.array([0.0, 0.5, 3.0, 10.0])
    left = jnp.array([30.0, 12.0, 2.0, 20.0])
    np.testing.assert_allclose(operational_time(dt, left, default_params()), dt, rtol=1e-14)
    np.testing.assert_allclose(day_fraction(jnp.array([30.0, 24.0, 6.0, -1.0])), [0, 0, 0.75, 1])
    a = 1.3
    params = default_params(q_day1=a)
    # Inside the day, u = 1 - h / 24: int exp(a u) dh over [h, h + dt] in closed form.
    h, d = 6.0, 2.0
    u0, u1 = 1 - (h + d) / 24, 1 - h / 24
    exact = 24.0 / a * (np.exp(a * u1) - np.exp(a * u0))
    got = float(operational_time(jnp.asarray(d), jnp.asarray(h), params))
    assert abs(got - exact) < 1e-6 * exact
    # Before the day starts the rate is exp(0) = 1: clock time.
    assert float(operational_time(jnp.asarray(2.0), jnp.asarray(30.0), params)) == 2.0


def _simulate(rng: np.random.Generator, n_events: int, k: int, q: float, a: float) -> BracketStep:
    """Ten-minute steps over one climate day, log-part variance q exp(a u) per hour."""
    n_steps = 144
    dt = np.full((n_events, n_steps), 1 / 6)
    left = 24.0 - dt[0].cumsum()
    u = 1.0 - (left + 1 / 12) / 24.0
    price = np.empty((n_events, n_steps, k))
    for e in range(n_events):
        z = rng.normal(0.0, 1.0, k)
        for t in range(n_steps):
            z = z + rng.normal(0.0, np.sqrt(q * np.exp(a * u[t]) / 6), k)
            p = np.exp(z - z.max())
            price[e, t] = p / p.sum() + rng.normal(0.0, 0.01, k)
    zeros = np.zeros((n_events, n_steps, k))
    return BracketStep(
        dt=dt,
        price=price,
        half_spread=zeros,
        staleness_h=zeros,
        volume=zeros,
        weather_alr=np.full((n_events, n_steps, k - 1), np.nan),
        weather_hours_left=np.broadcast_to(left, (n_events, n_steps)),
    )


def test_fit_finds_a_rising_rate() -> None:
    data = _simulate(np.random.default_rng(5), n_events=12, k=3, q=0.05, a=3.0)
    init = default_params(q=0.05, s0=0.01, volume=1e-3)
    fixed = ("log_p0", "log_spread", "log_stale", "log_volume", "log_wx", "log_wx_horizon")
    res = fit_params(init, [data], num_iters=150, learning_rate=0.05, penalty=0.0, fixed=fixed)
    got = natural_params(res.params)
    rate_end = got["q_day1"] + got["q_day2"]  # log r(1) - log r(0)
    assert 1.5 < rate_end < 4.5, got
