"""Brute-force O(N^2) references in plain Python/numpy float64, independent of the kernels."""

from __future__ import annotations

import itertools
import math

import numpy as np

from kbayes.pointprocess import BaselineGrid


def brute_bin(grid: BaselineGrid | None, t: float) -> int:
    """Baseline bin of ``t`` by a linear search over the edges."""
    if grid is None:
        return 0
    edges = [float(e) for e in grid.edges]
    phase = math.fmod(t + grid.offset, edges[-1])
    b = 0
    for k in range(len(edges) - 1):
        if edges[k] <= phase:
            b = k
    return b


def brute_baseline_integral(mu: np.ndarray, grid: BaselineGrid | None, T: float) -> np.ndarray:
    """``int_0^T mu_i(t) dt`` by walking every bin boundary in ``[0, T]``."""
    if grid is None:
        return mu[:, 0] * T
    period = float(grid.edges[-1])
    cuts = {0.0, T}
    for k in range(int(T // period) + 2):
        for e in grid.edges:
            c = k * period + float(e) - grid.offset
            if 0.0 < c < T:
                cuts.add(c)
    pts = sorted(cuts)
    total = np.zeros(mu.shape[0])
    for a, b in itertools.pairwise(pts):
        total += mu[:, brute_bin(grid, 0.5 * (a + b))] * (b - a)
    return total


def brute_intensity(
    mu: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    times: np.ndarray,
    marks: np.ndarray,
    t: float,
    grid: BaselineGrid | None = None,
) -> np.ndarray:
    """``lambda(t)`` summing over every event strictly before ``t``."""
    d = alpha.shape[0]
    lam = np.array([mu[i, brute_bin(grid, t)] for i in range(d)], dtype=np.float64)
    for tl, ml in zip(times, marks, strict=True):
        if tl < t:
            for i in range(d):
                lam[i] += alpha[i, ml] * beta[i, ml] * math.exp(-beta[i, ml] * (t - tl))
    return lam


def brute_log_likelihood(
    mu: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    times: np.ndarray,
    marks: np.ndarray,
    T: float,
    grid: BaselineGrid | None = None,
) -> float:
    """Explicit double sum over all pairs ``(k, h)`` with ``t_h < t_k``; closed-form compensator."""
    n = len(times)
    d = alpha.shape[0]
    loglik = 0.0
    for k in range(n):
        i = int(marks[k])
        lam = float(mu[i, brute_bin(grid, float(times[k]))])
        for h in range(n):
            if times[h] < times[k]:
                j = int(marks[h])
                lam += alpha[i, j] * beta[i, j] * math.exp(-beta[i, j] * (times[k] - times[h]))
        loglik += math.log(lam)
    comp = float(brute_baseline_integral(mu, grid, T).sum())
    for i in range(d):
        for h in range(n):
            j = int(marks[h])
            comp += alpha[i, j] * (1.0 - math.exp(-beta[i, j] * (T - times[h])))
    return loglik - comp
