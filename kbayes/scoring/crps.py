"""Continuous ranked probability score of a Tmax forecast (lower is better; units of the outcome).

    CRPS(F, y) = integral (F(x) - 1[x >= y])^2 dx = E|X - y| - 1/2 E|X - X'|,

with ``X, X'`` independent draws from ``F`` (Matheson & Winkler 1976; Gneiting & Raftery 2007,
"Strictly proper scoring rules, prediction, and estimation", JASA, eq. 21). Three forecasts:

* samples ``x_1..x_S`` (an ensemble or posterior draws), the energy form over the empirical
  distribution, in O(S log S) through the order statistics ``x_(1) <= ... <= x_(S)``:
  ``E|X - X'| = 2 / S^2 * sum_i (2 i - S - 1) x_(i)``. ``fair=True`` divides the spread term by
  ``S (S - 1)`` instead of ``S^2`` (Ferro 2014), an unbiased estimate of the CRPS of the
  distribution the samples were drawn from;
* a Normal ``N(mu, sigma^2)``, closed form (Gneiting, Raftery, Westveld & Goldman 2005):
  ``sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)]``, ``z = (y - mu) / sigma``;
* a PMF over consecutive integer degrees F ``lo, lo + 1, ..., lo + M - 1`` and an integer
  outcome, for which the integral is the sum over unit steps
  ``sum_k (F(k) - 1[k >= y])^2`` plus the steps outside the support. On a ladder of 1 °F
  brackets it equals :func:`kbayes.scoring.rps`.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float, Int
from scipy.special import ndtr

from kbayes.scoring.inputs import check_real
from kbayes.scoring.pmf import ScoreInputError, check_pmf


def crps_samples(
    samples: Float[np.ndarray, "*batch S"],
    y: Float[np.ndarray, "*batch"] | float,
    *,
    fair: bool = False,
) -> Float[np.ndarray, "*batch"]:
    """CRPS of the empirical distribution of ``samples`` (last axis) at the outcome ``y``.

    Args:
        samples: ``(..., S)`` draws, ``S >= 1`` (``S >= 2`` when ``fair``).
        y: outcomes, broadcastable to ``samples.shape[:-1]``.
        fair: use the unbiased ``S (S - 1)`` spread normalisation.

    Returns:
        One CRPS per batch element.
    """
    x = np.sort(check_real(samples, "samples"), axis=-1)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ScoreInputError(f"samples must have a non-empty last axis, got shape {x.shape}")
    s = x.shape[-1]
    if fair and s < 2:
        raise ScoreInputError("fair CRPS needs at least 2 samples")
    yy = np.broadcast_to(check_real(y, "y"), x.shape[:-1])
    abs_err = np.mean(np.abs(x - yy[..., None]), axis=-1)
    coef = 2.0 * np.arange(1, s + 1) - s - 1.0
    half_spread = np.sum(coef * x, axis=-1) / (s * (s - 1) if fair else s * s)
    return abs_err - half_spread


def crps_normal(
    mu: Float[np.ndarray, "*batch"] | float,
    sigma: Float[np.ndarray, "*batch"] | float,
    y: Float[np.ndarray, "*batch"] | float,
) -> Float[np.ndarray, "*batch"]:
    """Closed-form CRPS of ``N(mu, sigma^2)`` at ``y`` (arrays broadcast; ``sigma > 0``)."""
    m = check_real(mu, "mu")
    sd = check_real(sigma, "sigma")
    if (sd <= 0).any():
        bad = np.argwhere(np.atleast_1d(sd) <= 0)[0]
        raise ScoreInputError(f"sigma[{', '.join(map(str, bad))}] is not positive")
    z = (check_real(y, "y") - m) / sd
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return sd * (z * (2.0 * ndtr(z) - 1.0) + 2.0 * pdf - 1.0 / np.sqrt(np.pi))


def crps_pmf(
    probs: Float[np.ndarray, "N M"],
    y: Int[np.ndarray, " N"],
    lo: Int[np.ndarray, " N"] | int,
) -> Float[np.ndarray, " N"]:
    """CRPS of PMFs over integer °F ``lo..lo+M-1`` at integer outcomes ``y`` (in °F).

    Args:
        probs: ``(N, M)`` PMFs; column ``k`` is the probability of ``lo + k`` °F.
        y: realised integer temperatures (may lie outside the support).
        lo: temperature of column 0, one for all rows or one per row.

    Returns:
        ``(N,)`` CRPS in °F.
    """
    P = check_real(probs, "probs", 2)
    check_pmf(P)
    yy = check_real(y, "y", 1)
    if yy.shape != (P.shape[0],):
        raise ScoreInputError(f"y has shape {yy.shape}, expected ({P.shape[0]},)")
    lo_a = np.broadcast_to(check_real(lo, "lo"), yy.shape)
    for name, v in (("y", yy), ("lo", lo_a)):
        frac = v != np.round(v)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise ScoreInputError(f"{name}[{i}] = {v[i]} is not an integer °F")
    m = P.shape[1]
    cdf = np.cumsum(P, axis=1)
    grid = lo_a[:, None] + np.arange(m)[None, :]
    inside = np.sum((cdf - (grid >= yy[:, None])) ** 2, axis=1)
    below = np.maximum(lo_a - yy, 0.0)  # F = 0 but 1[x >= y] = 1 on [y, lo)
    above = np.maximum(yy - (lo_a + m), 0.0)  # F = 1 but 1[x >= y] = 0 on [lo + M, y)
    return inside + below + above
