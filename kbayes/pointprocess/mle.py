"""Maximum-likelihood fit of a multivariate exponential-kernel Hawkes process.

Two solvers share one parametrisation (free baselines per bin, free or tied entries of
``alpha``, decays; :class:`FreeIndex`):

* Newton (the default where it applies: given decays, or one shared fitted decay): for fixed
  decays the log-likelihood is concave in ``(mu, alpha)``, solved exactly by a primal-dual
  interior-point Newton method, and a shared decay is found on the profile likelihood
  (:mod:`kbayes.pointprocess.newton`).
* L-BFGS (per-row, per-pair or tied fitted decays, or on request): ``phi = softplus(u)`` on
  the exact log-likelihood scaled by ``1 / N`` (with the one-pass analytic gradient of
  :mod:`kbayes.pointprocess.gradient`), ``optax.lbfgs`` with a zoom line search inside one
  jitted ``lax.while_loop``; Adam is the fallback when L-BFGS ends on a non-finite value (or
  on request). The L-BFGS loop is :func:`kbayes.optim.lbfgs_minimize`, shared by every fit.

Standard errors are Wald errors from the observed information in the constrained
parametrisation, ``Cov(phi) = H(phi_hat)^{-1}`` with ``H`` the Hessian of the negative
log-likelihood (Newton: in closed form from the features; L-BFGS: ``jax.hessian``); at a
stationary point this equals the
delta-method transform ``J H_u^{-1} J`` (``J = diag(sigmoid(u))``) of the unconstrained
covariance, and the delta method also gives the error of the spectral radius,
``d rho / d alpha_ij = v_i w_j / v'w`` (left/right Perron vectors). Wald errors are not valid
for estimates on the boundary (``alpha_ij ~ 0``).

Documented edge cases:

* A dimension ``i`` with no events: its baseline MLE is on the boundary, so ``mu_i = 0``
  exactly (all bins), and every untied ``alpha`` entry in its row (MLE 0) or column (not
  identified: nothing to excite) is fixed at 0; a :class:`UserWarning` names the dimensions and
  their standard errors are NaN.
* A baseline bin with zero exposure in ``[0, T]`` is not identified: it keeps its initial value
  (the dimension's mean rate / 2) and gets a NaN standard error, with a warning.
* Newton sets estimates at the boundary exactly to 0 (L-BFGS leaves them small positive,
  since ``softplus(u) > 0``).
* ``rho(alpha) >= 1`` at the optimum: :class:`~kbayes.pointprocess.params.StationarityWarning`
  (the radius is always in ``info.spectral_radius``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu
from jax import Array
from jax.flatten_util import ravel_pytree
from jaxtyping import Float, Int

from kbayes.optim import lbfgs_minimize
from kbayes.pointprocess.baseline import BaselineGrid, constant_baseline, exposure_np
from kbayes.pointprocess.events import EventSequence, HawkesData, prepare
from kbayes.pointprocess.gradient import log_likelihood_fast
from kbayes.pointprocess.interior_point import Limits
from kbayes.pointprocess.layout import row_data
from kbayes.pointprocess.newton import fit_given_decay, fit_shared_decay, newton_problem
from kbayes.pointprocess.params import (
    HawkesParams,
    as_jax,
    broadcast_decays,
    check_stationarity,
)
from kbayes.pointprocess.structure import as_tying

BetaStructure = Literal["shared", "row", "pair"]
Method = Literal["auto", "newton", "lbfgs", "adam"]
_MAX_PROFILE = 100  # decays visited by the profile search at most


class FreeIndex(NamedTuple):
    """Position of every entry in the free-parameter vectors (``-1`` = fixed)."""

    mu: Int[Array, "D B"]
    alpha: Int[Array, "D D"]
    beta: Int[Array, "D D"]


class FreeParams(NamedTuple):
    """Free parameters, one vector per block (positive, or unconstrained ``u``)."""

    mu: Float[Array, " Pm"]
    alpha: Float[Array, " Pa"]
    beta: Float[Array, " Pb"]


class HawkesFitInfo(NamedTuple):
    """Diagnostics of a fit.

    Attributes:
        log_likelihood: at the optimum.
        num_iterations: optimiser iterations (both runs when Adam was the fallback).
        grad_norm: norm of the gradient of the scaled objective in ``u`` at the end.
        converged: the gradient tolerance was met.
        method: ``"lbfgs"``, ``"adam"`` or ``"adam (fallback)"``.
        spectral_radius: ``rho(alpha_hat)``.
        spectral_radius_se: its delta-method standard error (NaN without standard errors).
        stationary: ``rho < 1``.
        num_free: number of free parameters.
        num_events: events used.
        empty_dims: dimensions with no events.
        hessian_positive_definite: the observed information was positive definite.
        aic: ``2 k - 2 log L``.
        bic: ``k log N - 2 log L``.
    """

    log_likelihood: float
    num_iterations: int
    grad_norm: float
    converged: bool
    method: str
    spectral_radius: float
    spectral_radius_se: float
    stationary: bool
    num_free: int
    num_events: int
    empty_dims: list[int]
    hessian_positive_definite: bool
    aic: float
    bic: float


class HawkesFit(NamedTuple):
    """A fitted model.

    The arrays are numpy (float64; jitted functions take them as they are): a fit is a
    host-side result, and converting a dozen small arrays to device buffers costs more than
    a warm fit's solve.

    Attributes:
        params: maximum-likelihood parameters.
        stderr: standard errors in the same layout (NaN where fixed or not computed).
        covariance: ``(P, P)`` covariance of the free parameters (order: ``free_index``).
        free_index: where each free parameter sits in ``params``.
        info: diagnostics.
    """

    params: HawkesParams
    stderr: HawkesParams
    covariance: Float[np.ndarray, "P P"]
    free_index: FreeIndex
    info: HawkesFitInfo


def _gather(free: Array, index: Array, fixed: Array) -> Array:
    ext = jnp.concatenate([free, jnp.zeros((1,), fixed.dtype)])
    safe = jnp.where(index >= 0, index, ext.shape[0] - 1)
    return jnp.where(index >= 0, ext[safe], fixed)


def unpack(free: FreeParams, index: FreeIndex, fixed: HawkesParams) -> HawkesParams:
    """Full parameters from the positive free values and the fixed ones."""
    return HawkesParams(
        mu=_gather(free.mu, index.mu, fixed.mu),
        alpha=_gather(free.alpha, index.alpha, fixed.alpha),
        beta=_gather(free.beta, index.beta, fixed.beta),
    )


def unpack_np(free: FreeParams, index: FreeIndex, fixed: HawkesParams) -> HawkesParams:
    """:func:`unpack` in numpy float64 (no device dispatch for small host-side results)."""

    def gather(f: Any, i: Any, x: Any) -> np.ndarray:
        ext = np.concatenate([np.asarray(f, np.float64), [0.0]])  # index -1 reads the pad
        i = np.asarray(i)
        return np.where(i >= 0, ext[i], np.asarray(x, np.float64))

    return HawkesParams(*(gather(f, i, x) for f, i, x in zip(free, index, fixed, strict=True)))


def _inv_softplus(x: np.ndarray) -> np.ndarray:
    x = np.maximum(np.asarray(x, np.float64), 1e-300)
    return x + np.log(-np.expm1(-x))


LogLikelihood = Callable[[HawkesParams, HawkesData], Array]


def _neg_log_lik_u(
    loglik: LogLikelihood,
    u: FreeParams,
    data: HawkesData,
    index: FreeIndex,
    fixed: HawkesParams,
    scale: Array,
) -> Array:
    phi = jax.tree.map(jax.nn.softplus, u)
    return -loglik(unpack(phi, index, fixed), data) / scale


def _gnorm(tree: Any) -> Array:
    return otu.tree_norm(tree)


_STALL_RTOL = 1e-15  # L-BFGS stops when a step changes -log L / N by less (relative)


@partial(jax.jit, static_argnames=("loglik",))
def run_lbfgs(
    u0: FreeParams,
    data: HawkesData,
    index: FreeIndex,
    fixed: HawkesParams,
    scale: Array,
    max_iter: Array,
    tol: Array,
    loglik: LogLikelihood = log_likelihood_fast,
) -> tuple[FreeParams, Array, Array, Array]:
    """L-BFGS on ``-loglik / N`` in ``u`` (``phi = softplus(u)``); ``loglik`` of one window
    (the default) or of stacked windows (:func:`~kbayes.pointprocess.pooled.pooled_log_likelihood`).
    """

    def fun(u: FreeParams) -> Array:
        return _neg_log_lik_u(loglik, u, data, index, fixed, scale)

    out = lbfgs_minimize(fun, u0, max_iter, tol, stall_rtol=_STALL_RTOL)
    return out.params, out.value, out.grad_norm, out.iterations


@jax.jit
def _run_adam(
    u0: FreeParams,
    data: HawkesData,
    index: FreeIndex,
    fixed: HawkesParams,
    scale: Array,
    max_iter: Array,
    tol: Array,
    learning_rate: Array,
) -> tuple[FreeParams, Array, Array, Array]:
    def fun(u: FreeParams) -> Array:
        return _neg_log_lik_u(log_likelihood_fast, u, data, index, fixed, scale)

    opt = optax.adam(learning_rate)

    def step(carry: tuple[FreeParams, Any, Array, Array]) -> tuple[FreeParams, Any, Array, Array]:
        u, state, k, _ = carry
        grad = jax.grad(fun)(u)
        updates, state = opt.update(grad, state, u)
        return optax.apply_updates(u, updates), state, k + 1, _gnorm(grad)

    def cond(carry: tuple[FreeParams, Any, Array, Array]) -> Array:
        _, _, k, err = carry
        return (k < max_iter) & (err >= tol)

    init = (u0, opt.init(u0), jnp.asarray(0), jnp.asarray(jnp.inf, scale.dtype))
    u, _, k, _ = jax.lax.while_loop(cond, step, init)
    value, grad = jax.value_and_grad(fun)(u)
    return u, value, _gnorm(grad), k


@partial(jax.jit, static_argnames=("loglik",))
def hessian_of(
    loglik: Callable[[HawkesParams, HawkesData], Array],
    phi: FreeParams,
    data: HawkesData,
    index: FreeIndex,
    fixed: HawkesParams,
) -> Float[Array, "P P"]:
    """Observed information: the Hessian of ``-loglik`` in the free parameters ``phi``
    (``jax.hessian``, forward over reverse through the one-pass gradient)."""
    flat, unravel = ravel_pytree(phi)

    def nll(x: Array) -> Array:
        return -loglik(unpack(unravel(x), index, fixed), data)

    return jax.hessian(nll)(flat)


def fit_info(
    loglik: float,
    iterations: int,
    grad_norm: float,
    converged: bool,
    method: str,
    rho: float,
    rho_se: float,
    num_free: int,
    counts: np.ndarray,
    positive_definite: bool,
) -> HawkesFitInfo:
    """:class:`HawkesFitInfo` of a fit (``counts``: events per dimension, all windows)."""
    n = int(counts.sum())
    return HawkesFitInfo(
        log_likelihood=loglik,
        num_iterations=iterations,
        grad_norm=grad_norm,
        converged=converged,
        method=method,
        spectral_radius=rho,
        spectral_radius_se=rho_se,
        stationary=rho < 1.0,
        num_free=num_free,
        num_events=n,
        empty_dims=[int(i) for i in np.flatnonzero(counts == 0)],
        hessian_positive_definite=positive_definite,
        aic=2.0 * num_free - 2.0 * loglik,
        bic=num_free * float(np.log(n)) - 2.0 * loglik,
    )


def _beta_tying(structure: Any, alpha_tying: np.ndarray) -> np.ndarray:
    d = alpha_tying.shape[0]
    free = alpha_tying >= 0
    if isinstance(structure, str):
        if structure == "shared":
            return np.where(free.any(), np.zeros((d, d), np.int64), -1)
        if structure == "row":
            rows = np.repeat(np.arange(d)[:, None], d, axis=1)
            return as_tying(np.where(free.any(axis=1, keepdims=True), rows, -1), d)
        if structure == "pair":
            return alpha_tying.copy()
        raise ValueError(
            f"beta_structure must be 'shared', 'row', 'pair' or a tying matrix, got {structure!r}"
        )
    tying = as_tying(structure, d)
    return as_tying(np.where(free, tying, -1), d)


def drop_empty(alpha_tying: np.ndarray, empty: list[int]) -> np.ndarray:
    """Fix at 0 every label all of whose entries touch an empty dimension."""
    if not empty:
        return alpha_tying
    touches = np.zeros(alpha_tying.shape, bool)
    touches[empty, :] = True
    touches[:, empty] = True
    out = alpha_tying.copy()
    for k in np.unique(alpha_tying[alpha_tying >= 0]):
        sel = alpha_tying == k
        if touches[sel].all():
            out[sel] = -1
    return as_tying(out, alpha_tying.shape[0])


def _label_means(values: np.ndarray, tying: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the entries of each label ``0..K-1`` of ``tying``."""
    free = tying >= 0
    n = int(tying.max()) + 1 if free.any() else 0
    sums = np.bincount(tying[free], weights=np.asarray(values, np.float64)[free], minlength=n)
    return sums / np.bincount(tying[free], minlength=n)


