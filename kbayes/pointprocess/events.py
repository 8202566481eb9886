"""Marked event sequences on an observation window: validation and preparation for the kernels.

An event sequence is ``(t_k, m_k)``, ``k = 0..N-1``, with times non-decreasing in ``[0, T]``
and marks (dimensions) in ``0..D-1``. Ties are allowed: an event never excites another event
at the same timestamp (the intensity is left-continuous, ``lambda(t)`` sums over ``t_l < t``).

:func:`check_events` validates and returns an :class:`EventSequence` (numpy float64);
:func:`prepare` turns it into :class:`HawkesData`, the gap-based arrays the JAX kernels scan.
The kernels only see gaps ``t_k - t_{k-1}`` (computed in float64), so they stay accurate when
JAX runs in float32 on long windows.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.baseline import (
    BaselineGrid,
    bin_index_np,
    constant_baseline,
    exposure_np,
)
from kbayes.shapes import bucket_length


class EventSequence(NamedTuple):
    """Validated events on ``[0, T]``.

    Attributes:
        times: ``(N,)`` float64, non-decreasing, in ``[0, T]``.
        marks: ``(N,)`` int64 in ``0..num_dims-1``.
        T: window length.
        num_dims: number of dimensions ``D`` (some may have no events).
    """

    times: Float[np.ndarray, " N"]
    marks: Int[np.ndarray, " N"]
    T: float
    num_dims: int

    @property
    def counts(self) -> Int[np.ndarray, " D"]:
        """Number of events per dimension."""
        return np.bincount(self.marks, minlength=self.num_dims)

    @property
    def empty_dims(self) -> list[int]:
        """Dimensions with no events."""
        return [int(i) for i in np.flatnonzero(self.counts == 0)]


class HawkesData(NamedTuple):
    """Arrays the recursion scans, one row per event (rows past ``N`` are zero-weight padding).

    Attributes:
        dt: gap to the previous event (the first gap is from 0).
        marks: event dimension.
        weight: 1 for a real event, 0 for padding or a query point.
        bins: baseline bin of the event time.
        dexp: time spent in each baseline bin over the gap, ``(N, B)``.
        dt_end: gap from the last event to ``T``.
        dexp_end: ``(B,)`` baseline-bin exposure over that last gap.
        exposure: ``(B,)`` total time in each bin over ``[0, T]``.
        counts: ``(D,)`` events per dimension.
    """

    dt: Float[Array, " N"]
    marks: Int[Array, " N"]
    weight: Float[Array, " N"]
    bins: Int[Array, " N"]
    dexp: Float[Array, "N B"]
    dt_end: Float[Array, ""]
    dexp_end: Float[Array, " B"]
    exposure: Float[Array, " B"]
    counts: Float[Array, " D"]


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if len(idx) else None


def check_events(
    times: Any,
    marks: Any,
    T: float,
    num_dims: int,
    *,
    allow_empty_dims: bool = True,
) -> EventSequence:
    """Validate an event sequence.

    Args:
        times: event times, non-decreasing, in ``[0, T]``.
        marks: integer dimension of each event, in ``0..num_dims-1``.
        T: observation window length (positive, finite).
        num_dims: number of dimensions ``D``.
        allow_empty_dims: when False, a dimension with no events is an error.

    Raises:
        ValueError: naming the argument and the first bad index.
    """
    if isinstance(num_dims, bool) or not isinstance(num_dims, int | np.integer) or num_dims < 1:
        raise ValueError(f"num_dims must be a positive integer, got {num_dims!r}")
    num_dims = int(num_dims)
    try:
        T = float(T)
    except (TypeError, ValueError) as err:
        raise ValueError(f"T must be a number, got {T!r}") from err
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T = {T} must be positive and finite")
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"times must be 1-D, got shape {t.shape}")
    m_raw = np.asarray(marks)
    if m_raw.shape != t.shape:
        raise ValueError(f"marks shape {m_raw.shape} != times shape {t.shape}")
    if (k := _first(np.isnan(t))) is not None:
        raise ValueError(f"times[{k}] is NaN")
    if (k := _first(~np.isfinite(t))) is not None:
        raise ValueError(f"times[{k}] = {float(t[k])!r} is not finite")
    if (k := _first(t < 0)) is not None:
        raise ValueError(f"times[{k}] = {float(t[k])!r} is negative (the window is [0, T])")
    if (k := _first(t > T)) is not None:
        raise ValueError(f"times[{k}] = {float(t[k])!r} is beyond T = {T!r}")
    if (k := _first(np.diff(t) < 0)) is not None:
        later, earlier = float(t[k + 1]), float(t[k])
        raise ValueError(
            f"times not sorted ascending: times[{k + 1}] = {later!r} < times[{k}] = {earlier!r}"
        )
    if m_raw.dtype.kind == "f":
        if (k := _first(np.isnan(m_raw))) is not None:
            raise ValueError(f"marks[{k}] is NaN")
        if (k := _first(m_raw != np.round(m_raw))) is not None:
            raise ValueError(f"marks[{k}] = {m_raw[k]} is not an integer")
    elif m_raw.size and m_raw.dtype.kind not in "iub":
        raise ValueError(f"marks must be integers, got dtype {m_raw.dtype}")
    m = m_raw.astype(np.int64)
    if (k := _first((m < 0) | (m >= num_dims))) is not None:
        raise ValueError(f"marks[{k}] = {m[k]} is outside 0..{num_dims - 1}")
    seq = EventSequence(times=t, marks=m, T=T, num_dims=num_dims)
    if not allow_empty_dims and seq.empty_dims:
        raise ValueError(f"marks: dimension {seq.empty_dims[0]} has no events")
    return seq


def padded_length(n: int) -> int:
    """Smallest ``m * 2**k >= n`` with ``m`` in 4..7, at least 8 (at most 25% padding, few
    distinct shapes): :func:`kbayes.shapes.bucket_length` with two mantissa bits."""
    return bucket_length(n, 8, mantissa_bits=2)


def pad_rows(data: HawkesData, length: int) -> HawkesData:
    """``data`` with inert rows (zero gap, weight, mark and exposure) appended up to ``length``.

    A zero-weight row at zero gap leaves the recursion's state unchanged and adds no term.

    Raises:
        ValueError: when ``length`` is shorter than ``data``.
    """
    n = int(data.dt.shape[0])
    if length < n:
        raise ValueError(f"length = {length} is shorter than the data ({n} rows)")
    extra = length - n

    def pad(x: Array) -> Array:
        return jnp.concatenate([x, jnp.zeros((extra, *x.shape[1:]), x.dtype)])

    return data._replace(
        dt=pad(data.dt),
        marks=pad(data.marks),
        weight=pad(data.weight),
        bins=pad(data.bins),
        dexp=pad(data.dexp),
    )


def prepare(
    events: EventSequence,
    grid: BaselineGrid | None = None,
    *,
    pad: bool = False,
    query_times: Any = None,
) -> HawkesData:
    """Gap-based arrays for the recursion.

    Args:
        events: a validated sequence.
        grid: baseline grid (constant when None).
        pad: pad with zero-weight rows to :func:`padded_length` so refits on similar sizes
            reuse one compiled program.
        query_times: optional times merged in as zero-weight rows (they leave the state
            unchanged and report the intensity there); they go after events at equal times,
            and the intensity there still excludes those events (left-continuity).
    """
    grid = constant_baseline() if grid is None else grid
    t, m = events.times, events.marks
    w = np.ones(len(t))
    if query_times is not None:
        q = np.asarray(query_times, np.float64).ravel()
        t = np.concatenate([t, q])
        m = np.concatenate([m, np.zeros(len(q), np.int64)])
        w = np.concatenate([w, np.zeros(len(q))])
        order = np.argsort(t, kind="stable")
        t, m, w = t[order], m[order], w[order]
    n = len(t)
    prev = np.concatenate([[0.0], t[:-1]])
    dt = t - prev
    dexp = exposure_np(grid, prev, t) if n else np.zeros((0, grid.num_bins))
    t_last = t[-1] if n else 0.0
    dt_end = events.T - t_last
    dexp_end = exposure_np(grid, t_last, events.T)
    bins = bin_index_np(grid, t)
    data = HawkesData(
        dt=jnp.asarray(dt),
        marks=jnp.asarray(m, dtype=jnp.int32),
        weight=jnp.asarray(w),
        bins=jnp.asarray(bins, dtype=jnp.int32),
        dexp=jnp.asarray(dexp),
        dt_end=jnp.asarray(dt_end),
        dexp_end=jnp.asarray(dexp_end),
        exposure=jnp.asarray(exposure_np(grid, 0.0, events.T)),
        counts=jnp.asarray(events.counts, dtype=float),
    )
    return pad_rows(data, padded_length(n)) if pad else data
