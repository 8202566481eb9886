"""Fast maximum likelihood: a concave problem for fixed decays, and the decay by profiling.

For fixed decays ``beta`` the log-likelihood (Ogata 1978) is a sum over excited dimensions
``i`` of concave functions of ``theta_i = [mu_i1..mu_iB, alpha_i1..alpha_iD]``:

    l(theta) = sum_i [ sum_{n: m_n = i} log(x_n . theta_i) - c_i . theta_i ],

with the features of event ``n`` (in dimension ``i = m_n``, baseline bin ``b_n``)

    x_n = [1[b_n = b]_{b < B},  beta_ij S_ij(t_n)_{j < D}],
    S_ij(t) = sum_{t_k^j < t} exp(-beta_ij (t - t_k^j)),

and the compensator coefficients ``c_i = [E_b, G_ij]`` (``E_b``: exposure of bin ``b``;
``G_ij = N_j - sum_k exp(-beta_ij (T - t_k^j))``, the integrated kernels).

Features. ``S_ij(t_n) = exp(-beta_ij (t_n - t_p)) A_j(t_p)`` with ``t_p`` the last event of
``j`` strictly before ``t_n`` (so events at equal times do not excite each other) and
``A_j(t_p) = sum_{t_k^j <= t_p} exp(-beta_ij (t_p - t_k^j))`` the exponential recursion
(Ozaki 1979) run over the events of ``j`` alone, a scalar linear recurrence per dimension: one
O(N) ``lax.scan`` per decay (sequential scans of scalars beat an associative scan on CPU),
then O(N D) gathers. Independent windows (event-days) restart the recursion.

Inner problem. Free parameters ``phi`` (structural zeros and tied labels, as in
:class:`~kbayes.pointprocess.mle.FreeIndex`) enter linearly, ``theta = M phi``, so the fit
of ``phi >= 0`` is a smooth convex program in ``f = -l / N``. It is solved by the primal-dual
interior-point method (Boyd & Vandenberghe 2004, section 11.7) with Mehrotra's (1992)
predictor-corrector centring: with dual ``z >= 0`` each step solves

    (H + diag(z / phi)) dphi = -(grad f - z) - r / phi,    dz = -(r + z dphi) / phi,

(``H = M' blockdiag_i(sum_n x_n x_n' / lambda_n^2) M / N``, ``r`` the centring residual),
takes 99% of the step to the boundary and backtracks on the residual norm. At a loose
tolerance the parameters with ``phi_p < z_p`` are set to 0 and projected Newton steps on
the rest (Bertsekas 1982) land on the exact KKT point; should the active set be wrong, the
interior point resumes to the full tolerance first. Estimates at the boundary are exact zeros.

Decay. A shared decay maximises the profile log-likelihood ``l*(s) = max_phi l(phi, e^s)``
over ``s = log beta``: by the envelope theorem ``l*'(s) = dl/ds`` at the inner optimum, and
``l*''(s) = l_ss + l_s phi' H_ff^{-1} l_phi s`` over the parameters off the boundary (Schur
complement). The derivatives of the features in ``s`` come from the same recursion on
``A^(r) = sum (t - t_k)^r exp(-beta (t - t_k))``, ``r = 1, 2``. The root of ``l*'`` is found
by Newton's method safeguarded by bisection on the bracket of sign changes (``rtsafe``, Press
et al. 2007, section 9.4), each inner solve warm-started from the last.

Arrays are laid out by excited dimension (:class:`RowData`): each dimension's events in
chunks of ``C`` slots, so the per-row Hessian blocks are batched matrix products summed over
each row's chunks, with little padding when the dimensions' counts are skewed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jaxtyping import Bool, Float, Int

from kbayes.pointprocess.baseline import BaselineGrid, bin_index_np, exposure_np
from kbayes.pointprocess.events import EventSequence, padded_length

_STEP_TO_BOUNDARY = 0.99
_ARMIJO = 0.01
_MAX_BACKTRACK = 40
_MAX_LOG_STEP = 1.0  # largest change of log(beta) per profile step
_LOG_STEP_TOL = 1e-10  # the profile search stops when its step in log(beta) is this small
_WARM_FLOOR = 1e-3  # warm starts lift boundary parameters to this fraction of the cold start
_WARM_GAP = 1e-4  # initial surrogate gap of a warm-started inner solve
_CROSSOVER_TOL = 1e-3  # interior point stops here and hands over to projected Newton
_POLISH_STEPS = 4  # projected Newton steps at most


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


class Design(NamedTuple):
    """Features and compensator coefficients of the concave problem at one decay.

    ``x`` (per chunk slot) and ``cost`` define ``l``; ``x_s``, ``x_ss``, ``cost_s``,
    ``cost_ss`` are their first and second derivatives in ``s = log beta`` (zeros when not
    requested); ``row`` is the excited dimension of each chunk.
    """

    x: Float[Array, "G C K"]
    cost: Float[Array, "D K"]
    x_s: Float[Array, "G C K"]
    x_ss: Float[Array, "G C K"]
    cost_s: Float[Array, "D K"]
    cost_ss: Float[Array, "D K"]
    row: Int[Array, " G"]


class SolverState(NamedTuple):
    """Primal-dual iterate: parameters, duals of ``phi >= 0``, ``grad f``, iterations used."""

    phi: Float[Array, " P"]
    z: Float[Array, " P"]
    grad_f: Float[Array, " P"]
    iterations: Int[Array, ""]


class Evaluation(NamedTuple):
    """Log-likelihood, its gradient in ``phi`` and ``w / lambda`` at ``phi`` (unscaled)."""

    phi: Float[Array, " P"]
    value: Float[Array, ""]
    grad: Float[Array, " P"]
    inv: Float[Array, "G C"]


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


def design(
    beta: Float[Array, "R D"],
    rd: RowData,
    order: int = 0,
    day_scale: Float[Array, "E D B"] | None = None,
) -> Design:
    """Features and compensator coefficients at decays ``beta`` in one recursion pass.

    Args:
        beta: ``(1, D)`` (every excited dimension uses the decays ``beta[0, j]``) or
            ``(D, D)`` (row ``i`` uses ``beta[i, j]``).
        rd: the arranged events (:func:`row_data`).
        order: 0, or 2 for the derivatives in ``s = log beta`` (meaningful when every
            decay moves with ``s``, i.e. a shared decay).
        day_scale: known factors ``c_eib`` on the baseline of dimension ``i`` and bin ``b`` in
            window ``e`` (``mu_i(t) = c_eib mu_ib``): the baseline features become
            ``c_eib 1[b_n = b]`` and its compensator ``sum_e c_eib E_eb``. None: all 1.

    Returns:
        :class:`Design`.
    """
    rows, d = beta.shape
    dtype = beta.dtype
    gap = rd.gap.astype(dtype)
    decay = jnp.where(rd.first[None, :], 0.0, jnp.exp(-beta[:, rd.source] * gap))  # (R, M)
    w = rd.seq_weight.astype(dtype)

    # A^(r)_m = sum_{m' <= m} (t_m - t_m')^r exp(-beta (t_m - t_m')) within a run
    def body(carry: tuple[Array, Array, Array], inp: tuple[Array, Array, Array]) -> tuple:
        a0, a1, a2 = carry
        a, dt, wm = inp
        if order:
            a2 = a * (a2 + 2.0 * dt * a1 + dt * dt * a0)
            a1 = a * (a1 + dt * a0)
        a0 = a * a0 + wm
        return (a0, a1, a2), (a0, a1, a2)

    zero = jnp.zeros((rows,), dtype)
    _, (a0, a1, a2) = jax.lax.scan(body, (zero, zero, zero), (decay.T, gap, w))  # (M, R)

    b = jnp.broadcast_to(beta, (d, d))
    # per chunk: the decays of its row, and the recursion (column of a0) they use
    chunk_row = rd.row
    rec = (chunk_row if rows > 1 else jnp.zeros_like(chunk_row))[:, None, None]
    prev = jnp.moveaxis(rd.prev, 0, -1)  # (G, C, D)
    has = (prev >= 0) & (rd.weight > 0)[..., None]
    at = jnp.maximum(prev, 0)
    lag = jnp.moveaxis(rd.lag, 0, -1).astype(dtype)
    bb = b[chunk_row][:, None, :]  # (G, 1, D)
    kern = jnp.where(has, jnp.exp(-bb * lag), 0.0)
    s0 = kern * a0[at, rec]
    base = jax.nn.one_hot(rd.bins, rd.exposure.shape[-1], dtype=dtype) * rd.weight[..., None]
    expo_e = rd.exposure.astype(dtype)  # (E, B)
    if day_scale is None:
        expo = jnp.broadcast_to(jnp.sum(expo_e, axis=0), (d, base.shape[-1]))
    else:
        scale = day_scale.astype(dtype)
        base = base * scale[rd.window, chunk_row[:, None]]
        expo = jnp.einsum("eib,eb->ib", scale, expo_e)
    x = jnp.concatenate([base, bb * s0], axis=-1)

    row = jnp.arange(d) if rows > 1 else jnp.zeros((d,), jnp.int32)
    ends = rd.last >= 0  # (E, D)
    at_end = jnp.maximum(rd.last, 0)
    lag_end = rd.lag_end.astype(dtype)
    kern_end = jnp.where(ends[None], jnp.exp(-b[:, None, :] * lag_end[None]), 0.0)  # (D, E, D)
    e0 = kern_end * a0[at_end, row[:, None, None]]
    g_cost = rd.counts.astype(dtype)[None, :] - jnp.sum(e0, axis=1)
    cost = jnp.concatenate([expo, g_cost], axis=-1)
    if not order:
        zero_x, zero_c = jnp.zeros_like(x), jnp.zeros_like(cost)
        return Design(x, cost, zero_x, zero_x, zero_c, zero_c, chunk_row)
    # S^(r) = sum (lag + u)^r exp(-beta (lag + u)) from A^(r) at the previous event
    s1 = kern * (a1[at, rec] + lag * a0[at, rec])
    s2 = kern * (a2[at, rec] + 2.0 * lag * a1[at, rec] + lag * lag * a0[at, rec])
    zb = jnp.zeros_like(base)
    x_s = jnp.concatenate([zb, bb * s0 - bb**2 * s1], axis=-1)
    x_ss = jnp.concatenate([zb, bb * s0 - 3.0 * bb**2 * s1 + bb**3 * s2], axis=-1)
    le = lag_end[None]
    e1 = jnp.sum(
        kern_end * (a1[at_end, row[:, None, None]] + le * a0[at_end, row[:, None, None]]), axis=1
    )
    e2 = jnp.sum(
        kern_end
        * (
            a2[at_end, row[:, None, None]]
            + 2.0 * le * a1[at_end, row[:, None, None]]
            + le * le * a0[at_end, row[:, None, None]]
        ),
        axis=1,
    )
    zc = jnp.zeros_like(expo)
    # G = N - sum e^{-beta lag} A: dG/ds = beta S1(T), d2G/ds2 = beta S1(T) - beta^2 S2(T)
    cost_s = jnp.concatenate([zc, b * e1], axis=-1)
    cost_ss = jnp.concatenate([zc, b * e1 - b * b * e2], axis=-1)
    return Design(x, cost, x_s, x_ss, cost_s, cost_ss, chunk_row)


def full_params(
    phi: Float[Array, " P"], index: Int[Array, "D K"], fixed: Float[Array, "D K"]
) -> Float[Array, "D K"]:
    """``theta_ik = phi[index_ik]`` where ``index_ik >= 0``, else the fixed value."""
    safe = jnp.where(index >= 0, index, 0)
    return jnp.where(index >= 0, phi[safe], fixed)


def _to_free(per_entry: Float[Array, "D K"], index: Int[Array, "D K"], num_free: int) -> Array:
    """``M' v``: sum the entries of ``theta``-shaped ``v`` into their free parameters."""
    safe = jnp.where(index >= 0, index, num_free)  # fixed entries go to a dropped slot
    return jnp.zeros((num_free + 1,), per_entry.dtype).at[safe].add(per_entry)[:num_free]


