"""Simulation of a multivariate Hawkes process by Ogata's thinning (Ogata 1981).

Between events the excitation part of every intensity decays, and the baseline is bounded by
its largest bin, so ``lambda_bar = sum_i (max_b mu_ib + sum_j alpha_ij beta_ij S_ij(s))``
bounds the total intensity on ``(s, next event]``. Propose ``s' = s + Exp(lambda_bar)``,
accept with probability ``sum_i lambda_i(s') / lambda_bar``, pick the dimension with
probability ``lambda_i(s') / sum_i lambda_i(s')``, and on acceptance add the event; on
rejection the bound is recomputed at ``s'`` (it only shrinks). numpy float64, seeded by an
explicit ``numpy.random.Generator`` (or an integer seed).
"""

from __future__ import annotations

import numpy as np

from kbayes.pointprocess.baseline import BaselineGrid, bin_index_np, constant_baseline
from kbayes.pointprocess.events import EventSequence
from kbayes.pointprocess.params import HawkesParams, check_stationarity


def simulate(
    params: HawkesParams,
    T: float,
    rng: np.random.Generator | int,
    grid: BaselineGrid | None = None,
    *,
    max_events: int = 5_000_000,
) -> EventSequence:
    """Draw one path on ``[0, T]``.

    Args:
        params: Hawkes parameters (a non-stationary ``alpha`` warns and may hit ``max_events``).
        T: window length.
        rng: a numpy Generator, or an integer seed for one.
        grid: baseline grid matching ``params.mu`` (constant when None).
        max_events: stop with RuntimeError beyond this many events.

    Returns:
        The simulated :class:`EventSequence`.
    """
    grid = constant_baseline() if grid is None else grid
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T = {T} must be positive and finite")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    mu = np.asarray(params.mu, np.float64)
    alpha = np.asarray(params.alpha, np.float64)
    beta = np.asarray(params.beta, np.float64)
    d = alpha.shape[0]
    if mu.shape != (d, grid.num_bins):
        raise ValueError(f"params.mu shape {mu.shape} != ({d}, {grid.num_bins}) for this grid")
    check_stationarity(params, stacklevel=2)
    ab = alpha * beta
    mu_max = mu.max(axis=1).sum()
    times: list[float] = []
    marks: list[int] = []
    decayed = np.zeros((d, d))  # S_ij at time s, including events at s
    s = 0.0
    while True:
        bound = mu_max + float(np.sum(ab * decayed))
        if bound <= 0.0:
            break
        s_new = s + gen.exponential(1.0 / bound)
        if s_new > T:
            break
        decayed *= np.exp(-beta * (s_new - s))
        s = s_new
        lam = mu[:, bin_index_np(grid, s)] + np.sum(ab * decayed, axis=1)
        u = gen.uniform(0.0, bound)
        total = lam.sum()
        if u < total:
            dim = int(np.searchsorted(np.cumsum(lam), u, side="right"))
            dim = min(dim, d - 1)
            times.append(s)
            marks.append(dim)
            decayed[:, dim] += 1.0
            if len(times) > max_events:
                raise RuntimeError(
                    f"simulation passed max_events = {max_events} at t = {s:.6g} of T = {T}"
                )
    return EventSequence(
        times=np.asarray(times, np.float64),
        marks=np.asarray(marks, np.int64),
        T=float(T),
        num_dims=d,
    )