def _default_beta(events: EventSequence) -> float:
    gaps = np.diff(events.times)
    gaps = gaps[gaps > 0]
    if len(gaps) == 0:
        return 1.0 / events.T
    return float(1.0 / np.median(gaps))


def _perron_gradient(alpha: np.ndarray) -> np.ndarray:
    """``d rho / d alpha_ij`` for the eigenvalue of largest modulus (simple root)."""
    vals, right = np.linalg.eig(alpha)
    k = int(np.argmax(np.abs(vals)))
    vals_l, left = np.linalg.eig(alpha.T)
    kl = int(np.argmin(np.abs(vals_l - vals[k])))
    w, v = right[:, k], left[:, kl]
    denom = v @ w
    if abs(denom) < 1e-300:
        return np.full(alpha.shape, np.nan)
    return np.real(np.outer(v, w) / denom)


def _given_decays(beta: Any, d: int) -> np.ndarray:
    """``(D, D)`` decays from a scalar, ``(D,)`` per row or ``(D, D)``; positive, finite."""
    b = broadcast_decays(beta, d)
    bad = np.argwhere(~(np.isfinite(b) & (b > 0)))
    if len(bad):
        i, j = (int(x) for x in bad[0])
        raise ValueError(f"beta[{i}, {j}] = {b[i, j]} must be positive and finite")
    return b


