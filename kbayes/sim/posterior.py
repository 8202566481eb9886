"""The market maker's exact Bayesian posterior of the official high (the simulator's oracle).

Information at time ``t``: the latest forecast (``θ | Z ~ N(m, diag(s²))``,
:mod:`kbayes.sim.forecast`) and the exact 5-minute temperatures ``T_0..T_s`` stamped before
``t`` (not the 1-minute excursions). Under the path model of :mod:`kbayes.sim.weather`:

1. **Curve parameters** (conjugate GLS, exact). Prewhitening the AR(1) residual gives
   independent rows ``z_0 = x_0/√v₀, w_0 = T_0/√v₀`` and ``z_j = (x_j − φ x_{j−1})/σ_j,
   w_j = (T_j − φ T_{j−1})/σ_j``, so::

       Λ_s = diag(1/s²) + Σ_{j≤s} z_j z_jᵀ,   θ | info ~ N(Λ_s⁻¹ (m/s² + Σ_{j≤s} z_j w_j), Λ_s⁻¹).

2. **Future path.** Given ``θ`` and ``T_s``, for ``k > s``::

       T_k = x_kᵀθ + φ^{k−s} (T_s − x_sᵀθ) + ξ_k,   ξ_k = Σ_{s<j≤k} φ^{k−j} σ_j ε_j.

   With a per-event AR path ``ρ`` driven by common random numbers from 0,
   ``ξ_k = ρ_k − φ^{k−s} ρ_s``, so one draw of ``(ρ, G, z)`` serves every time ``s``.

3. **Official high.** ``P(official ≤ e) = P(M1 < e + ½) = P_past · P_future`` where the past
   part is analytic in the unseen excursions, ``P_past = Π_{j≤s} (1 − exp(−(e + ½ − T_j)/g))⁺``,
   and the future part is the Monte Carlo fraction of the ``N`` draws with
   ``max_{k>s}(T_k + G_k) < e + ½`` (``θ`` drawn from step 1), as the Jeffreys estimate
   ``(count + ½)/(N + 1)`` so that no possible bracket gets probability exactly 0.

The Monte Carlo is exact in distribution, so the resulting bracket PMF is calibrated up to
Monte Carlo error (``O(1/√N)``; the peak-level normal is stratified, and common random numbers
make the error smooth in time). Brackets below the running maximum get exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtri

from kbayes.sim.weather import STEPS, DayModel

_CHUNK_CELLS = 1 << 22  # float32 cells per Monte Carlo block (~16 MB)


@dataclass(frozen=True)
class EventPaths:
    """Per-event inputs of the posterior, stacked over events ``E``.

    Attributes:
        a: diurnal column ``a_s`` of the design, ``(E, 288)``.
        phi: AR(1) coefficient, ``(E,)``.
        sigma: innovation sd ``σ_s``, ``(E, 288)``.
        v0: initial residual variance, ``(E,)``.
        excursion_mean: mean 1-minute excursion ``g``, ``(E,)``.
        temp_f: the true 5-minute path, ``(E, 288)``.
    """

    a: np.ndarray
    phi: np.ndarray
    sigma: np.ndarray
    v0: np.ndarray
    excursion_mean: np.ndarray
    temp_f: np.ndarray

    @classmethod
    def stack(cls, models: list[DayModel], temp_f: np.ndarray) -> EventPaths:
        return cls(
            a=np.stack([m.X[:, 1] for m in models]),
            phi=np.array([m.phi for m in models]),
            sigma=np.stack([m.sigma for m in models]),
            v0=np.array([m.v0 for m in models]),
            excursion_mean=np.array([m.excursion_mean for m in models]),
            temp_f=np.asarray(temp_f, dtype=float),
        )

    def design(self) -> np.ndarray:
        """Design rows ``x_s = (1, a_s, u_s)``, ``(E, 288, 3)``."""
        e = self.a.shape[0]
        u = np.broadcast_to(np.arange(STEPS) / STEPS - 0.5, (e, STEPS))
        return np.stack([np.ones((e, STEPS)), self.a, u], axis=-1)


def gls_stats(ev: EventPaths) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative data precision ``Σ_{j≤s} z_j z_jᵀ`` and information ``Σ_{j≤s} z_j w_j``.

    Returns:
        ``(prec, info)`` with shapes ``(E, 288, 3, 3)`` and ``(E, 288, 3)``.
    """
    X = ev.design()
    T = ev.temp_f
    z = np.empty_like(X)
    w = np.empty_like(T)
    sd0 = np.sqrt(ev.v0)[:, None]
    z[:, 0] = X[:, 0] / sd0
    w[:, 0] = T[:, 0] / sd0[:, 0]
    phi = ev.phi[:, None]
    z[:, 1:] = (X[:, 1:] - phi[:, :, None] * X[:, :-1]) / ev.sigma[:, 1:, None]
    w[:, 1:] = (T[:, 1:] - phi * T[:, :-1]) / ev.sigma[:, 1:]
    prec = np.cumsum(z[..., :, None] * z[..., None, :], axis=1)
    info = np.cumsum(z * w[..., None], axis=1)
    return prec, info


