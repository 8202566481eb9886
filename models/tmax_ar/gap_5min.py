"""The gap between the 5-minute maximum and the official (CLI) high, and the map to whole °F.

The NCEI 5-minute file samples the 1-minute data, so the official maximum ``H`` (whole °F,
from the continuous record) can exceed the largest 5-minute report ``M`` (°C, tenths)
(PROVENANCE 1b: on 20 of 140 KNYC days, never the other way). With a non-negative gap ``g``
(°C) the official high is

``H = round_half_up((M + g) * 9/5 + 32)``,

``g = 0`` with probability ``p0``, else ``g ~ Exponential(mean beta)`` (a hurdle model).
``(p0, beta)`` are fitted by maximum likelihood on training days whose 5-minute record is
(nearly) complete, where ``P(H | M) = P(g in [L, U))`` with
``L = (H - 32.5) / 1.8 - M``, ``U = (H - 31.5) / 1.8 - M``.

For ``g = 0`` the rounding is done in exact integer arithmetic on the tenths value
(``floor((18 m + 3250) / 100)`` for ``M = m / 10``), which equals
:func:`kbayes.market.fahrenheit.c_to_f_whole` on every tenths value; for ``g > 0`` the value is
continuous and ties have probability zero.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jaxtyping import Float, Int


class GapModel(NamedTuple):
    """Hurdle model of the 5-minute-max to official-high gap (°C).

    Attributes:
        p_zero: probability of no gap.
        mean_c: mean of the positive part (°C).
        n_days: training days used.
        n_inconsistent: days skipped because the official high was below the 5-minute max.
    """

    p_zero: float
    mean_c: float
    n_days: int
    n_inconsistent: int


DEFAULT_GAP = GapModel(0.85, 0.4, 0, 0)


def to_official_f(
    m5_c: Float[np.ndarray, "*batch"], gap_c: Float[np.ndarray, "*batch"]
) -> Int[np.ndarray, "*batch"]:
    """Whole-°F official high from a 5-minute maximum (tenths °C) plus a gap (°C)."""
    m10 = np.rint(np.asarray(m5_c, dtype=np.float64) * 10.0).astype(np.int64)
    g = np.asarray(gap_c, dtype=np.float64)
    exact = np.floor_divide(18 * m10 + 3250, 100)
    cont = np.floor((m10 / 10.0 + g) * 1.8 + 32.5).astype(np.int64)
    return np.where(g > 0, np.maximum(cont, exact), exact)


def sample_gap(rng: np.random.Generator, gap: GapModel, n: int) -> Float[np.ndarray, " n"]:
    """``n`` draws of the gap (°C)."""
    pos = rng.exponential(gap.mean_c, n)
    return np.where(rng.random(n) < gap.p_zero, 0.0, pos)


def _exp_cdf(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0 - np.exp(-np.maximum(x, 0.0) / mean), 0.0)


def fit_gap(m5_c: Float[np.ndarray, " N"], official_f: Int[np.ndarray, " N"]) -> GapModel:
    """Maximum-likelihood ``(p0, beta)`` on a grid, from complete training days.

    Args:
        m5_c: 5-minute maximum per day (tenths °C).
        official_f: official high per day (whole °F).

    Returns:
        :class:`GapModel`; :data:`DEFAULT_GAP` (with counts) when fewer than 5 usable days.
    """
    m = np.asarray(m5_c, dtype=float)
    h = np.asarray(official_f, dtype=float)
    ok = np.isfinite(m) & np.isfinite(h)
    m, h = m[ok], h[ok]
    base = to_official_f(m, np.zeros_like(m))
    bad = h < base
    m, h = m[~bad], h[~bad]
    if len(m) < 5:
        return DEFAULT_GAP._replace(n_days=len(m), n_inconsistent=int(bad.sum()))
    lo = (h - 32.5) / 1.8 - m
    hi = (h - 31.5) / 1.8 - m
    zero_ok = (h == to_official_f(m, np.zeros_like(m))).astype(float)
    p0 = np.linspace(0.01, 0.99, 99)[:, None, None]
    beta = np.geomspace(0.02, 5.0, 120)[None, :, None]
    cont = _exp_cdf(hi[None, None, :], beta) - _exp_cdf(lo[None, None, :], beta)
    lik = p0 * zero_ok[None, None, :] + (1.0 - p0) * cont
    ll = np.log(np.maximum(lik, 1e-300)).sum(axis=2)
    i, j = np.unravel_index(int(np.argmax(ll)), ll.shape)
    return GapModel(float(p0[i, 0, 0]), float(beta[0, j, 0]), len(m), int(bad.sum()))