def _beta_rows(beta: np.ndarray) -> np.ndarray:
    """``(1, D)`` when every row uses the same decays (one recursion), else ``(D, D)``."""
    return beta[:1] if np.all(beta == beta[:1]) else beta


def _fit_newton(
    events: EventSequence,
    grid: BaselineGrid,
    index: FreeIndex,
    fixed: HawkesParams,
    phi0: FreeParams,
    s0: float,
    max_iter: int,
    tol: float,
    with_hessian: bool,
) -> tuple[FreeParams, Any]:
    """Newton path: the concave inner problem at a given decay, or a profiled shared decay."""
    d = events.num_dims
    pm = int(phi0.mu.shape[0])
    dtype = jax.dtypes.canonicalize_dtype(np.float64)  # float32 unless jax_enable_x64
    problem, start = newton_problem(
        row_data([events], [grid]),
        index.mu,
        index.alpha,
        fixed.mu,
        np.zeros((d, d)),
        phi0.mu,
        phi0.alpha,
        dtype,
    )
    limits = Limits(np.asarray(tol, dtype), np.asarray(max_iter, np.int32), np.int32(_MAX_PROFILE))
    if len(phi0.beta):
        s0_arr = np.asarray(s0, dtype)
        out = fit_shared_decay(start, s0_arr, problem, limits, with_hessian=with_hessian)
    else:
        rows = _beta_rows(np.asarray(fixed.beta, np.float64)).astype(dtype)
        out = fit_given_decay(start, rows, problem, limits, with_hessian=with_hessian)
    out = jax.device_get(out)
    beta = np.exp(out.log_beta)[None] if len(phi0.beta) else np.zeros(0)
    phi = FreeParams(mu=out.phi[:pm], alpha=out.phi[pm:], beta=beta)
    return phi, out


