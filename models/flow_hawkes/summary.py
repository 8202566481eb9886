"""Summaries of a fitted flow Hawkes model: roles of the branching matrix, rates, fit quality.

The branching matrix ``alpha`` (row = excited dimension, column = source) of the bracket flow
splits into roles (:func:`kbayes.pointprocess.bracket_structure`): *self* (``alpha_ii``),
*opposite* (other side, same bracket), *neighbour same side* and *neighbour other side*
(brackets ``k +- 1``). :func:`role_means` averages the entries of each role; :func:`role_sums`
gives, per source dimension, the expected direct offspring of one event in each role summed
over the excited dimensions (column sums restricted to the role), averaged over sources, so
self-excitation and neighbour cross-excitation are on the same "offspring per event" scale.

Goodness of fit pools the time-rescaled residuals (Brown et al. 2002) of every day per
dimension and tests them against Exp(1) by Kolmogorov-Smirnov; under the model the residuals
of different days are independent Exp(1) variables, so pooling is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float
from scipy import stats

from kbayes.pointprocess import (
    BaselineGrid,
    EventSequence,
    HawkesParams,
    day_length,
    scan_residuals,
    stack_days,
)
from models.flow_hawkes.dims import SIDES

_scan_residuals = jax.jit(scan_residuals)

ROLES = ("self", "opposite", "neighbour_same", "neighbour_other")


def role_matrix(num_brackets: int) -> np.ndarray:
    """``(D, D)`` role code of every entry: 0..3 as in :data:`ROLES`, -1 for other pairs."""
    d = SIDES * num_brackets
    b, s = np.divmod(np.arange(d), SIDES)
    same_b = b[:, None] == b[None, :]
    same_s = s[:, None] == s[None, :]
    near = np.abs(b[:, None] - b[None, :]) == 1
    role = np.full((d, d), -1, np.int64)
    role[same_b & same_s] = 0
    role[same_b & ~same_s] = 1
    role[near & same_s] = 2
    role[near & ~same_s] = 3
    return role


def role_means(alpha: Float[np.ndarray, "D D"], num_brackets: int) -> dict[str, float]:
    """Mean ``alpha`` entry of each role."""
    a = np.asarray(alpha, np.float64)
    role = role_matrix(num_brackets)
    return {name: float(a[role == r].mean()) for r, name in enumerate(ROLES)}


def role_sums(alpha: Float[np.ndarray, "D D"], num_brackets: int) -> dict[str, float]:
    """Mean over source dimensions of the direct offspring in each role (column sums)."""
    a = np.asarray(alpha, np.float64)
    role = role_matrix(num_brackets)
    return {
        name: float(np.where(role == r, a, 0.0).sum(axis=0).mean()) for r, name in enumerate(ROLES)
    }


def residuals_by_dim(
    params: HawkesParams, events: EventSequence, grid: BaselineGrid
) -> list[np.ndarray]:
    """Time-rescaled residuals per dimension (as
    :func:`kbayes.pointprocess.time_rescaled_residuals`), on data padded to
    :func:`~kbayes.pointprocess.pooled.day_length` so that days share compiled programs."""
    data = stack_days([events], [grid], length=day_length(len(events.times)))
    one = type(data)(*(x[0] for x in data))
    res = np.asarray(_scan_residuals(params, one)[0])[: len(events.times)]
    return [res[events.marks == i] for i in range(events.num_dims)]


def ks_by_dim(residuals: Sequence[np.ndarray], *, min_events: int = 5) -> dict[str, np.ndarray]:
    """KS test against Exp(1) of each dimension with at least ``min_events`` residuals."""
    dims = [i for i, r in enumerate(residuals) if len(r) >= min_events]
    tests = [stats.kstest(residuals[i], "expon") for i in dims]
    return {
        "dim": np.asarray(dims, np.int64),
        "n": np.asarray([len(residuals[i]) for i in dims], np.int64),
        "statistic": np.asarray([t.statistic for t in tests], np.float64),
        "pvalue": np.asarray([t.pvalue for t in tests], np.float64),
        "mean_residual": np.asarray([residuals[i].mean() for i in dims], np.float64),
    }


def day_params(params: HawkesParams, day_scale: Any, day: int) -> HawkesParams:
    """Parameters of day ``day`` under per-day baseline factors (``c_eib mu_ib``)."""
    if day_scale is None:
        return params
    c = np.asarray(day_scale, np.float64)[day]  # (D, B), or (D,) for a factor per dimension
    c = c[:, None] if c.ndim == 1 else c
    return params._replace(mu=jnp.asarray(np.asarray(params.mu, np.float64) * c))


def pooled_ks(
    params: HawkesParams,
    days: Sequence[EventSequence],
    grids: Sequence[BaselineGrid],
    *,
    day_scale: Any = None,
    min_events: int = 5,
) -> dict[str, np.ndarray]:
    """KS test per dimension of the residuals pooled over days.

    Args:
        params: the pooled fit's parameters.
        days: the event-days.
        grids: their baseline grids.
        day_scale: ``(E, D, B)`` per-day baseline factors of a fit with day factors
            (:class:`~kbayes.pointprocess.pooled.PooledHawkesFit`), or None (a shared baseline).
        min_events: dimensions with fewer residuals are not tested.

    Returns:
        Columns ``dim``, ``n``, ``statistic``, ``pvalue``, ``mean_residual`` for dimensions
        with at least ``min_events`` residuals.
    """
    num_dims = params.num_dims
    pooled: list[list[np.ndarray]] = [[] for _ in range(num_dims)]
    for k, (ev, grid) in enumerate(zip(days, grids, strict=True)):
        for i, r in enumerate(residuals_by_dim(day_params(params, day_scale, k), ev, grid)):
            pooled[i].append(r)
    return ks_by_dim([np.concatenate(p) for p in pooled], min_events=min_events)


def poisson_log_likelihood(days: Sequence[EventSequence], grids: Sequence[BaselineGrid]) -> float:
    """Maximised log-likelihood of the inhomogeneous Poisson model (``alpha = 0``, same bins).

    ``mu_ib = N_ib / E_b`` (events of ``i`` in bin ``b`` over exposure of ``b``, all days), so
    ``log L = sum_ib N_ib log mu_ib - N``: the reference for the Hawkes likelihood-ratio.
    """
    from kbayes.pointprocess.baseline import bin_index_np, exposure_np

    num_bins = grids[0].num_bins
    n_ib = np.zeros((days[0].num_dims, num_bins))
    expo = np.zeros(num_bins)
    for ev, grid in zip(days, grids, strict=True):
        np.add.at(n_ib, (ev.marks, bin_index_np(grid, ev.times)), 1.0)
        expo += exposure_np(grid, 0.0, ev.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(n_ib > 0, n_ib / expo[None, :], 1.0)
    return float(np.sum(n_ib * np.log(mu)) - n_ib.sum())
