"""Features and compensator coefficients of the concave Hawkes problem at given decays.

For fixed decays ``beta`` the log-likelihood (Ogata 1978) is linear-in-``theta`` inside the
logs (:mod:`kbayes.pointprocess.concave`): event ``n`` of dimension ``i = m_n`` in baseline bin
``b_n`` has the features

    x_n = [1[b_n = b]_{b < B},  beta_ij S_ij(t_n)_{j < D}],
    S_ij(t) = sum_{t_k^j < t} exp(-beta_ij (t - t_k^j)),

and row ``i`` the compensator coefficients ``c_i = [E_b, G_ij]`` (``E_b``: exposure of bin
``b``; ``G_ij = N_j - sum_k exp(-beta_ij (T - t_k^j))``, the integrated kernels).

``S_ij(t_n) = exp(-beta_ij (t_n - t_p)) A_j(t_p)`` with ``t_p`` the last event of ``j``
strictly before ``t_n`` (so events at equal times do not excite each other) and ``A_j(t_p) =
sum_{t_k^j <= t_p} exp(-beta_ij (t_p - t_k^j))`` the exponential recursion (Ozaki 1979) run
over the events of ``j`` alone, a scalar linear recurrence per dimension: one O(N)
``lax.scan`` per decay (sequential scans of scalars beat an associative scan on CPU), then
O(N D) gathers over the :mod:`~kbayes.pointprocess.layout`. The derivatives of the features in
``s = log beta`` come from the same recursion on ``A^(r) = sum (t - t_k)^r exp(-beta (t -
t_k))``, ``r = 1, 2``. This recursion is tested equal to the online update of
:mod:`kbayes.pointprocess.online` (tests/pointprocess/test_online.py).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jaxtyping import Float, Int

from kbayes.pointprocess.layout import RowData


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