def fit(
    events: EventSequence,
    grid: BaselineGrid | None = None,
    *,
    alpha_structure: Any = None,
    beta_structure: BetaStructure | Any = "shared",
    beta: Any = None,
    beta_init: float | None = None,
    init: HawkesParams | None = None,
    method: Method = "auto",
    max_iter: int = 1000,
    tol: float | None = None,
    learning_rate: float = 0.02,
    stderr: bool = True,
) -> HawkesFit:
    """Fit ``mu``, ``alpha`` and ``beta`` by maximum likelihood.

    Methods (``info.method`` reports the one used):

    * ``"newton"`` (the default ``"auto"`` where it applies: given decays, or one shared
      fitted decay): the concave program in ``(mu, alpha)`` at fixed decays, solved by a
      primal-dual interior-point Newton method, with a shared decay found by a safeguarded
      Newton search on the profile likelihood (:mod:`kbayes.pointprocess.newton`). Exact
      zeros at the boundary.
    * ``"lbfgs"`` (``"auto"`` for fitted per-row, per-pair or tied decays): L-BFGS on
      ``phi = softplus(u)`` with the one-pass analytic gradient, Adam as the fallback when it
      ends on a non-finite value.
    * ``"adam"``.

    Args:
        events: validated events (:func:`~kbayes.pointprocess.events.check_events`).
        grid: baseline grid; constant baseline when None.
        alpha_structure: None (all ``D^2`` entries free), a ``(D, D)`` bool mask, or an integer
            tying matrix (``-1`` fixed at 0, equal labels share one parameter); see
            :func:`~kbayes.pointprocess.structure.bracket_structure`. An all-False mask fits a
            Poisson process (``alpha = 0``).
        beta_structure: fitted decays: ``"shared"`` (one decay), ``"row"`` (one per excited
            dimension), ``"pair"`` (one per free ``alpha`` parameter, so per pair when
            ``alpha`` is untied), or an integer tying matrix. Ignored when ``beta`` is given.
        beta: given decays (scalar, ``(D,)`` per row or ``(D, D)``), not fitted.
        beta_init: initial decay (default ``1 / median`` inter-event gap).
        init: full initial parameters (overrides the defaults; also supplies fixed values).
            The Newton method uses only its decays (the concave inner problem needs no start).
        method: ``"auto"``, ``"newton"``, ``"lbfgs"`` or ``"adam"``.
        max_iter: iteration cap (Newton: steps per inner solve; L-BFGS/Adam: iterations).
        tol: Newton: tolerance on the KKT residual (largest projected gradient component) of
            ``-log L / N`` and on the profile slope (default ``1e-10`` in float64, ``1e-5``
            in float32); L-BFGS/Adam: gradient-norm
            tolerance on the ``1/N``-scaled objective in ``u`` (default ``1e-7`` in float64,
            ``1e-4`` in float32).
        learning_rate: Adam step size.
        stderr: compute the Hessian, standard errors and the covariance.

    Returns:
        :class:`HawkesFit`.

    Raises:
        ValueError: on bad inputs, or ``method="newton"`` with fitted decays other than one
            shared decay.
    """
    grid = constant_baseline() if grid is None else grid
    if not isinstance(events, EventSequence):
        raise ValueError("events must be an EventSequence from check_events(...)")
    d, nb = events.num_dims, grid.num_bins
    n = len(events.times)
    if n == 0:
        raise ValueError("events: no events at all; nothing to fit")
    if method not in ("auto", "newton", "lbfgs", "adam"):
        raise ValueError(f"method must be 'auto', 'newton', 'lbfgs' or 'adam', got {method!r}")
    empty = events.empty_dims
    counts = events.counts
    expo = exposure_np(grid, 0.0, events.T)

    alpha_tying = drop_empty(as_tying(alpha_structure, d), empty)
    given = None if beta is None else _given_decays(beta, d)
    beta_tying = (
        np.full((d, d), -1) if given is not None else _beta_tying(beta_structure, alpha_tying)
    )
    num_decays = len(np.unique(beta_tying[beta_tying >= 0]))
    if method == "auto":
        method = "newton" if num_decays <= 1 else "lbfgs"
    elif method == "newton" and num_decays > 1:
        raise ValueError(
            f"method='newton' fits given decays or one shared decay; beta_structure "
            f"{beta_structure!r} has {num_decays} decays: use method='lbfgs'"
        )
    mu_fixed_mask = np.zeros((d, nb), bool)
    mu_fixed_mask[empty, :] = True
    dead_bins = np.flatnonzero(expo <= 0)
    mu_fixed_mask[:, dead_bins] = True
    mu_index = np.where(mu_fixed_mask, -1, 0)
    mu_index[~mu_fixed_mask] = np.arange(int((~mu_fixed_mask).sum()))

    if empty:
        warnings.warn(
            f"events: dimension(s) {empty} have no events; their baseline is set to 0 (the "
            "boundary MLE) and their untied alpha entries to 0, with NaN standard errors",
            UserWarning,
            stacklevel=2,
        )
    if len(dead_bins):
        warnings.warn(
            f"grid: baseline bin(s) {dead_bins.tolist()} have no exposure in [0, T]; their "
            "baselines are not identified and keep their initial values",
            UserWarning,
            stacklevel=2,
        )

    rate = np.maximum(0.5 * counts / events.T, 1e-12)
    free_a = (alpha_tying >= 0).sum(axis=1)
    a0 = min(0.2, 0.5 / max(1, int(free_a.max())))
    if beta_init is not None:
        b_start = float(beta_init)
    else:  # the 1 / median gap start only matters when the decay is fitted
        b_start = 1.0 if given is not None else _default_beta(events)
    default = HawkesParams(
        mu=np.repeat(rate[:, None], nb, axis=1),
        alpha=np.full((d, d), a0),
        beta=np.full((d, d), b_start),
    )
    start = default if init is None else HawkesParams(*(np.asarray(x, np.float64) for x in init))
    if beta_init is not None:
        start = start._replace(beta=np.full((d, d), float(beta_init)))
    if given is not None:
        start = start._replace(beta=given)
    if start.mu.shape != (d, nb) or start.alpha.shape != (d, d) or start.beta.shape != (d, d):
        raise ValueError(
            f"init has mu {start.mu.shape}, alpha {start.alpha.shape}, beta {start.beta.shape}; "
            f"expected ({d}, {nb}), ({d}, {d}) and ({d}, {d})"
        )
    # the concave inner problem of the Newton method starts from the default, inside
    start_free = default._replace(beta=start.beta) if method == "newton" else start
    fixed = HawkesParams(
        mu=np.where(np.isin(np.arange(d), empty)[:, None], 0.0, start.mu),
        alpha=np.zeros((d, d)),
        beta=start.beta,
    )
    index = FreeIndex(mu=mu_index, alpha=alpha_tying, beta=beta_tying)
    phi0 = FreeParams(
        mu=_label_means(np.maximum(start_free.mu, 1e-12), mu_index),
        alpha=_label_means(np.maximum(start_free.alpha, 1e-6), alpha_tying),
        beta=_label_means(start.beta, beta_tying),
    )
    float64 = jax.dtypes.canonicalize_dtype(np.float64) == np.float64
    used = method
    if method == "newton":
        tol = (1e-10 if float64 else 1e-5) if tol is None else tol
        s0 = float(np.log(phi0.beta[0])) if len(phi0.beta) else 0.0
        phi, out = _fit_newton(events, grid, index, fixed, phi0, s0, max_iter, tol, stderr)
        value = -float(out.log_likelihood) / n
        gnorm, iters_total = float(out.grad_norm), int(out.iterations)
        converged = bool(out.converged)
        if len(phi.beta):
            used = "newton (profile beta)"
    else:
        tol = (1e-7 if float64 else 1e-4) if tol is None else tol
        data = prepare(events, grid, pad=True)
        index_dev = FreeIndex(*(jnp.asarray(x) for x in index))
        fixed_dev = as_jax(fixed)
        u0 = FreeParams(*(jnp.asarray(_inv_softplus(x)) for x in phi0))
        scale = jnp.asarray(float(n))
        args = (data, index_dev, fixed_dev, scale, jnp.asarray(max_iter), jnp.asarray(tol))
        if method == "lbfgs":
            u, value, gnorm, iters = run_lbfgs(u0, *args)
            iters_total = int(iters)
            if not np.isfinite(float(value)):
                u, value, gnorm, iters = _run_adam(u0, *args, jnp.asarray(learning_rate))
                iters_total += int(iters)
                used = "adam (fallback)"
        else:
            u, value, gnorm, iters = _run_adam(u0, *args, jnp.asarray(learning_rate))
            iters_total = int(iters)
        converged = bool(float(gnorm) < tol)
        phi = FreeParams(*(np.asarray(jax.nn.softplus(x), np.float64) for x in u))
    if not converged:
        warnings.warn(
            f"Hawkes fit ({used}) stopped after {iters_total} iterations with gradient norm "
            f"{float(gnorm):.3g} (tol = {tol:g})",
            UserWarning,
            stacklevel=2,
        )
    params = unpack_np(phi, index, fixed)
    loglik = -float(value) * n
    rho = check_stationarity(params, stacklevel=2)

    num_free = sum(int(x.shape[0]) for x in phi)
    hess = None
    if stderr and num_free:
        if used.startswith("newton"):
            hess = out.hessian
        else:
            phi_dev = FreeParams(*(jnp.asarray(x) for x in phi))
            hess = hessian_of(log_likelihood_fast, phi_dev, data, index_dev, fixed_dev)
        hess = np.asarray(hess, np.float64)
    cov, se, pd, rho_se = hessian_standard_errors(hess, phi, params, index, alpha_tying)

    info = fit_info(
        loglik, iters_total, float(gnorm), converged, used, rho, rho_se, num_free, counts, pd
    )
    return HawkesFit(params=params, stderr=se, covariance=cov, free_index=index, info=info)