def _to_free_matrix(
    blocks: Float[Array, "D K K"], index: Int[Array, "D K"], num_free: int
) -> Float[Array, "P P"]:
    """``M' blockdiag(blocks) M`` by a scatter-add (cheaper than contracting one-hot maps)."""
    safe = jnp.where(index >= 0, index, num_free)
    out = jnp.zeros((num_free + 1, num_free + 1), blocks.dtype)
    return out.at[safe[:, :, None], safe[:, None, :]].add(blocks)[:num_free, :num_free]


def log_likelihood_terms(
    theta: Float[Array, "D K"],
    x: Float[Array, "G C K"],
    weight: Float[Array, "G C"],
    row: Int[Array, " G"],
) -> tuple[Float[Array, ""], Float[Array, "G C"], Float[Array, "G C"]]:
    """``sum_n log lambda_n``, the intensities, and ``w / lambda`` (0 on padding)."""
    lam = jnp.einsum("gck,gk->gc", x, theta[row])
    real = weight > 0
    safe = jnp.where(real, lam, 1.0)
    log_term = jnp.where(real, weight * jnp.log(safe), 0.0)
    # a non-positive intensity at an event is outside the domain
    log_sum = jnp.where(jnp.any(real & (lam <= 0)), -jnp.inf, jnp.sum(log_term))
    return log_sum, lam, jnp.where(real, weight / safe, 0.0)


