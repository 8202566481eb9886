"""Gaussian PMFs of the whole-°F high, summed over a ladder's brackets.

A continuous density ``f`` of the high is discretised to whole degrees by integrating it over
``[n - 1/2, n + 1/2]``: for a Normal, ``P(T = n) = Phi((n + 1/2 - mu) / s) - Phi((n - 1/2 - mu)
/ s)``. The climatology is a Gaussian kernel density (a mixture of such Normals, one per past
value; Silverman 1986, ch. 2), the forecast baseline a single Normal.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float
from scipy.special import ndtr

from kbayes.market.ladder import Ladder

PMF_FLOOR = 1e-12
"""Far-tail brackets can underflow to 0; this floor keeps the log loss finite before clipping."""


def floored(p: Float[np.ndarray, " K"]) -> Float[np.ndarray, " K"]:
    """``max(p, PMF_FLOOR)`` renormalised."""
    p = np.maximum(p, PMF_FLOOR)
    return p / p.sum()


def normal_pmf(ladder: Ladder, mu: float, sigma: float) -> Float[np.ndarray, " K"]:
    """Normal(mu, sigma) discretised to whole °F and summed over each bracket."""
    return floored(ladder.pmf_from_cdf(lambda x: ndtr((x + 0.5 - mu) / sigma)))


def kernel_mass(
    history: Float[np.ndarray, " N"], sigma: float
) -> tuple[Float[np.ndarray, " M"], Float[np.ndarray, " M"]]:
    """Whole-°F grid ``n`` and the kernel density's mass on each, ``(1/N) sum_i P(T_i = n)``.

    ``T_i ~ Normal(history_i, sigma)``; the grid reaches ``6 sigma + 2`` beyond the data, so
    the mass outside it is below ``1e-9``.
    """
    lo, hi = float(history.min()) - 6 * sigma - 2, float(history.max()) + 6 * sigma + 2
    grid = np.arange(np.floor(lo), np.ceil(hi) + 1)
    # Mass of each integer n: kernel integrated over [n - .5, n + .5].
    mass = (
        ndtr((grid[:, None] + 0.5 - history[None, :]) / sigma)
        - ndtr((grid[:, None] - 0.5 - history[None, :]) / sigma)
    ).sum(axis=1)
    mass /= mass.sum()
    return grid, mass


def climatology_pmf(
    ladder: Ladder, history: Float[np.ndarray, " N"], sigma: float
) -> Float[np.ndarray, " K"]:
    """Kernel-smoothed PMF of the whole-°F high from past values, summed over the ladder."""
    grid, mass = kernel_mass(history, sigma)
    cdf_vals = np.cumsum(mass)

    def cdf(x: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(grid, x, side="right") - 1
        return np.where(idx < 0, 0.0, cdf_vals[np.clip(idx, 0, len(grid) - 1)])

    return floored(ladder.pmf_from_cdf(cdf))