def hessian_standard_errors(
    hess: np.ndarray | None,
    phi: FreeParams,
    params: HawkesParams,
    index: FreeIndex,
    alpha_tying: np.ndarray,
    *,
    warn: bool = True,
) -> tuple[np.ndarray, HawkesParams, bool, float]:
    """Covariance, standard errors and the spectral radius's SE from the observed information.

    ``cov = H^{-1}`` (pseudo-inverse when ``H`` is not positive definite), and by the delta
    method ``se(rho) = sqrt(g' cov g)`` with ``g`` the gradient of the Perron root w.r.t. the
    free alpha parameters. ``hess=None`` (not computed) gives NaN everywhere.

    Returns:
        ``(cov, stderr, positive_definite, rho_se)``; fixed parameters have NaN errors.
    """
    num_free = sum(int(x.shape[0]) for x in phi)
    cov = np.full((num_free, num_free), np.nan)
    pd, rho_se = False, float("nan")
    if hess is not None:
        hess = 0.5 * (hess + hess.T)
        eig = np.linalg.eigvalsh(hess)
        pd = bool(np.all(np.isfinite(eig)) and eig.min() > 0)
        if not pd and warn:
            warnings.warn(
                "Hawkes fit: the observed information is not positive definite (smallest "
                f"eigenvalue {eig.min():.3g}); standard errors from its pseudo-inverse are "
                "unreliable",
                UserWarning,
                stacklevel=3,
            )
        try:
            cov = np.linalg.inv(hess) if pd else np.linalg.pinv(hess)
        except np.linalg.LinAlgError:
            pd, cov = False, np.linalg.pinv(hess)
        grad_alpha = _perron_gradient(np.asarray(params.alpha, np.float64))
        pm, pa = int(phi.mu.shape[0]), int(phi.alpha.shape[0])
        g = np.zeros(num_free)
        for k in range(pa):
            g[pm + k] = grad_alpha[alpha_tying == k].sum()
        var = float(g @ cov @ g)
        rho_se = float(np.sqrt(var)) if var >= 0 else float("nan")
    diag = np.diag(cov)
    se_flat = np.sqrt(np.where(diag >= 0, diag, np.nan))
    se_free = FreeParams(*_split(se_flat, phi))
    nan_fixed = HawkesParams(*(np.full(np.shape(x), np.nan) for x in params))
    return cov, unpack_np(se_free, index, nan_fixed), pd, rho_se


def _split(flat: np.ndarray, like: FreeParams) -> list[np.ndarray]:
    sizes = [int(x.shape[0]) for x in like]
    return np.split(flat, np.cumsum(sizes)[:-1])