def _rows(per_chunk: Array, row: Int[Array, " G"], num_rows: int) -> Array:
    """Sum per-chunk terms into their rows."""
    return jax.ops.segment_sum(per_chunk, row, num_segments=num_rows)


def objective(
    phi: Float[Array, " P"],
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
) -> tuple[Float[Array, ""], Float[Array, " P"], Float[Array, "G C"]]:
    """Log-likelihood, its gradient in ``phi`` and ``w / lambda`` (unscaled)."""
    theta = full_params(phi, index, fixed)
    log_sum, _, inv = log_likelihood_terms(theta, dsg.x, weight, dsg.row)
    value = log_sum - jnp.sum(dsg.cost * theta)
    g_full = _rows(jnp.einsum("gc,gck->gk", inv, dsg.x), dsg.row, index.shape[0]) - dsg.cost
    return value, _to_free(g_full, index, phi.shape[0]), inv


def information(
    phi: Float[Array, " P"],
    dsg: Design,
    inv: Float[Array, "G C"],
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
) -> Float[Array, "P P"]:
    """Observed information ``-d^2 l / d phi^2 = M' blockdiag(sum w x x' / lambda^2) M``."""
    w2 = jnp.where(weight > 0, inv * inv / jnp.where(weight > 0, weight, 1.0), 0.0)
    chunks = jnp.einsum("gck,gc,gcm->gkm", dsg.x, w2, dsg.x)
    return _to_free_matrix(_rows(chunks, dsg.row, index.shape[0]), index, phi.shape[0])


