"""Simulate days from the model itself with known parameters (for recovery tests and demos).

Draws ``delta_d ~ N(mu_g, tau_g^2)``, ``eta_d ~ N(0, tau_eta^2)``,
the AR(1) path of :mod:`models.tmax_ar.model`, and reports: tenths values
``round(T + e, 1)`` with ``e ~ N(0, 0.03^2 + omega^2)``, a fraction reported as whole °C
(``round_half_up(T + e)``), and random gaps (short ones and one long outage on some days).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from models.tmax_ar.curves import ar_curves
from models.tmax_ar.grid import MISSING, STEPS, TENTHS, WHOLE
from models.tmax_ar.kalman import effective_ar, report_noise_sd
from models.tmax_ar.model import FitData


class TrueParams(NamedTuple):
    """Known parameters of one station (see :mod:`models.tmax_ar.model`)."""

    phi_coef: Float[np.ndarray, " Cp"]
    sigma_coef: Float[np.ndarray, " Cs"]
    mu_delta: float
    tau_delta: float
    tau_eta: float
    obs_jitter_sd: float


DEFAULT_TRUTH = TrueParams(
    phi_coef=np.array([4.0, 0.4, -0.3]),
    sigma_coef=np.array([np.log(0.12), -0.3, -0.2, 0.1, 0.0]),
    mu_delta=0.5,
    tau_delta=2.5,
    tau_eta=0.25,
    obs_jitter_sd=0.1,
)


class SimDays(NamedTuple):
    """Simulated days: the model inputs plus the truth.

    Attributes:
        data: :class:`FitData` ready for the fit.
        temp: true temperature paths, ``(D, T)``.
        delta: the day offsets.
        log_sigma_day: the per-day log-scale intercepts ``l_d = c_0 + eta_d``.
    """

    data: FitData
    temp: Float[np.ndarray, "D T"]
    delta: Float[np.ndarray, " D"]
    log_sigma_day: Float[np.ndarray, " D"]


def diurnal_base(n_days: int, mean_c: float = 20.0, amp_c: float = 5.0) -> np.ndarray:
    """A smooth diurnal baseline (coolest near 05:00, warmest near 15:00 LST), ``(D, T)``."""
    hour = np.arange(STEPS) * 24.0 / STEPS
    curve = mean_c + amp_c * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    return np.tile(curve, (n_days, 1))


def _paths(key: Array, phi: Float[Array, "D T"], sigma: Float[Array, "D T"]) -> Float[Array, "D T"]:
    eps = jax.random.normal(key, phi.shape)

    def step(x, inp):
        p, s, e = inp
        x = p * x + s * e
        return x, x

    _, xs = jax.lax.scan(step, jnp.zeros(phi.shape[0]), (phi.T, sigma.T, eps.T))
    return xs.T


def simulate_days(
    seed: int,
    n_days: int,
    truth: TrueParams = DEFAULT_TRUTH,
    whole_frac: float = 0.05,
    gap_frac: float = 0.05,
    base: np.ndarray | None = None,
) -> SimDays:
    """``n_days`` days of one station from the model with parameters ``truth``."""
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    base = diurnal_base(n_days) if base is None else base
    delta = truth.mu_delta + truth.tau_delta * rng.standard_normal(n_days)
    eta = truth.tau_eta * rng.standard_normal(n_days)
    phi, sigma = ar_curves(
        jnp.asarray(truth.phi_coef),
        jnp.asarray(truth.sigma_coef),
        jnp.zeros(n_days),
        jnp.asarray(eta),
    )
    phi, sigma = effective_ar(phi, sigma)
    x = np.asarray(_paths(key, phi, sigma), dtype=float)
    temp = base + delta[:, None] + x
    noisy = temp + report_noise_sd(truth.obs_jitter_sd) * rng.standard_normal(temp.shape)
    kind = np.where(rng.random(temp.shape) < whole_frac, WHOLE, TENTHS)
    kind[rng.random(temp.shape) < gap_frac] = MISSING
    for d in range(n_days):
        if rng.random() < 0.2:  # an outage of 1-6 hours
            start = rng.integers(0, STEPS - 12)
            kind[d, start : start + rng.integers(12, 72)] = MISSING
    y = np.where(kind == WHOLE, np.floor(noisy + 0.5), np.round(noisy, 1))
    y = np.where(kind == MISSING, 0.0, y)
    data = FitData(
        jnp.asarray(y, dtype=jnp.float32),
        jnp.asarray(kind),
        jnp.asarray(base, dtype=jnp.float32),
        jnp.zeros(n_days, dtype=jnp.int32),
        1,
    )
    return SimDays(data, temp, delta, truth.sigma_coef[0] + eta)