def theta_posterior(
    prior_mean: np.ndarray,
    prior_sd: np.ndarray,
    prec: np.ndarray | None = None,
    info: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and Cholesky factor of ``θ`` (step 1), batched over a leading axis.

    Args:
        prior_mean, prior_sd: forecast posterior ``N(m, diag(s²))``, ``(P, 3)``.
        prec, info: cumulative data statistics at the last observed step, or ``None`` (no data).
    """
    lam = np.zeros((*prior_mean.shape, 3))
    idx = np.arange(3)
    lam[:, idx, idx] = 1.0 / prior_sd**2
    h = prior_mean / prior_sd**2
    if prec is not None:
        lam = lam + prec
        h = h + info
    cov = np.linalg.inv(lam)
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    mean = (cov * h[:, None, :]).sum(axis=2)
    return mean, np.linalg.cholesky(cov)


@dataclass(frozen=True)
class MCDraws:
    """Common random numbers of the Monte Carlo for a block of events.

    Attributes:
        z: standard normals for ``θ``, ``(E, N, 3)``.
        rho: AR paths ``ρ`` from 0 (with ``ρ_0 ~ N(0, v₀)``), ``(E, N, 288)`` float32.
        fut: ``ρ + G`` (path noise plus 1-minute excursion), ``(E, N, 288)`` float32.
    """

    z: np.ndarray
    rho: np.ndarray
    fut: np.ndarray


def mc_draws(rngs: list[np.random.Generator], ev: EventPaths, n: int) -> MCDraws:
    """Draw ``n`` common-random-number paths per event (one generator per event)."""
    e = len(rngs)
    z = np.empty((e, n, 3))
    eps = np.empty((e, n, STEPS), dtype=np.float32)
    exc = np.empty((e, n, STEPS), dtype=np.float32)
    for i, rng in enumerate(rngs):
        z[i] = rng.standard_normal((n, 3))
        # stratify the dominant factor (the peak level): one draw per 1/n-quantile, shuffled
        z[i, :, 0] = ndtri((rng.permutation(n) + rng.random(n)) / n)
        rng.standard_normal(dtype=np.float32, out=eps[i])
        rng.standard_exponential(dtype=np.float32, out=exc[i])
    exc *= ev.excursion_mean[:, None, None].astype(np.float32)
    drive = eps * ev.sigma[:, None, :].astype(np.float32)
    drive[..., 0] = eps[..., 0] * np.sqrt(ev.v0)[:, None].astype(np.float32)
    rho = np.empty_like(drive)
    for i in range(e):
        rho[i] = lfilter(np.float32([1.0]), np.float32([1.0, -ev.phi[i]]), drive[i], axis=-1)
    return MCDraws(z=z, rho=rho, fut=rho + exc)


def max_cdf(
    ev: EventPaths,
    mc: MCDraws,
    event: np.ndarray,
    step: np.ndarray,
    mean: np.ndarray,
    chol: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``P(M1 < x)`` at each event's thresholds and the Monte Carlo mean of the future max.

    Args:
        ev: event inputs (the events of ``mc``).
        mc: common random numbers of those events.
        event: event index of each query, ``(P,)``.
        step: last observed step ``s`` of each query (``-1``: no observation yet), ``(P,)``.
        mean, chol: posterior of ``θ`` per query, ``(P, 3)`` and ``(P, 3, 3)``.
        thresholds: increasing thresholds ``x`` per *event* (``e + ½`` for edges ``e``),
            ``(E, J)``.

    Returns:
        ``(cdf, mean_future_max)`` with shapes ``(P, J)`` and ``(P,)``; the latter is
        ``E[max_{k>s}(T_k + G_k)]`` (``E[M1]`` when ``s = −1``), ``-inf`` when no step remains.
    """
    n_q = len(event)
    n_thr = thresholds.shape[1]
    n = mc.z.shape[1]
    cdf = np.empty((n_q, n_thr))
    mean_max = np.full(n_q, -np.inf)
    past = _past_log_cdf(ev, thresholds)  # (E, 288, J)
    u = (np.arange(STEPS) / STEPS - 0.5).astype(np.float32)
    a32 = ev.a.astype(np.float32)
    thr32 = thresholds.astype(np.float32)
    for s in np.unique(step):
        s = int(s)
        k = STEPS - 1 - s
        sel = np.flatnonzero(step == s)
        block = max(1, _CHUNK_CELLS // (n * max(k, 1)))
        for b in range(0, len(sel), block):
            q = sel[b : b + block]
            e = event[q]
            theta = mean[q][:, None, :] + np.matmul(mc.z[e], np.swapaxes(chol[q], 1, 2))
            if k == 0:
                frac = np.ones((len(q), n_thr))
            else:
                # future_k = θ_A a_k + θ_β u_k + c φ^(k−s) + (ρ_k + G_k), then + θ_H
                basis = np.empty((len(q), 3, k), dtype=np.float32)
                basis[:, 0] = a32[e, s + 1 :]
                basis[:, 1] = u[s + 1 :]
                coef = np.empty((len(q), n, 3), dtype=np.float32)
                coef[..., 0] = theta[..., 1]
                coef[..., 1] = theta[..., 2]
                if s >= 0:
                    x_s = theta[..., 0] + theta[..., 1] * ev.a[e, s][:, None] + theta[..., 2] * u[s]
                    coef[..., 2] = ev.temp_f[e, s][:, None] - x_s - mc.rho[e, :, s]
                    basis[:, 2] = ev.phi[e][:, None] ** np.arange(1, k + 1)
                else:
                    coef[..., 2] = 0.0
                    basis[:, 2] = 0.0
                path = np.matmul(coef, basis)
                if len(q) == len(ev.phi) and (e == np.arange(len(e))).all():
                    path += mc.fut[:, :, s + 1 :]  # a view: no gather copy
                else:
                    path += mc.fut[e, :, s + 1 :]
                fmax = path.max(axis=2) + theta[..., 0].astype(np.float32)
                # Jeffreys estimate (c + ½)/(N + 1): never exactly 0 or 1 from finite N
                below = (fmax[..., None] < thr32[e][:, None, :]).sum(axis=1)
                frac = (below + 0.5) / (n + 1.0)
                mean_max[q] = fmax.astype(float).mean(axis=1)
            if s >= 0:
                frac = frac * np.exp(past[e, s])
            cdf[q] = frac
    return cdf, mean_max


def _past_log_cdf(ev: EventPaths, thresholds: np.ndarray) -> np.ndarray:
    """``log P(max_{j≤s}(T_j + G_j) < x)`` for every event, step ``s`` and threshold."""
    gap = thresholds[:, None, :] - ev.temp_f[:, :, None]  # (E, 288, J)
    g = ev.excursion_mean[:, None, None]
    with np.errstate(divide="ignore"):
        term = np.where(gap > 0, np.log1p(-np.exp(-np.maximum(gap, 1e-300) / g)), -np.inf)
    return np.cumsum(term, axis=1)


def bracket_pmf(cdf_at_edges: np.ndarray) -> np.ndarray:
    """Bracket probabilities from ``P(official ≤ e_k)`` at the ``K − 1`` interior edges."""
    n = cdf_at_edges.shape[0]
    c = np.concatenate([np.zeros((n, 1)), cdf_at_edges, np.ones((n, 1))], axis=1)
    return np.clip(np.diff(c, axis=1), 0.0, 1.0)