def _spd_solve(h: Float[Array, "P P"], b: Float[Array, " P"]) -> Float[Array, " P"]:
    """``h^{-1} b`` for a positive definite ``h``: Cholesky (one LAPACK call), LU only where
    the factorisation fails (XLA's CPU LU runs a loop over the columns, 10x slower)."""
    x = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(h), b)
    return jax.lax.cond(jnp.all(jnp.isfinite(x)), lambda: x, lambda: jnp.linalg.solve(h, b))


def _max_step(x: Array, dx: Array) -> Array:
    """Largest ``a <= 1`` with ``x + a dx >= 0``."""
    ratio = jnp.where(dx < 0, -x / jnp.where(dx < 0, dx, -1.0), jnp.inf)
    return jnp.minimum(1.0, jnp.min(ratio, initial=jnp.inf))


def interior_point(
    phi0: Float[Array, " P"],
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
    scale: Float[Array, ""],
    tol: Float[Array, ""],
    max_iter: Int[Array, ""],
    z0: Float[Array, " P"],
    iterations: Int[Array, ""],
) -> SolverState:
    """Maximise ``l(phi)`` over ``phi >= 0`` (primal-dual interior point, see module doc).

    The centring target ``sigma mu`` (``mu = phi . z / P``) follows Mehrotra's (1992)
    predictor-corrector: an affine step (``sigma = 0``) gives ``sigma = (mu_aff / mu)^3``
    and a second-order correction, both from one Cholesky factorisation. The step is 99% of
    the way to the boundary, halved until the intensities stay positive and the residual
    norm decreases (Boyd & Vandenberghe 2004, algorithm 11.2).

    Args:
        phi0: strictly positive start.
        dsg: the problem at one decay.
        weight: ``(D, L)`` event weights.
        index: ``(D, K)`` free-parameter index of ``theta`` (``-1`` fixed).
        fixed: ``(D, K)`` values of the fixed entries.
        scale: ``N``; the method works on ``f = -l / N``.
        tol: on the dual residual (max norm) and the surrogate gap of ``f``.
        max_iter: Newton-step cap (counting ``iterations``).
        z0: strictly positive start of the duals.
        iterations: steps already taken (a resumed solve).
    """
    mf = jnp.asarray(float(max(phi0.shape[0], 1)), phi0.dtype)

    def grad_f(phi: Array) -> tuple[Array, Array, Array]:
        value, grad, inv = objective(phi, dsg, weight, index, fixed)
        return -value / scale, -grad / scale, inv

    def residual(phi: Array, z: Array, grad: Array, target: Array) -> Array:
        return jnp.sqrt(jnp.sum((grad - z) ** 2) + jnp.sum((z * phi - target) ** 2))

    def cond(carry: tuple[SolverState, Array, Array]) -> Array:
        state, grad, _ = carry
        eta = jnp.dot(state.phi, state.z)
        dual = jnp.max(jnp.abs(grad - state.z), initial=0.0)
        running = (dual > tol) | (eta > tol)
        return (state.iterations < max_iter) & running & jnp.all(jnp.isfinite(state.phi))

    def body(carry: tuple[SolverState, Array, Array]) -> tuple[SolverState, Array, Array]:
        state, grad, inv = carry
        phi, z = state.phi, state.z
        mu = jnp.dot(phi, z) / mf
        hess = information(phi, dsg, inv, weight, index) / scale
        chol = jax.scipy.linalg.cho_factor(hess + jnp.diag(z / phi))

        def direction(r_cent: Array) -> tuple[Array, Array]:
            # (H + Z / Phi) dphi = -r_dual - r_cent / phi,  dz = -(r_cent + z dphi) / phi
            dphi = jax.scipy.linalg.cho_solve(chol, -(grad - z) - r_cent / phi)
            return dphi, -(r_cent + z * dphi) / phi

        dphi_a, dz_a = direction(phi * z)
        a_aff = jnp.minimum(_max_step(phi, dphi_a), _max_step(z, dz_a))
        mu_aff = jnp.dot(phi + a_aff * dphi_a, z + a_aff * dz_a) / mf
        target = (mu_aff / mu) ** 3 * mu
        dphi, dz = direction(phi * z + dphi_a * dz_a - target)
        step0 = _STEP_TO_BOUNDARY * jnp.minimum(_max_step(phi, dphi), _max_step(z, dz))
        r0 = residual(phi, z, grad, target)

        def try_step(step: Array) -> tuple[Array, Array, Array, Array, Array]:
            p, zz = phi + step * dphi, z + step * dz
            val, g, iv = grad_f(p)
            ok = jnp.isfinite(val) & (residual(p, zz, g, target) <= (1.0 - _ARMIJO * step) * r0)
            return ok, p, zz, g, iv

        def bt_cond(c: tuple) -> Array:
            return (~c[0]) & (c[-1] < _MAX_BACKTRACK)

        def bt_body(c: tuple) -> tuple:
            step = 0.5 * c[1]
            ok, p, zz, g, iv = try_step(step)
            return ok, step, p, zz, g, iv, c[-1] + 1

        ok, p, zz, g, iv = try_step(step0)
        _, _, p, zz, g, iv, _ = jax.lax.while_loop(
            bt_cond, bt_body, (ok, step0, p, zz, g, iv, jnp.asarray(0))
        )
        return SolverState(p, zz, g, state.iterations + 1), g, iv

    _, g0, inv0 = grad_f(phi0)
    init = (SolverState(phi0, z0, g0, iterations), g0, inv0)
    state, _, _ = jax.lax.while_loop(cond, body, init)
    return state


