"""Smooth time-of-day curves of the AR(1) coefficient and innovation scale.

With ``tau = s / 288`` the time of day of step ``s`` and the Fourier design

``B(tau) = [1, cos 2 pi tau, sin 2 pi tau, ..., cos 2 pi K tau, sin 2 pi K tau]``

(``K_phi = 1`` harmonic, 3 columns, for the AR coefficient; ``K_sigma = 2``, 5 columns, for the
innovation scale: the scale's diurnal shape is sharply identified by the data, the coefficient's
is not), the coefficient and scale of day ``d`` are

``phi_d(tau)   = logistic(B(tau) . a + u_{g(d)})``

``sigma_d(tau) = exp(B(tau) . c + v_{g(d)} + eta_d)``

where ``u_g, v_g`` are station offsets of the intercepts and ``eta_d`` a day offset of the
log scale (both partially pooled, see :mod:`models.tmax_ar.model`). Fourier bases for smooth
periodic effects follow e.g. West & Harrison (1997), *Bayesian Forecasting and Dynamic
Models*, ch. 8.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from models.tmax_ar.grid import STEPS

PHI_HARMONICS = 1
SIGMA_HARMONICS = 2
N_PHI_COEF = 1 + 2 * PHI_HARMONICS
N_SIGMA_COEF = 1 + 2 * SIGMA_HARMONICS


def fourier_design(n_steps: int = STEPS, harmonics: int = 1) -> Float[np.ndarray, "T C"]:
    """``B(tau_s)`` for ``s = 0 .. n_steps - 1``; column 0 is the intercept."""
    tau = np.arange(n_steps) / n_steps
    cols = [np.ones(n_steps)]
    for k in range(1, harmonics + 1):
        cols += [np.cos(2 * np.pi * k * tau), np.sin(2 * np.pi * k * tau)]
    return np.stack(cols, axis=1)


def harmonics_of(n_coef: int) -> int:
    """``K`` for a coefficient vector of length ``1 + 2 K``."""
    if n_coef < 1 or n_coef % 2 == 0:
        raise ValueError(f"Fourier coefficients: length must be 1 + 2K, got {n_coef}")
    return (n_coef - 1) // 2


def ar_curves(
    phi_coef: Float[Array, " Cp"],
    sigma_coef: Float[Array, " Cs"],
    phi_shift: Float[Array, " D"],
    log_sigma_shift: Float[Array, " D"],
) -> tuple[Float[Array, "D T"], Float[Array, "D T"]]:
    """``(phi, sigma)`` per day and step from the Fourier coefficients and per-day shifts.

    The number of harmonics of each curve is read from its coefficient vector's length.
    """
    lin_phi = jnp.asarray(fourier_design(STEPS, harmonics_of(phi_coef.shape[-1]))) @ phi_coef
    lin_sig = jnp.asarray(fourier_design(STEPS, harmonics_of(sigma_coef.shape[-1]))) @ sigma_coef
    phi = 1.0 / (1.0 + jnp.exp(-(lin_phi[None, :] + phi_shift[:, None])))
    sigma = jnp.exp(lin_sig[None, :] + log_sigma_shift[:, None])
    return phi, sigma
