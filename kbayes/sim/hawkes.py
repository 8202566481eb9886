"""Self-exciting (Hawkes) arrival times with an exponential kernel, in numpy.

Intensity (DESIGN 3.3 convention: ``α`` is the branching ratio, ``β`` the decay rate)::

    λ(t) = μ(t) + Σ_{t_k < t} α β exp(−β (t − t_k)),     0 ≤ α < 1.

Two exact samplers:

* :func:`simulate_hawkes` — the cluster (branching) representation (Hawkes & Oakes 1974):
  immigrants form an inhomogeneous Poisson process of rate ``μ(t)`` (piecewise constant here),
  and every event, immigrant or not, has ``Poisson(α)`` children at i.i.d. ``Exp(β)`` delays.
  Vectorised generation by generation; it also returns each event's parent, which the market
  simulator uses to let children inherit the parent's market and side.
* :func:`ogata_thinning` — Ogata's (1981) modified thinning for a constant baseline, the
  reference the cluster sampler is tested against.

Over a window of length ``L`` with constant ``μ`` the expected count is ``≈ μ L / (1 − α)``
and counts in bins are over-dispersed (variance/mean > 1) because events cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HawkesSample:
    """Event times of one realisation, sorted.

    Attributes:
        times: event times, increasing, ``(n,)``.
        parent: index (into ``times``) of each event's parent, ``-1`` for immigrants.
        generation: 0 for immigrants, ``g + 1`` for a child of generation ``g``.
    """

    times: np.ndarray
    parent: np.ndarray
    generation: np.ndarray

    def __len__(self) -> int:
        return len(self.times)


def simulate_hawkes(
    rng: np.random.Generator,
    edges: np.ndarray,
    base_rate: np.ndarray,
    alpha: float,
    beta: float,
    max_events: int = 10_000_000,
) -> HawkesSample:
    """Cluster-method sample on ``[edges[0], edges[-1])`` with piecewise-constant ``μ``.

    Args:
        rng: the generator to draw from.
        edges: bin edges of the baseline, increasing, ``(B + 1,)``.
        base_rate: baseline rate ``μ`` in each bin (events per time unit), ``(B,)``.
        alpha: branching ratio (expected children per event), ``0 ≤ α < 1``.
        beta: kernel decay rate (1 / time unit).
        max_events: safety cap on the total number of events.

    Raises:
        ValueError: for ``α`` outside ``[0, 1)``, a non-positive ``β`` or a negative rate.
    """
    edges = np.asarray(edges, dtype=float)
    base_rate = np.asarray(base_rate, dtype=float)
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha={alpha}: the branching ratio must be in [0, 1) (stationarity)")
    if beta <= 0:
        raise ValueError(f"beta={beta}: the decay rate must be positive")
    if (base_rate < 0).any() or len(edges) != len(base_rate) + 1:
        raise ValueError("base_rate must be non-negative with len(edges) == len(base_rate) + 1")
    t_end = edges[-1]
    counts = rng.poisson(base_rate * np.diff(edges))
    lo = np.repeat(edges[:-1], counts)
    width = np.repeat(np.diff(edges), counts)
    gen_times = [lo + width * rng.random(len(lo))]
    gen_parent = [np.full(len(lo), -1, dtype=np.int64)]
    offset = 0
    while len(gen_times[-1]) and offset + len(gen_times[-1]) < max_events:
        parents = gen_times[-1]
        n_child = rng.poisson(alpha, len(parents))
        idx = np.repeat(np.arange(len(parents)), n_child)
        child = parents[idx] + rng.exponential(1.0 / beta, len(idx))
        keep = child < t_end
        gen_times.append(child[keep])
        gen_parent.append(offset + idx[keep])
        offset += len(parents)
    times = np.concatenate(gen_times)
    parent = np.concatenate(gen_parent)
    generation = np.concatenate([np.full(len(t), g) for g, t in enumerate(gen_times)])
    order = np.argsort(times, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    parent_sorted = np.where(parent[order] >= 0, rank[np.maximum(parent[order], 0)], -1)
    return HawkesSample(times[order], parent_sorted, generation[order])


def ogata_thinning(
    rng: np.random.Generator, mu: float, alpha: float, beta: float, t_end: float
) -> np.ndarray:
    """Ogata thinning sample of a constant-baseline Hawkes process on ``[0, t_end)``.

    Between events the intensity only decays, so its value just after the current time is an
    upper bound until the next candidate; the excitation is tracked by the exact recursion
    ``S(t + Δ) = S(t) e^{−βΔ}`` (+ ``αβ`` at each event).
    """
    t, excite, out = 0.0, 0.0, []
    while True:
        bound = mu + excite
        step = rng.exponential(1.0 / bound)
        t += step
        if t >= t_end:
            return np.array(out)
        excite *= np.exp(-beta * step)
        if rng.random() * bound <= mu + excite:
            out.append(t)
            excite += alpha * beta


def intensity(
    times: np.ndarray, at: np.ndarray, mu: float | np.ndarray, alpha: float, beta: float
) -> np.ndarray:
    """``λ(t)`` at times ``at`` given past events ``times`` (left-continuous)."""
    times = np.asarray(times, dtype=float)
    at = np.asarray(at, dtype=float)
    lag = at[:, None] - times[None, :]
    kern = np.where(lag > 0, alpha * beta * np.exp(-beta * np.maximum(lag, 0.0)), 0.0)
    return mu + kern.sum(axis=1)