def snap_to_boundary(
    state: SolverState,
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
) -> Evaluation:
    """Set the parameters the interior point left at the boundary (``phi_p < z_p``) to 0.

    Skipped when that would make an event's intensity non-positive.
    """
    snapped = evaluate(jnp.where(state.phi < state.z, 0.0, state.phi), dsg, weight, index, fixed)
    return jax.lax.cond(
        jnp.isfinite(snapped.value),
        lambda: snapped,
        lambda: evaluate(state.phi, dsg, weight, index, fixed),
    )


def evaluate(
    phi: Float[Array, " P"],
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
) -> Evaluation:
    """:func:`objective` at ``phi``, kept together with ``phi``."""
    return Evaluation(phi, *objective(phi, dsg, weight, index, fixed))


def polish(
    start: Evaluation,
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
    scale: Float[Array, ""],
    tol: Float[Array, ""],
) -> Evaluation:
    """Projected Newton steps from the barrier solution (Bertsekas 1982).

    The barrier leaves parameters ``O(1 / (t phi))`` short of stationarity (most visibly the
    small, weakly identified ones). With the active set ``{phi_p = 0, dl/dphi_p <= 0}`` held
    at 0, a Newton step on the others, clipped at 0, converges quadratically to the exact KKT
    point once the set is right. A step is kept only when it does not lower ``l``; at most
    ``_POLISH_STEPS``, until :func:`kkt_residual` is at most ``tol``.
    """

    def step(carry: tuple[Evaluation, Array, Array]) -> tuple[Evaluation, Array, Array]:
        ev, k, _ = carry
        active = (ev.phi <= 0) & (ev.grad <= 0)
        hess = information(ev.phi, dsg, ev.inv, weight, index)
        pair = active[:, None] | active[None, :]
        hess = jnp.where(pair, jnp.eye(ev.phi.shape[0], dtype=ev.phi.dtype), hess)
        move = _spd_solve(hess, jnp.where(active, 0.0, ev.grad))
        new = evaluate(jnp.maximum(ev.phi + move, 0.0), dsg, weight, index, fixed)
        keep = jnp.isfinite(new.value) & (new.value >= ev.value)
        ev = jax.tree.map(lambda a, b: jnp.where(keep, a, b), new, ev)
        return ev, k + 1, keep

    def cond(carry: tuple[Evaluation, Array, Array]) -> Array:
        ev, k, moved = carry
        return (k < _POLISH_STEPS) & moved & (kkt_residual(ev, scale) > tol)

    init = (start, jnp.asarray(0), jnp.asarray(True))
    return jax.lax.while_loop(cond, step, init)[0]


def kkt_residual(ev: Evaluation, scale: Float[Array, ""]) -> Float[Array, ""]:
    """Largest violation of the KKT conditions of ``min -l / N`` s.t. ``phi >= 0``.

    ``|grad f|`` where ``phi > 0``, and the part of ``grad f < 0`` where ``phi = 0``.
    """
    return jnp.max(jnp.abs(_projected(-ev.grad / scale, ev.phi)), initial=0.0)


def _projected(grad_f: Array, phi: Array) -> Array:
    return jnp.where(phi > 0, grad_f, jnp.minimum(grad_f, 0.0))


