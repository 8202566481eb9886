"""Parameters of the multivariate exponential-kernel Hawkes process and its stationarity.

The conditional intensity of dimension ``i`` is (Hawkes 1971)

    lambda_i(t) = mu_i(t) + sum_j sum_{t_k^j < t} alpha_ij beta_ij exp(-beta_ij (t - t_k^j)),

so ``alpha_ij`` is the expected number of direct offspring in ``i`` of one event in ``j`` (the
branching matrix) and ``1 / beta_ij`` the mean delay. The process is stationary when the
spectral radius ``rho(alpha) < 1``; the mean rate then solves ``m = (I - alpha)^{-1} mu``.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array
from jaxtyping import Float


class HawkesParams(NamedTuple):
    """Hawkes parameters with ``D`` dimensions and ``B`` baseline bins.

    Attributes:
        mu: ``(D, B)`` baseline rates per bin (``B = 1`` for a constant baseline).
        alpha: ``(D, D)`` branching matrix, row = excited dimension, column = source.
        beta: ``(D, D)`` decay rates (a shared or per-row decay is stored broadcast).
    """

    mu: Float[Array, "D B"]
    alpha: Float[Array, "D D"]
    beta: Float[Array, "D D"]

    @property
    def num_dims(self) -> int:
        """Number of dimensions ``D``."""
        return int(self.alpha.shape[0])


class StationarityWarning(UserWarning):
    """The branching matrix has spectral radius >= 1: the process is explosive."""


def broadcast_decays(beta: Any, d: int) -> Float[np.ndarray, "D D"]:
    """``(D, D)`` float64 decays from a scalar, a ``(D,)`` vector per row or a ``(D, D)`` matrix.

    Raises:
        ValueError: on any other shape.
    """
    b = np.asarray(beta, dtype=np.float64)
    if b.ndim == 0:
        b = np.full((d, d), float(b))
    elif b.shape == (d,):
        b = np.repeat(b[:, None], d, axis=1)
    elif b.shape != (d, d):
        raise ValueError(f"beta must be scalar, ({d},) or ({d}, {d}), got shape {b.shape}")
    return b


def hawkes_params(mu: Any, alpha: Any, beta: Any) -> HawkesParams:
    """Build :class:`HawkesParams`, broadcasting the baseline and the decays.

    Args:
        mu: ``(D,)`` constant baselines or ``(D, B)`` per baseline bin.
        alpha: ``(D, D)`` branching matrix (non-negative).
        beta: scalar (shared), ``(D,)`` (per row: the decay of kernels exciting ``i``), or
            ``(D, D)`` (per pair); positive.

    Raises:
        ValueError: naming the argument and the first bad index.
    """
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"alpha must be square (D, D), got shape {a.shape}")
    d = a.shape[0]
    m = np.asarray(mu, dtype=np.float64)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[0] != d:
        raise ValueError(f"mu must be ({d},) or ({d}, B), got shape {np.shape(mu)}")
    b = broadcast_decays(beta, d)
    for name, x, ok in (
        ("mu", m, m >= 0),
        ("alpha", a, a >= 0),
        ("beta", b, b > 0),
    ):
        bad = ~(np.isfinite(x) & ok)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name}[{', '.join(map(str, idx))}] = {x[idx]} is not a valid value")
    return HawkesParams(mu=jnp.asarray(m), alpha=jnp.asarray(a), beta=jnp.asarray(b))


def as_jax(params: HawkesParams) -> HawkesParams:
    """The parameters as JAX arrays (e.g. a numpy :class:`~kbayes.pointprocess.mle.HawkesFit`'s),
    for kernels that index them with traced values; a no-op on arrays already traced."""
    return HawkesParams(*(jnp.asarray(x) for x in params))


def spectral_radius(alpha: Float[Array, "D D"]) -> Float[Array, ""]:
    """Largest eigenvalue modulus of the branching matrix (Perron root for ``alpha >= 0``)."""
    return jnp.max(jnp.abs(jnp.linalg.eigvals(jnp.asarray(alpha))))


def check_stationarity(params: HawkesParams, *, stacklevel: int = 2) -> float:
    """Return ``rho(alpha)``; warn with :class:`StationarityWarning` when it is >= 1."""
    rho = float(np.max(np.abs(np.linalg.eigvals(np.asarray(params.alpha, np.float64)))))
    if not rho < 1.0:
        warnings.warn(
            f"Hawkes branching matrix has spectral radius {rho:.4f} >= 1: the process is "
            "not stationary (explosive); rates and forecasts from it are not meaningful",
            StationarityWarning,
            stacklevel=stacklevel + 1,
        )
    return rho


def stationary_rate(params: HawkesParams, weights: Any = None) -> Float[np.ndarray, " D"]:
    """Mean event rate per dimension, ``(I - alpha)^{-1} mu_bar`` (requires ``rho < 1``).

    Args:
        params: Hawkes parameters.
        weights: ``(B,)`` fraction of time in each baseline bin (uniform when None).
    """
    mu = np.asarray(params.mu, np.float64)
    w = np.full(mu.shape[1], 1.0 / mu.shape[1]) if weights is None else np.asarray(weights)
    mu_bar = mu @ (w / w.sum())
    a = np.asarray(params.alpha, np.float64)
    return np.linalg.solve(np.eye(len(a)) - a, mu_bar)
