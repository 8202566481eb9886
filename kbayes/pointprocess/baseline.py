"""Piecewise-constant periodic baselines (hour-of-day profiles) for point processes.

A baseline grid splits a period ``P`` (a day, in the caller's time unit) into ``B`` bins with
edges ``0 = e_0 < e_1 < ... < e_B = P``. The phase of time ``t`` is ``(t + offset) mod P``, so
``offset`` is the phase of the window start ``t = 0``. A baseline ``mu`` of shape ``(D, B)``
gives ``mu_i(t) = mu[i, b(t)]`` with ``b(t)`` the bin holding the phase of ``t`` (bins are
closed on the left). The constant baseline is the one-bin grid.

The integral of the baseline is exact: with ``w_b = e_{b+1} - e_b`` and
``F_b(x) = floor(x / P) w_b + clip(x mod P - e_b, 0, w_b)`` the time spent in bin ``b`` over
``[0, t]`` is ``E_b(t) = F_b(t + offset) - F_b(offset)`` and ``int_0^t mu_i = sum_b mu_ib E_b(t)``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array
from jaxtyping import Float, Int

SECONDS_PER_HOUR = 3600.0


class BaselineGrid(NamedTuple):
    """Bin edges over one period and the phase of ``t = 0``.

    Attributes:
        edges: ``(B + 1,)`` ascending, ``edges[0] == 0``, ``edges[-1]`` is the period.
        offset: phase of the window start, in ``[0, period)``.
    """

    edges: Float[np.ndarray, " Bp1"]
    offset: float

    @property
    def num_bins(self) -> int:
        """Number of baseline bins ``B``."""
        return len(self.edges) - 1

    @property
    def period(self) -> float:
        """Length of one period in the caller's time unit."""
        return float(self.edges[-1])


def constant_baseline() -> BaselineGrid:
    """The one-bin grid: ``mu_i(t) = mu_i``."""
    return BaselineGrid(edges=np.array([0.0, 1.0]), offset=0.0)


def hour_of_day_baseline(
    hour_edges: Any = (0, 6, 12, 18, 24),
    *,
    start_hour: float = 0.0,
    seconds_per_unit: float = 1.0,
) -> BaselineGrid:
    """A grid of hour-of-day bins.

    Args:
        hour_edges: clock hours, strictly ascending, from 0 to 24 (e.g. ``range(25)`` for hourly).
        start_hour: local clock hour (fractional) at the window start ``t = 0``.
        seconds_per_unit: seconds per unit of the event times (1 for seconds, 3600 for hours).

    Raises:
        ValueError: naming the argument and the first bad index.
    """
    h = np.asarray(hour_edges, dtype=np.float64)
    if h.ndim != 1 or len(h) < 2:
        raise ValueError(f"hour_edges must be 1-D with at least 2 entries, got shape {h.shape}")
    bad = np.flatnonzero(~np.isfinite(h))
    if len(bad):
        raise ValueError(f"hour_edges[{bad[0]}] = {h[bad[0]]} is not finite")
    if h[0] != 0.0 or h[-1] != 24.0:
        raise ValueError(f"hour_edges must run from 0 to 24, got {h[0]} .. {h[-1]}")
    steps = np.flatnonzero(np.diff(h) <= 0)
    if len(steps):
        k = int(steps[0]) + 1
        raise ValueError(f"hour_edges not strictly ascending at index {k}: {h[k]} <= {h[k - 1]}")
    if not np.isfinite(start_hour):
        raise ValueError(f"start_hour = {start_hour} is not finite")
    if not (np.isfinite(seconds_per_unit) and seconds_per_unit > 0):
        raise ValueError(f"seconds_per_unit = {seconds_per_unit} must be positive and finite")
    scale = SECONDS_PER_HOUR / seconds_per_unit
    return BaselineGrid(edges=h * scale, offset=float((start_hour % 24.0) * scale))


def _phase(t: Any, grid: BaselineGrid, xp: ModuleType) -> Any:
    period = grid.edges[-1]
    return xp.mod(t + grid.offset, period)


def bin_index(grid: BaselineGrid, t: Float[Array, "*T"]) -> Int[Array, "*T"]:
    """Baseline bin of each time (JAX, traceable)."""
    edges = jnp.asarray(grid.edges)
    b = jnp.searchsorted(edges, _phase(jnp.asarray(t), grid, jnp), side="right") - 1
    return jnp.clip(b, 0, grid.num_bins - 1)


def bin_index_np(grid: BaselineGrid, t: Float[np.ndarray, "*T"]) -> Int[np.ndarray, "*T"]:
    """Baseline bin of each time (numpy float64)."""
    b = np.searchsorted(grid.edges, _phase(np.asarray(t, np.float64), grid, np), side="right") - 1
    return np.clip(b, 0, grid.num_bins - 1)


def _cumulative(x: Any, grid: BaselineGrid, xp: ModuleType) -> Any:
    """``F_b(x)`` for every bin: shape ``x.shape + (B,)``."""
    edges = xp.asarray(grid.edges)
    period = edges[-1]
    lo, width = edges[:-1], edges[1:] - edges[:-1]
    x = x[..., None]
    cycles = xp.floor(x / period)
    rem = x - cycles * period
    return cycles * width + xp.clip(rem - lo, 0.0, width)


def exposure(grid: BaselineGrid, t0: Any, t1: Any) -> Any:
    """Time spent in each bin over ``[t0, t1]`` (JAX): shape ``broadcast(t0, t1).shape + (B,)``."""
    t0, t1 = jnp.asarray(t0), jnp.asarray(t1)
    return _cumulative(t1 + grid.offset, grid, jnp) - _cumulative(t0 + grid.offset, grid, jnp)


def exposure_np(grid: BaselineGrid, t0: Any, t1: Any) -> Float[np.ndarray, "... B"]:
    """Time spent in each bin over ``[t0, t1]`` (numpy float64)."""
    t0 = np.asarray(t0, np.float64)
    t1 = np.asarray(t1, np.float64)
    return _cumulative(t1 + grid.offset, grid, np) - _cumulative(t0 + grid.offset, grid, np)