def profile_derivatives(
    ev: Evaluation,
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
) -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, " P"], Float[Array, ""]]:
    """Derivatives in ``s = log beta`` at the inner optimum ``phi*(s)`` (unscaled).

    Args:
        ev: the inner optimum, with the parameters at the boundary exactly 0 (they stay
            there under small changes of ``s`` and drop out of the Schur complement).
        dsg: design at ``s`` with its derivatives (``order=2``).
        weight: ``(D, L)`` event weights.
        index: ``(D, K)`` free-parameter index.
        fixed: ``(D, K)`` fixed values.

    Returns:
        ``(l_s, l_ss, l_phi_s, l*'')``: the partial derivatives, the mixed one (``(P,)``) and
        the second derivative of the profile, ``l_ss + l_phi_s' H_ff^{-1} l_phi_s`` over the
        parameters off the boundary.
    """
    phi, inv = ev.phi, ev.inv
    theta = full_params(phi, index, fixed)
    theta_c = theta[dsg.row]
    lam_s = jnp.einsum("gck,gk->gc", dsg.x_s, theta_c)
    lam_ss = jnp.einsum("gck,gk->gc", dsg.x_ss, theta_c)
    inv2 = jnp.where(weight > 0, inv * inv / jnp.where(weight > 0, weight, 1.0), 0.0)
    l_s = jnp.sum(inv * lam_s) - jnp.sum(dsg.cost_s * theta)
    l_ss = jnp.sum(inv * lam_ss - inv2 * lam_s**2) - jnp.sum(dsg.cost_ss * theta)
    per_chunk = jnp.einsum("gc,gck->gk", inv, dsg.x_s) - jnp.einsum(
        "gc,gck->gk", inv2 * lam_s, dsg.x
    )
    mixed = _rows(per_chunk, dsg.row, index.shape[0]) - dsg.cost_s
    l_phi_s = _to_free(mixed, index, phi.shape[0])
    active = phi <= 0
    hess = information(phi, dsg, inv, weight, index)
    eye = jnp.eye(phi.shape[0], dtype=phi.dtype)
    hess = jnp.where(active[:, None] | active[None, :], eye, hess)
    v = jnp.where(active, 0.0, l_phi_s)
    curvature = l_ss + jnp.dot(v, _spd_solve(hess, v))
    return l_s, l_ss, l_phi_s, curvature


def solve_at(
    phi_start: Float[Array, " P"],
    dsg: Design,
    weight: Float[Array, "G C"],
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
    scale: Float[Array, ""],
    tol: Float[Array, ""],
    max_iter: Int[Array, ""],
    gap0: Float[Array, ""],
    float32_ip: bool = False,
    resume: bool = True,
) -> tuple[Evaluation, Int[Array, ""], Array]:
    """Interior point, then crossover to the exact KKT point by projected Newton.

    The interior point runs to the loose tolerance ``max(tol, 1e-3)``, the boundary
    parameters are set to 0 and :func:`polish` finishes; when the KKT residual is still above
    ``tol`` (a wrong active set), the interior point resumes to ``tol`` and polishes again.

    ``float32_ip``: the first interior point runs in float32, which halves its cost on CPU
    (it moves ``phi`` by ~1e-7 relative, and the polish in the input precision makes the
    result exact) but compiles a second interior point for the resume. ``resume=False``
    leaves the resume out of the compiled program; the caller reruns with ``resume=True``
    when ``ok`` is False (worth it where a first solve rarely fails: one decay, cold start).

    Returns:
        ``(evaluation, iterations, ok)``: the polished optimum, interior-point steps, and
        whether the KKT residual met ``tol`` within ``max_iter`` steps.
    """
    mf = jnp.asarray(float(max(phi_start.shape[0], 1)), phi_start.dtype)
    z0 = gap0 / (mf * phi_start)
    # a parameter that no event and no compensator term touches is not identified: a unit
    # cost sends it to 0, where it leaves the likelihood unchanged
    mass = _rows(jnp.sum(dsg.x, axis=1), dsg.row, index.shape[0]) + dsg.cost
    touched = _to_free(mass, index, phi_start.shape[0]) > 0
    inert = (index >= 0) & ~touched[jnp.maximum(index, 0)]
    dsg = dsg._replace(cost=jnp.where(inert, 1.0, dsg.cost))
    args = (dsg, weight, index, fixed, scale)

    low = jnp.float32 if float32_ip else phi_start.dtype
    lo_dsg = dsg._replace(x=dsg.x.astype(low), cost=dsg.cost.astype(low))
    lo_args = (lo_dsg, weight.astype(low), index, fixed.astype(low), scale.astype(low))
    loose = jnp.maximum(tol, _CROSSOVER_TOL).astype(low)
    z0_lo = z0.astype(low)
    rough = interior_point(phi_start.astype(low), *lo_args, loose, max_iter, z0_lo, jnp.asarray(0))
    usable = jnp.all(jnp.isfinite(rough.phi) & (rough.phi > 0) & jnp.isfinite(rough.z))
    state = SolverState(
        phi=jnp.where(usable, rough.phi.astype(phi_start.dtype), phi_start),
        z=jnp.where(usable, rough.z.astype(phi_start.dtype), z0),
        grad_f=rough.grad_f.astype(phi_start.dtype),
        iterations=rough.iterations,
    )
    ev = polish(snap_to_boundary(state, *args[:4]), *args, tol)

    def resume_ip(_: None) -> tuple[Evaluation, Array]:
        # a wrong active set: the interior point (input precision) to tol, then polish again
        st = interior_point(state.phi, *args, tol, max_iter, state.z, state.iterations)
        return polish(snap_to_boundary(st, *args[:4]), *args, tol), st.iterations

    iterations = state.iterations
    if resume:
        ev, iterations = jax.lax.cond(
            kkt_residual(ev, scale) > tol, resume_ip, lambda _: (ev, state.iterations), None
        )
    ok = (kkt_residual(ev, scale) <= tol) & (iterations < max_iter)
    return ev, iterations, ok


