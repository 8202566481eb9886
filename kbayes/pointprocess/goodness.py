"""Goodness of fit by the time-rescaling theorem (Brown et al. 2002).

If the model is correct, the compensator increments between consecutive events of one
dimension, ``tau_k = Lambda_i(t_k^i) - Lambda_i(t_{k-1}^i)`` (with ``t_0^i = 0``), are i.i.d.
Exp(1). Each dimension is tested with a one-sample Kolmogorov-Smirnov test against Exp(1)
(``scipy.stats.kstest``); the table also reports the mean residual (1 under the model) and the
uniformised residuals ``1 - exp(-tau)`` for Q-Q plots.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jaxtyping import Float
from scipy import stats

from kbayes.pointprocess.baseline import BaselineGrid, constant_baseline
from kbayes.pointprocess.events import EventSequence, prepare
from kbayes.pointprocess.likelihood import check_compatible
from kbayes.pointprocess.params import HawkesParams
from kbayes.pointprocess.recursion import scan_residuals

_scan_residuals = jax.jit(scan_residuals)


def time_rescaled_residuals(
    params: HawkesParams, events: EventSequence, grid: BaselineGrid | None = None
) -> list[Float[np.ndarray, " Ni"]]:
    """Per dimension, the compensator increments between its consecutive events.

    The first residual of a dimension runs from 0 to its first event; the open interval from
    its last event to ``T`` is not included. An empty dimension gives an empty array.
    """
    grid = constant_baseline() if grid is None else grid
    check_compatible(params, events, grid)
    residuals, _ = _scan_residuals(params, prepare(events, grid, pad=True))
    res = np.asarray(residuals)[: len(events.times)]
    return [res[events.marks == i] for i in range(events.num_dims)]


def ks_table(
    params: HawkesParams,
    events: EventSequence,
    grid: BaselineGrid | None = None,
    *,
    dims: Any = None,
) -> dict[str, np.ndarray]:
    """KS test of each dimension's time-rescaled residuals against Exp(1).

    Args:
        params: fitted parameters.
        events: the events (usually those the model was fitted to, or held out).
        grid: baseline grid.
        dims: dimensions to test (all by default).

    Returns:
        Columns ``dim``, ``n``, ``statistic``, ``pvalue``, ``mean_residual`` (one row per
        tested dimension; pass to ``pandas.DataFrame`` for a table).

    Raises:
        ValueError: when a tested dimension has no events (names the first such dimension;
            exclude it with ``dims``).
    """
    res = time_rescaled_residuals(params, events, grid)
    chosen = list(range(events.num_dims)) if dims is None else [int(i) for i in dims]
    for i in chosen:
        if not 0 <= i < events.num_dims:
            raise ValueError(f"dims: {i} is outside 0..{events.num_dims - 1}")
        if len(res[i]) == 0:
            raise ValueError(
                f"marks: dimension {i} has no events, so it has no residuals to test; "
                "leave it out with dims=..."
            )
    rows = [stats.kstest(res[i], "expon") for i in chosen]
    return {
        "dim": np.asarray(chosen, np.int64),
        "n": np.asarray([len(res[i]) for i in chosen], np.int64),
        "statistic": np.asarray([r.statistic for r in rows], np.float64),
        "pvalue": np.asarray([r.pvalue for r in rows], np.float64),
        "mean_residual": np.asarray([res[i].mean() for i in chosen], np.float64),
    }


def uniform_residuals(residuals: Float[np.ndarray, " N"]) -> Float[np.ndarray, " N"]:
    """``1 - exp(-tau)``: Uniform(0, 1) under the model (for Q-Q and KS plots)."""
    return -np.expm1(-np.asarray(residuals, np.float64))
