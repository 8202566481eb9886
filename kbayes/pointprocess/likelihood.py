"""Log-likelihood, intensities and compensator of a Hawkes process on validated events.

Thin public wrappers over :mod:`kbayes.pointprocess.recursion`: they validate the events and
parameters, prepare the gap arrays, and run the jitted kernels. The log-likelihood of events
``(t_k, m_k)`` on ``[0, T]`` is (Ogata 1978)

    log L = sum_k log lambda_{m_k}(t_k) - sum_i int_0^T lambda_i(t) dt,

evaluated exactly in one O(N D^2) pass of the exponential recursion (Ozaki 1979).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jaxtyping import Float

from kbayes.pointprocess.baseline import BaselineGrid, constant_baseline
from kbayes.pointprocess.events import EventSequence, prepare
from kbayes.pointprocess.params import HawkesParams
from kbayes.pointprocess.recursion import (
    log_likelihood_kernel,
    scan_intensity,
    total_compensator,
)

_log_likelihood = jax.jit(log_likelihood_kernel)
_scan_intensity = jax.jit(scan_intensity)


def check_compatible(params: HawkesParams, events: EventSequence, grid: BaselineGrid) -> None:
    """Raise ValueError when the shapes of params, events and grid disagree."""
    d = params.num_dims
    if events.num_dims != d:
        raise ValueError(f"events have num_dims = {events.num_dims} but params have D = {d}")
    if params.mu.shape != (d, grid.num_bins):
        raise ValueError(
            f"params.mu has shape {tuple(params.mu.shape)}, expected ({d}, {grid.num_bins}) "
            "for this baseline grid"
        )


def log_likelihood(
    params: HawkesParams, events: EventSequence, grid: BaselineGrid | None = None
) -> float:
    """Exact log-likelihood of ``events`` on ``[0, T]`` (see module docstring)."""
    grid = constant_baseline() if grid is None else grid
    check_compatible(params, events, grid)
    return float(_log_likelihood(params, prepare(events, grid, pad=True)))


def compensator(
    params: HawkesParams, events: EventSequence, grid: BaselineGrid | None = None
) -> Float[np.ndarray, " D"]:
    """``Lambda_i(T) = int_0^T lambda_i(t) dt`` per dimension, in closed form."""
    grid = constant_baseline() if grid is None else grid
    check_compatible(params, events, grid)
    data = prepare(events, grid, pad=True)
    final, _ = _scan_intensity(params, data)
    return np.asarray(total_compensator(params, data, final))


def event_intensities(
    params: HawkesParams, events: EventSequence, grid: BaselineGrid | None = None
) -> Float[np.ndarray, "N D"]:
    """Left-limit intensity of every dimension at every event time, ``(N, D)``."""
    grid = constant_baseline() if grid is None else grid
    check_compatible(params, events, grid)
    _, lam = _scan_intensity(params, prepare(events, grid, pad=True))
    return np.asarray(lam)[: len(events.times)]


def intensity_at(
    params: HawkesParams,
    events: EventSequence,
    query_times: Any,
    grid: BaselineGrid | None = None,
) -> Float[np.ndarray, "Q D"]:
    """Intensity ``lambda(t)`` (events strictly before ``t`` count) at arbitrary times ``>= 0``.

    Query times need not be sorted or inside ``[0, T]``; rows come back in the given order.
    """
    grid = constant_baseline() if grid is None else grid
    check_compatible(params, events, grid)
    q = np.asarray(query_times, np.float64).ravel()
    if (k := np.flatnonzero(~np.isfinite(q) | (q < 0))).size:
        raise ValueError(f"query_times[{k[0]}] = {q[k[0]]} must be finite and >= 0")
    data = prepare(events, grid, query_times=q)
    _, lam = _scan_intensity(params, data)
    weight = np.asarray(data.weight)
    # zero-weight rows, in time order, are the queries in stable-sorted order
    order = np.argsort(q, kind="stable")
    out = np.empty((len(q), params.num_dims))
    out[order] = np.asarray(lam)[weight == 0]
    return out