class ProfileState(NamedTuple):
    """Iterate of the profile search over ``s = log beta``.

    Attributes:
        s: current ``log beta``.
        lo: largest ``s`` seen with ``l*'(s) > 0`` (the maximiser is above it).
        hi: smallest ``s`` seen with ``l*'(s) <= 0``.
        step: next change of ``s``.
        slope: ``l*'(s) / N``.
        inner: inner optimum at ``s`` (boundary parameters exactly 0), evaluated.
        iterations: Newton steps of all inner solves so far.
        inner_ok: the last inner solve met its tolerance.
        outer: decays visited.
    """

    s: Float[Array, ""]
    lo: Float[Array, ""]
    hi: Float[Array, ""]
    step: Float[Array, ""]
    slope: Float[Array, ""]
    inner: Evaluation
    iterations: Int[Array, ""]
    inner_ok: Array
    outer: Int[Array, ""]


def profile_decay(
    s0: Float[Array, ""],
    phi0: Float[Array, " P"],
    rd: RowData,
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
    scale: Float[Array, ""],
    tol: Float[Array, ""],
    max_iter: Int[Array, ""],
    max_outer: Int[Array, ""],
    day_scale: Float[Array, "E D B"] | None = None,
) -> tuple[ProfileState, Design]:
    """Maximise the profile log-likelihood over a shared ``s = log beta`` (see module doc).

    Returns:
        The final iterate and the design at its ``s``.
    """
    d = index.shape[0]
    ones = jnp.ones((1, d), phi0.dtype)
    weight = rd.weight.astype(phi0.dtype)

    def visit(
        s: Array, start: Array, gap0: Array, lo: Array, hi: Array, iters: Array, outer: Array
    ) -> tuple[ProfileState, Design]:
        dsg = design(jnp.exp(s) * ones, rd, order=2, day_scale=day_scale)
        ev, k, ok = solve_at(start, dsg, weight, index, fixed, scale, tol, max_iter, gap0)
        l_s, _, _, curv = profile_derivatives(ev, dsg, weight, index, fixed)
        lo = jnp.where(l_s > 0, jnp.maximum(lo, s), lo)
        hi = jnp.where(l_s <= 0, jnp.minimum(hi, s), hi)
        newton = jnp.where(curv < 0, -l_s / jnp.where(curv < 0, curv, -1.0), jnp.sign(l_s))
        step = jnp.clip(newton, -_MAX_LOG_STEP, _MAX_LOG_STEP)
        outside = (s + step <= lo) | (s + step >= hi)
        bracketed = jnp.isfinite(lo) & jnp.isfinite(hi)
        step = jnp.where(bracketed & outside, 0.5 * (lo + hi) - s, step)
        st = ProfileState(s, lo, hi, step, l_s / scale, ev, iters + k, ok, outer + 1)
        return st, dsg

    def cond(carry: tuple[ProfileState, Design]) -> Array:
        st, _ = carry
        moving = (jnp.abs(st.step) > _LOG_STEP_TOL) & (jnp.abs(st.slope) > tol)
        return (st.outer == 0) | ((st.outer < max_outer) & moving & jnp.isfinite(st.s))

    def body(carry: tuple[ProfileState, Design]) -> tuple[ProfileState, Design]:
        st, _ = carry
        cold = st.outer == 0
        # warm start, with the boundary parameters moved back inside so they can re-enter
        start = jnp.where(cold, phi0, jnp.maximum(st.inner.phi, _WARM_FLOOR * phi0))
        gap0 = jnp.where(cold, 1.0, _WARM_GAP).astype(phi0.dtype)
        return visit(st.s + st.step, start, gap0, st.lo, st.hi, st.iterations, st.outer)

    # the first visit happens inside the loop (the solver is compiled once)
    inf = jnp.asarray(jnp.inf, phi0.dtype)
    zero = jnp.zeros((), phi0.dtype)
    dummy = jax.eval_shape(lambda: design(jnp.exp(s0) * ones, rd, order=2, day_scale=day_scale))
    dsg0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), dummy)
    ev0 = Evaluation(phi0, zero, jnp.zeros_like(phi0), jnp.zeros_like(weight))
    count = jnp.asarray(0)
    st0 = ProfileState(s0, -inf, inf, zero, zero, ev0, count, jnp.asarray(False), count)
    return jax.lax.while_loop(cond, body, (st0, dsg0))


class NewtonFit(NamedTuple):
    """Result of :func:`fit_given_decay` or :func:`fit_shared_decay`.

    Attributes:
        phi: free ``(mu, alpha)`` parameters (boundary values exactly 0).
        log_beta: the fitted shared ``log beta`` (``log beta[0, 0]`` when the decay is given).
        log_likelihood: at the optimum.
        grad_norm: norm of the projected gradient of ``-l / N`` in ``phi`` (and ``beta``
            when fitted): components at ``phi_p = 0`` count only where they point inside.
        iterations: Newton steps in total (all inner solves).
        profile_steps: decays visited by the profile search (1 when given).
        converged: every stopping rule was met before its cap.
        hessian: observed information (Hessian of ``-l``) in ``(phi, beta)`` (``beta`` only
            when fitted, last).
    """

    phi: Float[Array, " P"]
    log_beta: Float[Array, ""]
    log_likelihood: Float[Array, ""]
    grad_norm: Float[Array, ""]
    iterations: Int[Array, ""]
    profile_steps: Int[Array, ""]
    converged: Array
    hessian: Float[Array, "Q Q"]


