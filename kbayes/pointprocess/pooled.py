"""Pooled maximum likelihood over many event-days with shared Hawkes parameters.

Each event-day ``e`` is an independent realisation on its own window ``[0, T_e]`` starting
with no history, so the pooled log-likelihood is the exact sum of the per-day
log-likelihoods (Ogata 1978),

    log L(theta) = sum_e [ sum_k log lambda_{m_k}(t_k^e) - sum_i Lambda_i^e(T_e) ],

with one ``theta = (mu, alpha, beta)`` shared by all days (the baseline per local hour-of-day
bin, each day phased by its own start time). Days are never concatenated.

This is the Hawkes fitter over windows; the single-window :func:`kbayes.pointprocess.fit` is
its one-window case on the same pieces: the row layout of one window
(:func:`~kbayes.pointprocess.layout.row_data`), the same Newton problem and start
(:func:`~kbayes.pointprocess.newton.newton_problem`), solvers, L-BFGS loop
(:func:`kbayes.optim.lbfgs_minimize`), Hessian (:func:`~kbayes.pointprocess.mle.hessian_of`),
standard errors and diagnostics (:func:`~kbayes.pointprocess.mle.fit_info`). ``fit`` keeps
the options only one window has (given or per-row/per-pair decays, an ``init``, Adam).

Per-day baselines (``day_baseline``): busy and quiet days under one baseline misstate the
compensator (time-rescaling residuals too short on busy days, too long on quiet ones), so the
baseline of day ``e`` may be ``c_eib mu_ib`` with factors ``c`` shared by the whole day
(``"day"``), by each dimension of the day (``"day_dim"``) or free per bin (``"day_dim_bin"``),
normalised to an exposure-weighted mean of 1 (``mu`` is then the baseline of an average day).

Two solvers:

* Newton (default): for fixed ``beta`` and day factors the pooled log-likelihood is the
  concave program of :mod:`kbayes.pointprocess.newton` on the days' events (each day's
  recursion restarts), solved by the interior-point Newton method with the shared decay
  profiled. With day factors the fit alternates (block coordinate ascent, each block exact,
  the likelihood never decreasing): ``(mu, alpha, beta)`` given ``c``; then every ``c_g``
  given the rest, a one-dimensional concave problem ``max sum_n log(c m_n + e_n) - c M_g``
  (baseline part ``m_n``, excitation ``e_n``), until the log-likelihood gains less than
  ``tol * N`` per round. Standard errors then treat the factors as known.
* L-BFGS (shared baseline only): days padded to a common length and stacked,
  :func:`kbayes.pointprocess.log_likelihood_fast` ``vmap``-ed over the day axis,
  ``phi = softplus(u)``, optax L-BFGS inside one jitted ``lax.while_loop``, Hessian by
  ``jax.hessian``.

Both give Wald standard errors in ``phi`` and the delta-method error of the spectral radius,
with one shared decay. A dimension with no events on any day has ``mu_i = 0`` and its untied
alpha entries fixed at 0 (unless ``keep_empty``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jaxtyping import Float, Int

from kbayes import shapes
from kbayes.pointprocess.baseline import BaselineGrid, constant_baseline
from kbayes.pointprocess.concave import full_params
from kbayes.pointprocess.design import design
from kbayes.pointprocess.events import EventSequence, HawkesData, pad_rows, padded_length, prepare
from kbayes.pointprocess.gradient import log_likelihood_fast
from kbayes.pointprocess.interior_point import Limits
from kbayes.pointprocess.layout import RowData, row_data
from kbayes.pointprocess.mle import (
    FreeIndex,
    FreeParams,
    HawkesFitInfo,
    _inv_softplus,
    drop_empty,
    fit_info,
    hessian_of,
    hessian_standard_errors,
    run_lbfgs,
    unpack,
    unpack_np,
)
from kbayes.pointprocess.newton import fit_given_decay, fit_shared_decay, newton_problem
from kbayes.pointprocess.params import HawkesParams, check_stationarity
from kbayes.pointprocess.structure import as_tying

DayBaseline = Literal["shared", "day", "day_dim", "day_dim_bin"]
_MAX_PROFILE = 100  # decays visited by one profile search at most
_MAX_ROUNDS = 200  # alternations between the day factors and the rest at most


MIN_DAY_LENGTH = 256  # day_length: powers of two, at least this


def day_length(n: int) -> int:
    """Padded length for ``n`` events: the next power of two, at least 256
    (:func:`kbayes.shapes.bucket_length`).

    Few distinct lengths mean few compiled programs when many days are fitted one by one.
    """
    return shapes.bucket_length(n, MIN_DAY_LENGTH)


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
    rows = [pad_rows(prepare(ev, grid), length) for ev, grid in zip(days, grids, strict=True)]
    return HawkesData(*(jnp.stack(x) for x in zip(*rows, strict=True)))


def pooled_log_likelihood(params: HawkesParams, stacked: HawkesData) -> Float[Array, ""]:
    """Sum over the day axis of the exact per-day log-likelihoods."""
    per_day = jax.vmap(log_likelihood_fast, in_axes=(None, 0))(params, stacked)
    return jnp.sum(per_day)


class PooledHawkesFit(NamedTuple):
    """A pooled fit: the fields of :class:`~kbayes.pointprocess.mle.HawkesFit` plus day factors.

    Attributes:
        params: shared ``(mu, alpha, beta)``; with day factors, ``mu`` is the baseline of a day
            with factor 1 (the exposure-weighted mean day).
        stderr: standard errors (with day factors: treating the factors as known).
        covariance: of the free ``(mu, alpha, beta)`` parameters.
        free_index: where each free parameter sits in ``params``.
        info: diagnostics (``num_free`` counts the identified day factors).
        day_scale: ``(E, D, B)`` factor ``c_eib`` of day ``e``'s baseline in dimension ``i``
            and bin ``b`` (exposure-weighted mean 1; all 1 for a shared baseline).
    """

    params: HawkesParams
    stderr: HawkesParams
    covariance: Float[np.ndarray, "P P"]
    free_index: FreeIndex
    info: HawkesFitInfo
    day_scale: Float[np.ndarray, "E D B"]


def fit_pooled(
    days: Sequence[EventSequence],
    grids: Sequence[BaselineGrid] | None = None,
    *,
    alpha_structure: Any = None,
    beta_init: float | None = None,
    day_baseline: DayBaseline = "shared",
    method: Literal["auto", "newton", "lbfgs"] = "auto",
    max_iter: int = 500,
    tol: float | None = None,
    stderr: bool = True,
    length: int | None = None,
    keep_empty: bool = False,
) -> PooledHawkesFit:
    """Shared ``(mu, alpha, beta)`` maximising the sum of the per-day log-likelihoods.

    Args:
        days: validated event-days with equal ``num_dims``.
        grids: one baseline grid per day (equal bin counts; phases may differ); constant
            baseline when None.
        alpha_structure: as in :func:`kbayes.pointprocess.fit` (None, bool mask, tying matrix).
        beta_init: initial shared decay (default ``1 / median`` inter-event gap over all days).
        day_baseline: ``"shared"`` (one baseline for every day), ``"day"`` (the baseline of
            day ``e`` is ``c_e mu_ib``), ``"day_dim"`` (``c_ei mu_ib``: each dimension's
            level moves by day, the hour-of-day profile is shared) or ``"day_dim_bin"``
            (``c_eib mu_ib``: a free baseline per day, dimension and bin).
        method: ``"newton"`` (``"auto"``): for given day factors the model is the concave
            program of :mod:`kbayes.pointprocess.newton` on the stacked days, with the
            decay profiled; day factors alternate with it (see the module docstring).
            ``"lbfgs"``: L-BFGS on the stacked scans (shared baseline only).
        max_iter: Newton steps per inner solve, or L-BFGS iterations.
        tol: Newton: KKT tolerance of the inner problems (default ``1e-10``; the day-factor
            rounds stop when the log-likelihood gains less than ``tol * N``); L-BFGS:
            gradient-norm tolerance on ``-log L / N`` in the unconstrained parameters
            (default ``1e-6``).
        stderr: compute the Hessian, standard errors and covariance.
        length: L-BFGS only: padded length of every day (see :func:`stack_days`); a fixed
            length (e.g. :func:`day_length`) lets many single-day fits share one compiled
            program. (Newton pads to few distinct sizes by itself.)
        keep_empty: keep the parameters of dimensions with no events free (their ``mu``
            tends to 0) instead of fixing them, so the free-parameter shapes, hence the
            compiled program, do not depend on which dimensions are empty. Untied ``alpha``
            entries in an empty dimension's column are then not identified (L-BFGS: they keep
            their initial value; Newton: they are set to 0; neither changes the likelihood).

    Returns:
        :class:`PooledHawkesFit` (``info.num_events`` over all days).

    Raises:
        ValueError: on inconsistent days or grids, no events, or an unknown option.
    """
    if day_baseline not in ("shared", "day", "day_dim", "day_dim_bin"):
        raise ValueError(
            "day_baseline must be 'shared', 'day', 'day_dim' or 'day_dim_bin', "
            f"got {day_baseline!r}"
        )
    if method not in ("auto", "newton", "lbfgs"):
        raise ValueError(f"method must be 'auto', 'newton' or 'lbfgs', got {method!r}")
    if method == "lbfgs" and day_baseline != "shared":
        raise ValueError("method='lbfgs' fits a shared baseline only; use method='newton'")
    if not days:
        raise ValueError("days: no event-days to fit")
    grids = [constant_baseline()] * len(days) if grids is None else list(grids)
    if method == "lbfgs":
        tol = 1e-6 if tol is None else tol
        return _fit_lbfgs(
            days, grids, alpha_structure, beta_init, max_iter, tol, stderr, length, keep_empty
        )
    return _fit_newton(
        days, grids, alpha_structure, beta_init, day_baseline, max_iter, tol, stderr, keep_empty
    )


class _Setup(NamedTuple):
    """Free-parameter layout shared by both solvers."""

    index: FreeIndex
    fixed: HawkesParams
    phi0: FreeParams
    tying: np.ndarray
    counts: np.ndarray
    empty: list[int]


def _setup(
    days: Sequence[EventSequence],
    expo: np.ndarray,
    alpha_structure: Any,
    beta_init: float | None,
    keep_empty: bool,
) -> _Setup:
    d = days[0].num_dims
    nb = expo.shape[0]
    counts = np.sum([ev.counts for ev in days], axis=0)
    if int(counts.sum()) == 0:
        raise ValueError("days: no events at all; nothing to fit")
    empty = [] if keep_empty else [int(i) for i in np.flatnonzero(counts == 0)]
    tying = drop_empty(as_tying(alpha_structure, d), empty)
    if empty:
        warnings.warn(
            f"days: dimension(s) {empty} have no events on any day; mu = 0 there",
            UserWarning,
            stacklevel=3,
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
        mu=np.broadcast_to(rate[:, None], (d, nb))[~mu_fixed].astype(np.float64),
        alpha=np.full((n_alpha,), a0),
        beta=np.full((1 if n_alpha else 0,), b0),
    )
    fixed = HawkesParams(mu=np.zeros((d, nb)), alpha=np.zeros((d, d)), beta=np.full((d, d), b0))
    index = FreeIndex(mu=mu_index, alpha=tying, beta=beta_index)
    return _Setup(index, fixed, phi0, tying, counts, empty)


def _fit_newton(
    days: Sequence[EventSequence],
    grids: Sequence[BaselineGrid],
    alpha_structure: Any,
    beta_init: float | None,
    day_baseline: DayBaseline,
    max_iter: int,
    tol: float | None,
    stderr: bool,
    keep_empty: bool,
) -> PooledHawkesFit:
    rd = row_data(days, grids)
    expo_e = np.asarray(rd.exposure)
    setup = _setup(days, expo_e.sum(axis=0), alpha_structure, beta_init, keep_empty)
    index, fixed, phi0 = setup.index, setup.fixed, setup.phi0
    d, n = days[0].num_dims, int(setup.counts.sum())
    dtype = jax.dtypes.canonicalize_dtype(np.float64)  # float32 unless jax_enable_x64
    tol = (1e-10 if dtype == jnp.float64 else 1e-5) if tol is None else tol
    pm = len(phi0.mu)
    problem, start = newton_problem(
        rd, index.mu, index.alpha, fixed.mu, fixed.alpha, phi0.mu, phi0.alpha, dtype
    )
    theta_index, theta_fixed = problem.index, problem.fixed
    limits = Limits(np.asarray(tol, dtype), np.asarray(max_iter, np.int32), np.int32(_MAX_PROFILE))
    fitted_beta = len(phi0.beta) > 0
    s = float(np.log(phi0.beta[0])) if fitted_beta else float(np.log(fixed.beta[0, 0]))

    def solve(scale_ed: np.ndarray, s0: float, hessian: bool) -> Any:
        at = problem._replace(day_scale=scale_ed.astype(dtype))
        if fitted_beta:
            s0_arr = np.asarray(s0, dtype)
            out = fit_shared_decay(start, s0_arr, at, limits, with_hessian=hessian)
        else:
            rows = np.full((1, d), np.exp(s0), dtype)
            out = fit_given_decay(start, rows, at, limits, with_hessian=hessian)
        return jax.device_get(out)

    groups = _day_groups(day_baseline, len(days), d, expo_e.shape[1])
    day_scale = np.ones((len(days), d, expo_e.shape[1]))
    out = solve(day_scale, s, stderr and groups is None)
    iterations, rounds, converged = int(out.iterations), 1, bool(out.converged)
    if groups is not None:
        previous = -np.inf
        while rounds < _MAX_ROUNDS and out.log_likelihood - previous > tol * n:
            previous = float(out.log_likelihood)
            theta = full_params(out.phi, theta_index, theta_fixed)
            day_scale = np.asarray(
                _update_day_scale(
                    np.asarray(theta), np.exp(out.log_beta), rd, groups, day_scale.astype(dtype)
                ),
                np.float64,
            )
            out = solve(day_scale, float(out.log_beta), False)
            iterations += int(out.iterations)
            rounds += 1
        converged = bool(out.converged) and rounds < _MAX_ROUNDS
        if stderr:
            out = solve(day_scale, float(out.log_beta), True)
    phi = FreeParams(
        mu=out.phi[:pm],
        alpha=out.phi[pm:],
        beta=np.exp(np.atleast_1d(out.log_beta)) if fitted_beta else np.zeros(0),
    )
    params = unpack_np(phi, index, fixed)
    day_scale, mean = _normalise(day_scale, expo_e, day_baseline)
    params = params._replace(mu=params.mu * mean)
    phi = phi._replace(mu=params.mu[index.mu >= 0])
    num_free = sum(len(x) for x in phi)
    hess = np.asarray(out.hessian, np.float64) if stderr and num_free else None
    if hess is not None:
        # d/d(mu c_bar) = d/dmu / c_bar: the Hessian follows the normalisation of mu
        ratio = np.ones(len(hess))
        ratio[:pm] = mean[index.mu >= 0]
        hess = hess / np.outer(ratio, ratio)
    cov, se, pd_ok, rho_se = hessian_standard_errors(
        hess, phi, HawkesParams(*map(jnp.asarray, params)), index, setup.tying, warn=False
    )
    extra = 0
    if groups is not None:  # identified factors, less one scale constraint per mean
        means = {"day": 1, "day_dim": d, "day_dim_bin": int((expo_e.sum(axis=0) > 0).sum()) * d}
        extra = max(0, len(np.unique(groups[day_scale > 0])) - means[day_baseline])
    method = ("newton (profile beta)" if fitted_beta else "newton") + (
        f", day factors ({day_baseline}, {rounds} rounds)" if groups is not None else ""
    )
    info = fit_info(
        float(out.log_likelihood),
        iterations,
        float(out.grad_norm),
        converged,
        method,
        check_stationarity(params, stacklevel=3),
        rho_se,
        num_free + extra,
        setup.counts,
        pd_ok,
    )
    return PooledHawkesFit(
        HawkesParams(*map(jnp.asarray, params)),
        se,
        cov,
        FreeIndex(*map(jnp.asarray, index)),
        info,
        day_scale,
    )


def _fit_lbfgs(
    days: Sequence[EventSequence],
    grids: Sequence[BaselineGrid],
    alpha_structure: Any,
    beta_init: float | None,
    max_iter: int,
    tol: float,
    stderr: bool,
    length: int | None,
    keep_empty: bool,
) -> PooledHawkesFit:
    stacked = stack_days(days, grids, length=length)
    expo = np.asarray(stacked.exposure, np.float64).sum(axis=0)
    setup = _setup(days, expo, alpha_structure, beta_init, keep_empty)
    n = int(setup.counts.sum())
    index = FreeIndex(*map(jnp.asarray, setup.index))
    fixed = HawkesParams(*map(jnp.asarray, setup.fixed))
    u0 = FreeParams(*(jnp.asarray(_inv_softplus(np.asarray(x))) for x in setup.phi0))
    scale = jnp.asarray(float(n), stacked.dt.dtype)
    u, value, gnorm, iters = run_lbfgs(
        u0,
        stacked,
        index,
        fixed,
        scale,
        jnp.asarray(max_iter),
        jnp.asarray(tol, scale.dtype),
        loglik=pooled_log_likelihood,
    )
    converged = bool(float(gnorm) < tol)
    if not converged:
        warnings.warn(
            f"pooled Hawkes fit stopped after {int(iters)} iterations with gradient "
            f"norm {float(gnorm):.3g} >= tol = {tol:g}",
            UserWarning,
            stacklevel=3,
        )
    phi = FreeParams(*(jax.nn.softplus(x) for x in u))
    params = unpack(phi, index, fixed)
    num_free = sum(int(x.shape[0]) for x in phi)
    hess = (
        np.asarray(hessian_of(pooled_log_likelihood, phi, stacked, index, fixed), np.float64)
        if stderr and num_free
        else None
    )
    # Night-time baselines often sit at the boundary: the pseudo-inverse is kept quietly.
    cov, se, pd_ok, rho_se = hessian_standard_errors(
        hess, phi, params, index, setup.tying, warn=False
    )
    info = fit_info(
        -float(value) * n,
        int(iters),
        float(gnorm),
        converged,
        "lbfgs (pooled)",
        check_stationarity(params, stacklevel=3),
        rho_se,
        num_free,
        setup.counts,
        pd_ok,
    )
    ones = np.ones((len(days), days[0].num_dims, int(stacked.exposure.shape[1])))
    return PooledHawkesFit(params, se, cov, index, info, ones)


def _day_groups(
    day_baseline: DayBaseline, num_days: int, num_dims: int, num_bins: int
) -> np.ndarray | None:
    """``(E, D, B)`` label of the factor each (day, dimension, bin) baseline uses."""
    if day_baseline == "shared":
        return None
    shape = (num_days, num_dims, num_bins)
    if day_baseline == "day":
        return np.broadcast_to(np.arange(num_days)[:, None, None], shape).copy()
    if day_baseline == "day_dim":
        labels = np.arange(num_days * num_dims).reshape(num_days, num_dims)
        return np.broadcast_to(labels[:, :, None], shape).copy()
    return np.arange(int(np.prod(shape))).reshape(shape)


def _normalise(
    day_scale: np.ndarray, expo_e: np.ndarray, day_baseline: DayBaseline
) -> tuple[np.ndarray, np.ndarray]:
    """Factors rescaled to an exposure-weighted mean of 1, and the ``(D, B)`` means.

    The mean is over days (and dimensions and bins, as far as one factor covers them), so
    ``mu`` times the mean with the factors divided by it gives the same likelihood.
    """
    if day_baseline == "shared":
        return day_scale, np.ones(day_scale.shape[1:])
    weight = np.broadcast_to(expo_e[:, None, :], day_scale.shape)  # (E, D, B)
    axes = {"day": (0, 1, 2), "day_dim": (0, 2), "day_dim_bin": (0,)}[day_baseline]
    total = np.sum(weight, axis=axes, keepdims=True)
    mean = np.sum(weight * day_scale, axis=axes, keepdims=True) / np.where(total > 0, total, 1)
    mean = np.broadcast_to(np.where(mean > 0, mean, 1.0), day_scale.shape)
    return day_scale / mean, mean[0]


@partial(jax.jit, static_argnames=("steps",))
def _update_day_scale(
    theta: Float[Array, "D K"],
    beta: Float[Array, ""],
    rd: RowData,
    groups: Int[Array, "E D B"],
    day_scale: Float[Array, "E D B"],
    steps: int = 30,
) -> Float[Array, "E D B"]:
    """Day factors maximising the likelihood given ``(mu, alpha, beta)``.

    For the events ``n`` of factor ``g`` (its days, dimensions and bins), with baseline part
    ``m_n = mu_{i b_n}`` and excitation ``e_n``, ``c_g`` maximises the concave
    ``sum_n log(c m_n + e_n) - c M_g`` (``M_g = sum_{(e, i, b) in g} mu_ib E_eb``): Newton in
    ``c`` from the current value, halving towards 0 when a step leaves ``c > 0``. A factor
    with no events has the boundary MLE 0.
    """
    d = theta.shape[0]
    nb = rd.exposure.shape[-1]
    dsg = design(jnp.full((1, d), beta), rd)
    base = dsg.x[..., :nb]
    theta_c = theta[rd.row]
    m = jnp.einsum("gcb,gb->gc", base, theta_c[:, :nb])
    e = jnp.einsum("gck,gk->gc", dsg.x[..., nb:], theta_c[:, nb:])
    num = int(groups.size)
    label = jnp.einsum("gcb,gcb->gc", base, groups[rd.window, rd.row[:, None]])
    w = rd.weight
    seg = jnp.where(w > 0, jnp.round(label).astype(jnp.int32), num).ravel()
    exposure = jnp.asarray(rd.exposure)[:, None, :] * theta[None, :, :nb]  # (E, D, B)
    big_m = jax.ops.segment_sum(exposure.ravel(), groups.ravel(), num)
    events = jax.ops.segment_sum(w.ravel(), seg, num + 1)[:num]
    c0 = jnp.zeros((num,), theta.dtype).at[groups.ravel()].set(day_scale.ravel())
    m, e, w = m.ravel(), e.ravel(), w.ravel()

    def step(_: int, c: Array) -> Array:
        lam = c[jnp.minimum(seg, num - 1)] * m + e
        safe = jnp.where(w > 0, lam, 1.0)
        grad = jax.ops.segment_sum(w * m / safe, seg, num + 1)[:num] - big_m
        curv = jax.ops.segment_sum(w * (m / safe) ** 2, seg, num + 1)[:num]
        new = c + grad / jnp.maximum(curv, 1e-300)
        return jnp.where(new > 0, new, 0.5 * c)

    c = jax.lax.fori_loop(0, steps, step, jnp.maximum(c0, 1e-3))
    c = jnp.where(events > 0, c, 0.0)
    return c[groups]
