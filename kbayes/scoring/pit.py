"""Probability integral transform (PIT) values and their histogram.

For a continuous predictive CDF ``F`` and outcome ``y``, ``u = F(y)`` is uniform on [0, 1]
when the forecast is calibrated (Dawid 1984); a U-shaped PIT histogram means over-confident
(too narrow), a hump under-confident, a slope bias. For a discrete forecast (a bracket PMF, an
integer-°F PMF, or a finite sample with ties) ``F`` jumps at ``y`` and the randomised PIT

    u = F(y-) + V (F(y) - F(y-)),    V ~ Uniform(0, 1) independent,

restores exact uniformity under calibration (Brockwell 2007; Czado, Gneiting & Held 2009).
Functions taking ``rng`` accept a ``numpy.random.Generator`` or a seed; ``None`` draws fresh
entropy, so pass a seed for reproducible output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import Float, Int
from scipy.special import ndtr

from kbayes.scoring.inputs import check_real, pmf_groups
from kbayes.scoring.pmf import ScoreInputError

Rng = np.random.Generator | int | None


def pit_normal(
    mu: Float[np.ndarray, "*batch"] | float,
    sigma: Float[np.ndarray, "*batch"] | float,
    y: Float[np.ndarray, "*batch"] | float,
) -> Float[np.ndarray, "*batch"]:
    """``Phi((y - mu) / sigma)`` for a Normal predictive (``sigma > 0``)."""
    sd = check_real(sigma, "sigma")
    if (sd <= 0).any():
        raise ScoreInputError("sigma must be positive")
    return ndtr((check_real(y, "y") - check_real(mu, "mu")) / sd)


def pit_samples(
    samples: Float[np.ndarray, "N S"], y: Float[np.ndarray, " N"], rng: Rng = None
) -> Float[np.ndarray, " N"]:
    """Randomised PIT of ``y`` against an ensemble / sample (rows of ``samples``).

    ``u = (#{x < y} + V (#{x = y} + 1)) / (S + 1)``: the rank of ``y`` among the ``S`` members
    with ties broken at random, spread uniformly over its rank cell (Anderson 1996 and Hamill
    2001 rank histograms, randomised as in Czado et al. 2009). It is exactly Uniform(0, 1) when
    ``y`` and the members are exchangeable, for any ``S``, and tends to ``F_S(y)`` as ``S``
    grows.
    """
    x = check_real(samples, "samples", 2)
    yy = check_real(y, "y", 1)
    if yy.shape != (x.shape[0],):
        raise ScoreInputError(f"y has shape {yy.shape}, expected ({x.shape[0]},)")
    below = np.sum(x < yy[:, None], axis=1)
    equal = np.sum(x == yy[:, None], axis=1)
    v = np.random.default_rng(rng).random(len(yy))
    return (below + v * (equal + 1)) / (x.shape[1] + 1)


def pit_pmf(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
    outcome: Int[np.ndarray, " N"],
    rng: Rng = None,
) -> Float[np.ndarray, " N"]:
    """Randomised PIT of ordered-bracket PMFs: ``u = P(X < y) + V P(X = y)``.

    Args:
        probs: ``(N, K)`` PMFs over ordered brackets (coldest first), or a list of PMFs.
        outcome: realised bracket index per row.
        rng: generator or seed for ``V``.
    """
    n = len(np.asarray(outcome))
    v = np.random.default_rng(rng).random(n)
    u = np.empty(n)
    for idx, P, y in pmf_groups(probs, outcome):
        rows = np.arange(len(P))
        below = np.cumsum(P, axis=1)[rows, y] - P[rows, y]
        u[idx] = below + v[idx] * P[rows, y]
    return np.clip(u, 0.0, 1.0)


def pit_histogram(
    u: Float[np.ndarray, " N"], n_bins: int = 10
) -> tuple[Int[np.ndarray, " B"], Float[np.ndarray, " B+1"]]:
    """``(counts, edges)`` of PIT values over ``n_bins`` equal-width bins of [0, 1]."""
    ua = check_real(u, "u", 1)
    out = (ua < 0) | (ua > 1)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise ScoreInputError(f"u[{i}] = {ua[i]} is outside [0, 1]")
    if n_bins < 1:
        raise ScoreInputError(f"n_bins = {n_bins} must be at least 1")
    counts, edges = np.histogram(ua, bins=n_bins, range=(0.0, 1.0))
    return counts, edges