@partial(jax.jit, static_argnames=("with_hessian", "resume"))
def _fit_given_decay(
    phi0: Float[Array, " P"],
    beta: Float[Array, "R D"],
    rd: RowData,
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
    scale: Float[Array, ""],
    tol: Float[Array, ""],
    max_iter: Int[Array, ""],
    day_scale: Float[Array, "E D B"] | None = None,
    with_hessian: bool = True,
    resume: bool = False,
) -> NewtonFit:
    """Maximum likelihood of ``(mu, alpha)`` at given decays (one concave program).

    The interior point runs in float32 (see :func:`solve_at`); ``resume=True`` compiles the
    float64 resume in, which :func:`fit_given_decay` does only after a solve without it fails.
    """
    weight = rd.weight.astype(phi0.dtype)
    dsg = design(beta, rd, day_scale=day_scale)
    gap0 = jnp.asarray(1.0, phi0.dtype)
    ev, iters, ok = solve_at(
        phi0, dsg, weight, index, fixed, scale, tol, max_iter, gap0, True, resume
    )
    p = phi0.shape[0]
    hessian = (
        information(ev.phi, dsg, ev.inv, weight, index)
        if with_hessian
        else jnp.full((p, p), jnp.nan, phi0.dtype)
    )
    return NewtonFit(
        phi=ev.phi,
        log_beta=jnp.log(beta[0, 0]),
        log_likelihood=ev.value,
        grad_norm=jnp.linalg.norm(_projected(-ev.grad / scale, ev.phi)),
        iterations=iters,
        profile_steps=jnp.asarray(1),
        converged=ok,
        hessian=hessian,
    )


@partial(jax.jit, static_argnames=("with_hessian",))
def fit_shared_decay(
    phi0: Float[Array, " P"],
    s0: Float[Array, ""],
    rd: RowData,
    index: Int[Array, "D K"],
    fixed: Float[Array, "D K"],
    scale: Float[Array, ""],
    tol: Float[Array, ""],
    max_iter: Int[Array, ""],
    max_outer: Int[Array, ""],
    day_scale: Float[Array, "E D B"] | None = None,
    with_hessian: bool = True,
) -> NewtonFit:
    """Maximum likelihood of ``(mu, alpha)`` and a shared decay (profile search).

    The inner solves keep the interior point in the input precision with the resume in the
    program: warm-started solves need the resume about one time in ten.
    """
    weight = rd.weight.astype(phi0.dtype)
    st, dsg = profile_decay(s0, phi0, rd, index, fixed, scale, tol, max_iter, max_outer, day_scale)
    outer_ok = (jnp.abs(st.step) <= _LOG_STEP_TOL) | (jnp.abs(st.slope) <= tol)
    ev = st.inner
    l_s, l_ss, l_phi_s, _ = profile_derivatives(ev, dsg, weight, index, fixed)
    beta = jnp.exp(st.s)
    p = phi0.shape[0]
    if with_hessian:
        # Hessian of -l in (phi, beta) from the derivatives in s = log beta
        h_pp = information(ev.phi, dsg, ev.inv, weight, index)
        h_pb = -l_phi_s / beta
        h_bb = -(l_ss - l_s) / beta**2
        hessian = jnp.block([[h_pp, h_pb[:, None]], [h_pb[None, :], h_bb[None, None]]])
    else:
        hessian = jnp.full((p + 1, p + 1), jnp.nan, phi0.dtype)
    grad_phi = _projected(-ev.grad / scale, ev.phi)
    grad_all = jnp.concatenate([grad_phi, (-l_s / (scale * beta))[None]])
    return NewtonFit(
        phi=ev.phi,
        log_beta=st.s,
        log_likelihood=ev.value,
        grad_norm=jnp.linalg.norm(grad_all),
        iterations=st.iterations,
        profile_steps=st.outer,
        converged=st.inner_ok & outer_ok & (st.outer < max_outer),
        hessian=hessian,
    )


def _with_resume(solver: Callable[..., NewtonFit]) -> Callable[..., NewtonFit]:
    """The solver without the rarely needed interior-point resume, rerun with it when the
    first solve does not converge: the common program compiles faster."""

    def run(*args: Any, with_hessian: bool = True) -> NewtonFit:
        out = solver(*args, with_hessian=with_hessian, resume=False)
        if not bool(out.converged):
            out = solver(*args, with_hessian=with_hessian, resume=True)
        return out

    run.__name__ = solver.__name__.lstrip("_")
    run.__doc__ = solver.__doc__
    return run


fit_given_decay = _with_resume(_fit_given_decay)
