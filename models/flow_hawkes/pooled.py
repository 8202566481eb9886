"""Pooled maximum likelihood over many event-days with shared Hawkes parameters.

Each event-day ``d`` is an independent realisation on its own window ``[0, T_d]`` starting
with no history, so the pooled log-likelihood is the exact sum of the per-day
log-likelihoods (Ogata 1978),

    log L(theta) = sum_d [ sum_k log lambda_{m_k}(t_k^d) - sum_i Lambda_i^d(T_d) ],

with one ``theta = (mu, alpha, beta)`` shared by all days (the baseline per local hour-of-day
bin, each day phased by its own start time). Days are *not* concatenated: they are padded to a
common length (zero-weight rows) and stacked, and :func:`kbayes.pointprocess.log_likelihood_fast`
(one forward recursion with its analytic gradient) is ``vmap``-ed over the day axis, so the
sequential scan is as long as the longest day, not the whole sample.

The fit mirrors :func:`kbayes.pointprocess.fit`: ``phi = softplus(u)`` for every free entry,
L-BFGS (optax, zoom line search) on ``-log L / N`` inside one jitted ``lax.while_loop``, Wald
standard errors from the Hessian in ``phi`` and the delta-method error of the spectral radius.
One shared decay ``beta`` (the fit of a shared-decay model is what the flow model uses).
A dimension with no events on any day has ``mu_i = 0`` and its untied alpha entries fixed at 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu
from jax import Array
from jax.flatten_util import ravel_pytree
from jaxtyping import Float

from kbayes.pointprocess import (
    BaselineGrid,
    EventSequence,
    FitResult,
    HawkesData,
    HawkesParams,
    as_tying,
    check_stationarity,
    constant_baseline,
    log_likelihood_fast,
    prepare,
)
from kbayes.pointprocess.events import padded_length
from kbayes.pointprocess.mle import (
    FitInfo,
    FreeIndex,
    FreeParams,
    _inv_softplus,
    hessian_standard_errors,
    unpack,
)


def bucket_length(n: int) -> int:
    """Padded length for ``n`` events: the next power of two, at least 256.

    Few distinct lengths mean few compiled programs when many days are fitted one by one.
    """
    return max(256, 1 << max(0, int(n) - 1).bit_length())


def stack_days(
    days: Sequence[EventSequence],
    grids: Sequence[BaselineGrid] | None = None,
    *,
    length: int | None = None,
) -> HawkesData:
    """Per-day :class:`HawkesData` padded to one length and stacked on a leading day axis.

    Args:
        days: event-days with equal ``num_dims``.
        grids: one baseline grid per day (constant baseline when None).
        length: padded length (default :func:`kbayes.pointprocess.events.padded_length` of the
            longest day); must be at least the longest day.
    """
    if not days:
        raise ValueError("days: no event-days to stack")
    d = days[0].num_dims
    for k, ev in enumerate(days):
        if ev.num_dims != d:
            raise ValueError(f"days[{k}] has {ev.num_dims} dimensions, days[0] has {d}")
    grids = [constant_baseline()] * len(days) if grids is None else list(grids)
    if len(grids) != len(days):
        raise ValueError(f"{len(grids)} grids for {len(days)} days")
    nb = {g.num_bins for g in grids}
    if len(nb) != 1:
        raise ValueError(f"grids have different bin counts {sorted(nb)}")
    longest = max(len(ev.times) for ev in days)
    length = padded_length(longest) if length is None else int(length)
    if length < longest:
        raise ValueError(f"length = {length} is shorter than the longest day ({longest} events)")
    rows = []
    for ev, grid in zip(days, grids, strict=True):
        data = prepare(ev, grid)
        extra = length - int(data.dt.shape[0])
        pad1 = lambda x, extra=extra: jnp.concatenate([x, jnp.zeros((extra,), x.dtype)])
        rows.append(
            data._replace(
                dt=pad1(data.dt),
                marks=pad1(data.marks),
                weight=pad1(data.weight),
                bins=pad1(data.bins),
                dexp=jnp.concatenate([data.dexp, jnp.zeros((extra, data.dexp.shape[1]))]),
            )
        )
    return HawkesData(*(jnp.stack(x) for x in zip(*rows, strict=True)))


def pooled_log_likelihood(params: HawkesParams, stacked: HawkesData) -> Float[Array, ""]:
    """Sum over the day axis of the exact per-day log-likelihoods."""
    per_day = jax.vmap(log_likelihood_fast, in_axes=(None, 0))(params, stacked)
    return jnp.sum(per_day)


def _nll_u(u: FreeParams, data: HawkesData, index: FreeIndex, fixed: HawkesParams, scale: Array):
    phi = jax.tree.map(jax.nn.softplus, u)
    return -pooled_log_likelihood(unpack(phi, index, fixed), data) / scale


@jax.jit
def _run_lbfgs(
    u0: FreeParams,
    data: HawkesData,
    index: FreeIndex,
    fixed: HawkesParams,
    scale: Array,
    max_iter: Array,
    tol: Array,
) -> tuple[FreeParams, Array, Array, Array]:
    fun = lambda u: _nll_u(u, data, index, fixed, scale)
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fun)

    def step(carry: tuple[FreeParams, Any, Array]) -> tuple[FreeParams, Any, Array]:
        u, state, _ = carry
        value, grad = value_and_grad(u, state=state)
        updates, state = opt.update(grad, state, u, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(u, updates), state, value

    def cond(carry: tuple[FreeParams, Any, Array]) -> Array:
        _, state, prev = carry
        k = otu.tree_get(state, "count")
        value = otu.tree_get(state, "value")
        err = otu.tree_norm(otu.tree_get(state, "grad"))
        stalled = (k > 1) & (jnp.abs(prev - value) <= 1e-15 * jnp.maximum(1.0, jnp.abs(value)))
        return (k == 0) | ((k < max_iter) & (err >= tol) & ~stalled & jnp.isfinite(value))

    init = (u0, opt.init(u0), jnp.asarray(jnp.inf, scale.dtype))
    u, state, _ = jax.lax.while_loop(cond, step, init)
    value, grad = otu.tree_get(state, "value"), otu.tree_get(state, "grad")
    return u, value, otu.tree_norm(grad), otu.tree_get(state, "count")


@jax.jit
def _hessian(phi: FreeParams, data: HawkesData, index: FreeIndex, fixed: HawkesParams) -> Array:
    flat, unravel = ravel_pytree(phi)
    nll = lambda x: -pooled_log_likelihood(unpack(unravel(x), index, fixed), data)
    return jax.hessian(nll)(flat)


def fit_pooled(
    days: Sequence[EventSequence],
    grids: Sequence[BaselineGrid] | None = None,
    *,
    alpha_structure: Any = None,
    beta_init: float | None = None,
    max_iter: int = 500,
    tol: float = 1e-6,
    stderr: bool = True,
    length: int | None = None,
    keep_empty: bool = False,
) -> FitResult:
    """Shared ``(mu, alpha, beta)`` maximising the sum of the per-day log-likelihoods.

    Args:
        days: validated event-days with equal ``num_dims``.
        grids: one baseline grid per day (equal bin counts; phases may differ); constant
            baseline when None.
        alpha_structure: as in :func:`kbayes.pointprocess.fit` (None, bool mask, tying matrix).
        beta_init: initial shared decay (default ``1 / median`` inter-event gap over all days).
        max_iter: L-BFGS iteration cap.
        tol: gradient-norm tolerance on ``-log L / N`` in the unconstrained parameters.
        stderr: compute the Hessian, standard errors and covariance.
        length: padded length of every day (see :func:`stack_days`); a fixed length (e.g.
            :func:`bucket_length`) lets many single-day fits share one compiled program.
        keep_empty: keep the parameters of dimensions with no events free (their ``mu``
            tends to 0) instead of fixing them, so the free-parameter shapes, hence the
            compiled program, do not depend on which dimensions are empty. Untied ``alpha``
            entries in an empty dimension's column are then not identified (they keep their
            initial value and do not change the likelihood); use a tied structure.

    Returns:
        :class:`kbayes.pointprocess.FitResult` (``info.num_events`` over all days).
    """
    stacked = stack_days(days, grids, length=length)
    d = days[0].num_dims
    nb = int(stacked.exposure.shape[1])
    counts = np.sum([ev.counts for ev in days], axis=0)
    n = int(counts.sum())
    if n == 0:
        raise ValueError("days: no events at all; nothing to fit")
    empty = [] if keep_empty else [int(i) for i in np.flatnonzero(counts == 0)]
    expo = np.asarray(stacked.exposure, np.float64).sum(axis=0)

    tying = as_tying(alpha_structure, d)
    if empty:
        touches = np.zeros((d, d), bool)
        touches[empty, :] = True
        touches[:, empty] = True
        tying = tying.copy()
        for k in np.unique(tying[tying >= 0]):
            if touches[tying == k].all():
                tying[tying == k] = -1
        tying = as_tying(tying, d)
        warnings.warn(
            f"days: dimension(s) {empty} have no events on any day; mu = 0 there",
            UserWarning,
            stacklevel=2,
        )
    beta_index = np.where(tying >= 0, 0, -1) if (tying >= 0).any() else np.full((d, d), -1)
    mu_fixed = np.zeros((d, nb), bool)
    mu_fixed[empty, :] = True
    if not keep_empty:
        mu_fixed[:, expo <= 0] = True
    mu_index = np.full((d, nb), -1, np.int64)
    mu_index[~mu_fixed] = np.arange(int((~mu_fixed).sum()))

    gaps = np.concatenate([np.diff(ev.times) for ev in days])
    gaps = gaps[gaps > 0]
    b0 = (
        float(beta_init)
        if beta_init is not None
        else (float(1.0 / np.median(gaps)) if len(gaps) else 1.0)
    )
    rate = np.maximum(0.5 * counts / expo.sum(), 1e-12)
    free_per_row = int((tying >= 0).sum(axis=1).max()) if (tying >= 0).any() else 0
    a0 = min(0.2, 0.5 / max(1, free_per_row))
    n_alpha = int(tying.max()) + 1 if (tying >= 0).any() else 0
    phi0 = FreeParams(
        mu=jnp.asarray(np.broadcast_to(rate[:, None], (d, nb))[~mu_fixed]),
        alpha=jnp.full((n_alpha,), a0),
        beta=jnp.full((1 if n_alpha else 0,), b0),
    )
    fixed = HawkesParams(mu=jnp.zeros((d, nb)), alpha=jnp.zeros((d, d)), beta=jnp.full((d, d), b0))
    index = FreeIndex(
        mu=jnp.asarray(mu_index), alpha=jnp.asarray(tying), beta=jnp.asarray(beta_index)
    )
    u0 = FreeParams(*(jnp.asarray(_inv_softplus(np.asarray(x))) for x in phi0))
    scale = jnp.asarray(float(n), stacked.dt.dtype)
    u, value, gnorm, iters = _run_lbfgs(
        u0, stacked, index, fixed, scale, jnp.asarray(max_iter), jnp.asarray(tol, scale.dtype)
    )
    converged = bool(float(gnorm) < tol)
    if not converged:
        warnings.warn(
            f"pooled Hawkes fit stopped after {int(iters)} iterations with gradient "
            f"norm {float(gnorm):.3g} >= tol = {tol:g}",
            UserWarning,
            stacklevel=2,
        )
    phi = FreeParams(*(jax.nn.softplus(x) for x in u))
    params = unpack(phi, index, fixed)
    loglik = -float(value) * n
    rho = check_stationarity(params, stacklevel=2)
    num_free = sum(int(x.shape[0]) for x in phi)
    hess = (
        np.asarray(_hessian(phi, stacked, index, fixed), np.float64)
        if stderr and num_free
        else None
    )
    # Night-time baselines often sit at the boundary: the pseudo-inverse is kept quietly.
    cov, se, pd_ok, rho_se = hessian_standard_errors(hess, phi, params, index, tying, warn=False)
    info = FitInfo(
        log_likelihood=loglik,
        num_iterations=int(iters),
        grad_norm=float(gnorm),
        converged=converged,
        method="lbfgs (pooled)",
        spectral_radius=rho,
        spectral_radius_se=rho_se,
        stationary=rho < 1.0,
        num_free=num_free,
        num_events=n,
        empty_dims=[int(i) for i in np.flatnonzero(counts == 0)],
        hessian_positive_definite=pd_ok,
        aic=2.0 * num_free - 2.0 * loglik,
        bic=num_free * float(np.log(n)) - 2.0 * loglik,
    )
    return FitResult(params, se, cov, index, info)
