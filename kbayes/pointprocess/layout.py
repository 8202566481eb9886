"""Row layout of the Newton fit: independent windows' events arranged by excited dimension.

Arrays are laid out by excited dimension (:class:`RowData`): each dimension's events in chunks
of ``C`` slots, so that the per-row Hessian blocks of :mod:`kbayes.pointprocess.concave` are
batched matrix products summed over each row's chunks, with little padding when the
dimensions' counts are skewed. Besides the chunks the layout holds the *sequence* the feature
recursion of :mod:`kbayes.pointprocess.design` scans: the events window by window, dimension by
dimension, in time order, with the previous event of every source dimension for every slot
(events at equal times do not excite each other). Independent windows (event-days) restart the
recursion: the one-window layout is the single-window fit, more windows the pooled fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jax import Array
from jaxtyping import Bool, Float, Int

from kbayes.pointprocess.baseline import BaselineGrid, bin_index_np, exposure_np
from kbayes.pointprocess.events import EventSequence, padded_length


class RowData(NamedTuple):
    """Events of one or more independent windows, arranged for the concave fit.

    The *sequence* lists the events window by window, dimension by dimension, in time order,
    so that ``A_m = sum_{m' <= m} exp(-beta (t_m - t_m'))`` over the earlier events of the
    same window and dimension is a scalar recursion restarted at every ``first`` entry. The
    *events* are in time order (window after window). The *chunks* group them by excited
    dimension ``i`` (all windows) in pieces of ``C`` slots, each chunk in one row ``row[g]``,
    so that skewed dimension counts waste little padding. Lengths are padded with inert
    entries.

    Attributes:
        gap: ``(M,)`` time since the previous sequence entry (0 where ``first``).
        first: ``(M,)`` the entry starts a (window, dimension) run, or is padding.
        seq_weight: ``(M,)`` 1 for an event, 0 for padding.
        source: ``(M,)`` dimension of each entry.
        prev: ``(D, G, C)`` per source ``j`` and chunk slot, the sequence entry of the last
            event of ``j`` strictly before the slot's event, in its window (``-1``: none, or
            padding).
        lag: ``(D, G, C)`` time from that event (0 where there is none).
        weight: ``(G, C)`` 1 for an event, 0 for padding.
        bins: ``(G, C)`` baseline bin of each event.
        window: ``(G, C)`` window of each event (0 on padding).
        row: ``(G,)`` excited dimension of each chunk (0 for padding chunks).
        last: ``(E, D)`` sequence entry of the last event of ``j`` in window ``e`` (``-1``).
        lag_end: ``(E, D)`` time from it to the window end.
        counts: ``(D,)`` events per dimension, all windows.
        exposure: ``(E, B)`` time in each baseline bin, per window.
    """

    gap: Float[Array, " M"]
    first: Bool[Array, " M"]
    seq_weight: Float[Array, " M"]
    source: Int[Array, " M"]
    prev: Int[Array, "D G C"]
    lag: Float[Array, "D G C"]
    weight: Float[Array, "G C"]
    bins: Int[Array, "G C"]
    window: Int[Array, "G C"]
    row: Int[Array, " G"]
    last: Int[Array, "E D"]
    lag_end: Float[Array, "E D"]
    counts: Float[Array, " D"]
    exposure: Float[Array, "E B"]


def row_data(windows: Sequence[EventSequence], grids: Sequence[BaselineGrid]) -> RowData:
    """Arrange independent windows (each starting with no history) for the concave fit.

    The lengths are padded by :func:`~kbayes.pointprocess.events.padded_length` so that refits
    on similar sizes reuse one compiled program. The arrays are numpy (float64, int32); the
    jitted solvers take them as they are. The previous event of every source ``j`` comes from
    the running count of ``j``'s events, read at the event's first tie (events at equal times
    do not excite each other).

    Raises:
        ValueError: when the windows disagree on ``num_dims`` or the grids on the bin count.
    """
    if len(windows) != len(grids) or not windows:
        raise ValueError(f"{len(windows)} windows and {len(grids)} grids: need equal, >= 1")
    d, nb = windows[0].num_dims, grids[0].num_bins
    for k, (ev, g) in enumerate(zip(windows, grids, strict=True)):
        if ev.num_dims != d or g.num_bins != nb:
            raise ValueError(
                f"window {k} has D = {ev.num_dims}, B = {g.num_bins}; "
                f"window 0 has D = {d}, B = {nb}"
            )
    e = len(windows)
    per_window = [ev.counts for ev in windows]
    counts = np.sum(per_window, axis=0)
    total = int(counts.sum())
    size = padded_length(total)
    # chunks of about a quarter of the mean events per dimension (a power of two, >= 8)
    chunk = 1 << int(np.clip(np.round(np.log2(max(total / (4 * d), 1.0))), 3, 16))
    per_row = -(-counts // chunk)  # chunks per excited dimension
    num_chunks = padded_length(max(int(per_row.sum()), 1))
    first_chunk = np.cumsum(per_row) - per_row
    gap, first = np.zeros(size), np.ones(size, bool)
    seq_weight, source = np.zeros(size), np.zeros(size, np.int32)
    shape = (num_chunks, chunk)
    prev, lag = np.full((d, *shape), -1, np.int32), np.zeros((d, *shape))
    prev_flat, lag_flat = prev.reshape(d, -1), lag.reshape(d, -1)  # views
    weight, bins = np.zeros(shape), np.zeros(shape, np.int32)
    window = np.zeros(shape, np.int32)
    row = np.zeros(num_chunks, np.int32)
    row[: int(per_row.sum())] = np.repeat(np.arange(d, dtype=np.int32), per_row)
    last, lag_end = np.full((e, d), -1, np.int32), np.zeros((e, d))
    exposure = np.zeros((e, nb))
    offset, filled = 0, np.zeros(d, np.int64)
    for k, (ev, g, cnt) in enumerate(zip(windows, grids, per_window, strict=True)):
        t, m, n = ev.times, ev.marks, len(ev.times)
        exposure[k] = exposure_np(g, 0.0, ev.T)
        if n == 0:
            continue
        # the sequence: by dimension, then time (one pass per dimension beats a sort)
        order = np.concatenate([np.flatnonzero(m == j) for j in range(d)])
        ts, ms = t[order], m[order]
        span = slice(offset, offset + n)
        new_run = np.ones(n, bool)
        new_run[1:] = ms[1:] != ms[:-1]
        gap[span] = np.where(new_run, 0.0, np.diff(ts, prepend=0.0))
        first[span], seq_weight[span], source[span] = new_run, 1.0, ms
        tie_start = np.ones(n, bool)
        tie_start[1:] = t[1:] != t[:-1]
        tie_first = order  # per sequence entry, the first event of its tie (time order)
        if not tie_start.all():
            tie_first = np.maximum.accumulate(np.where(tie_start, np.arange(n), 0))[order]
        run_start = np.cumsum(cnt) - cnt  # first entries, in the window
        # a dimension's chunk slots hold its events in sequence order
        dest = np.repeat(first_chunk * chunk + filled - run_start, cnt) + np.arange(n)
        # one source j at a time, in buffers reused across j: fresh large temporaries cost
        # page faults that dominate this loop on virtual machines
        seen = np.zeros(n + 1, np.intp)
        ts_ext = np.concatenate([[0.0], ts])  # ts_ext[r + 1] = ts[r]; [0] is read only where masked
        is_j, none = np.empty(n, bool), np.empty(n, bool)
        before, lag_j = np.empty(n, np.intp), np.empty(n)
        for j in range(d):
            # events of j strictly before each entry's time: the count at its tie's first event
            np.equal(m, j, out=is_j)
            np.cumsum(is_j, out=seen[1:])
            np.take(seen, tie_first, out=before)
            np.equal(before, 0, out=none)
            np.add(before, run_start[j], out=before)  # 1 + the previous entry (of the window)
            np.subtract(ts, np.take(ts_ext, before), out=lag_j)
            lag_j[none] = 0.0
            np.add(before, offset - 1, out=before)
            before[none] = -1
            prev_flat[j, dest], lag_flat[j, dest] = before, lag_j
        weight.ravel()[dest], window.ravel()[dest] = 1.0, k
        if nb > 1:
            bins.ravel()[dest] = bin_index_np(g, ts)
        ends = run_start + cnt - 1
        last[k] = np.where(cnt > 0, ends + offset, -1)
        lag_end[k] = np.where(cnt > 0, ev.T - ts[np.maximum(ends, 0)], 0.0)
        filled += cnt
        offset += n
    return RowData(
        gap=gap,
        first=first,
        seq_weight=seq_weight,
        source=source,
        prev=prev,
        lag=lag,
        weight=weight,
        bins=bins,
        window=window,
        row=row,
        last=last,
        lag_end=lag_end,
        counts=counts.astype(np.float64),
        exposure=exposure,
    )
