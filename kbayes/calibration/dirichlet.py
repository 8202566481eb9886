"""Dirichlet calibration of bracket PMFs with ODIR regularisation.

Kull, Perello-Nieto, Kängsepp, Silva Filho, Song & Flach (2019), "Beyond temperature scaling:
obtaining well-calibrated multi-class probabilities with Dirichlet calibration" (NeurIPS):

    q = softmax(W ln p + b),    W in R^{K x K},  b in R^K,

a multinomial logistic regression on the log-probabilities (the canonical map of a Dirichlet
likelihood per class). It contains the identity (``W = I, b = 0``), temperature scaling
(``W = I / T``) and vector scaling (diagonal ``W``). Fitted by L-BFGS on

    mean_i w_i (-ln q_{i, y_i}) / mean_i w_i
        + lambda / (K (K - 1)) * sum_{j != k} W_jk^2 + mu / K * sum_k b_k^2,

the paper's Off-Diagonal and Intercept Regularisation (ODIR): the diagonal is free, the
off-diagonal terms and the intercepts shrink to 0, i.e. towards vector scaling with no bias.
``mu`` defaults to ``lambda``. With ``lambda = mu = 0`` the parameters are identified only up to
``W + 1 v^T`` and ``b + c 1`` (softmax shift), but the calibrated PMFs are unique.

Fixed K: ``W`` is ``K x K``, so one fitted map serves ladders of one length only, bracket ``k``
being the ``k``-th coldest. Fit one map per ladder length (:func:`kbayes.calibration.group_by_k`
gives the row groups) or map ladders onto a common bracket grid first. Probabilities are clipped
to ``[PROB_EPS, 1 - PROB_EPS]`` before the logarithm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float, Int
from scipy.special import softmax

from kbayes.calibration.cv import CVResult, select_by_cv
from kbayes.calibration.inputs import (
    CalibrationInputError,
    check_outcomes,
    check_pmfs,
    check_weights,
    clip_probs,
)
from kbayes.calibration.optimize import FitInfo, minimize_lbfgs, weighted_mean

DEFAULT_LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Grid of ODIR ``lambda`` (with ``mu = lambda``) tried by :func:`fit_dirichlet_cv`."""


class DirichletParams(NamedTuple):
    """``q = softmax(W ln p + b)``."""

    W: Float[np.ndarray, "K K"]
    b: Float[np.ndarray, " K"]


class DirichletCVInfo(NamedTuple):
    """Diagnostics of :func:`fit_dirichlet_cv`.

    Attributes:
        lam: chosen off-diagonal penalty.
        mu: chosen intercept penalty.
        cv: held-out scores of every ``(lambda, mu)`` candidate.
        fit: diagnostics of the final fit on all rows.
    """

    lam: float
    mu: float
    cv: CVResult
    fit: FitInfo


def _loss(
    params: tuple[jax.Array, jax.Array],
    w: jax.Array,
    logp: jax.Array,
    y: jax.Array,
    lam: jax.Array,
    mu: jax.Array,
) -> jax.Array:
    W, b = params
    k = W.shape[0]
    logq = jax.nn.log_softmax(logp @ W.T + b, axis=1)
    nll = weighted_mean(w, -jnp.take_along_axis(logq, y[:, None], axis=1)[:, 0])
    off = W * (1.0 - jnp.eye(k))
    return nll + lam / (k * (k - 1)) * jnp.sum(off**2) + mu / k * jnp.sum(b**2)


def _log_probs(probs: object, name: str = "probs") -> np.ndarray:
    if not (isinstance(probs, np.ndarray) and probs.ndim == 2):
        probs = np.asarray(probs, dtype=np.float64)  # ragged lists fail here with a clear shape
    return np.log(clip_probs(check_pmfs(probs, name)))


def fit_dirichlet(
    probs: Float[np.ndarray, "N K"],
    outcome: Int[np.ndarray, " N"],
    *,
    lam: float = 0.0,
    mu: float | None = None,
    sample_weight: Float[np.ndarray, " N"] | None = None,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[DirichletParams, FitInfo]:
    """Fit ``q = softmax(W ln p + b)`` with ODIR penalties (Kull et al. 2019).

    Args:
        probs: ``(N, K)`` PMFs over one fixed ladder length ``K``.
        outcome: realised bracket index per row.
        lam: ``lambda``, the penalty on the mean squared off-diagonal entry of ``W``.
        mu: ``mu``, the penalty on the mean squared intercept (default: ``lam``).
        sample_weight: optional non-negative row weights.
        max_iter: maximum L-BFGS steps.
        tol: gradient-norm tolerance.

    Returns:
        ``(DirichletParams, FitInfo)``; ``info.loss`` includes the penalty.
    """
    try:
        logp = _log_probs(probs)
    except ValueError as err:
        raise CalibrationInputError(
            f"{err} (Dirichlet calibration needs one ladder length K; group rows by K)"
        ) from err
    n, k = logp.shape
    y = check_outcomes(outcome, n, k)
    w = check_weights(sample_weight, n)
    mu = lam if mu is None else mu
    if lam < 0 or mu < 0:
        raise CalibrationInputError(f"lam = {lam} and mu = {mu} must be non-negative")
    (W, b), info = minimize_lbfgs(
        _loss,
        (np.eye(k), np.zeros(k)),
        w,
        (logp, y),
        consts=(lam, mu),
        max_iter=max_iter,
        tol=tol,
    )
    return DirichletParams(W, b), info


def apply_dirichlet(
    params: DirichletParams, probs: Float[np.ndarray, "N K"]
) -> Float[np.ndarray, "N K"]:
    """Calibrated PMFs ``softmax(W ln p + b)``; ``probs`` must have the fitted ``K`` columns."""
    logp = _log_probs(probs)
    k = params.W.shape[0]
    if logp.shape[1] != k:
        raise CalibrationInputError(
            f"probs has {logp.shape[1]} brackets, the map was fitted on {k}"
        )
    return softmax(logp @ params.W.T + params.b, axis=1)


def fit_dirichlet_cv(
    probs: Float[np.ndarray, "N K"],
    outcome: Int[np.ndarray, " N"],
    dates: Sequence[Any] | np.ndarray,
    *,
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
    mus: Sequence[float] | None = None,
    n_folds: int = 5,
    gap_days: int = 0,
    max_iter: int = 2000,
    tol: float = 1e-9,
) -> tuple[DirichletParams, DirichletCVInfo]:
    """Choose ``(lambda, mu)`` by day-block CV, then fit on all rows.

    Args:
        probs: ``(N, K)`` PMFs over one ladder length.
        outcome: realised bracket index per row.
        dates: the day of each row (see :func:`kbayes.calibration.block_kfold`).
        lambdas: candidate ``lambda`` values.
        mus: candidate ``mu`` values; ``None`` ties ``mu = lambda`` (one-dimensional grid),
            otherwise the full product grid is searched.
        n_folds: number of day blocks.
        gap_days: purge around each test block.
        max_iter: maximum L-BFGS steps per fit.
        tol: gradient-norm tolerance.

    Returns:
        ``(DirichletParams, DirichletCVInfo)``.
    """
    grid = (
        [(lam, lam) for lam in lambdas]
        if mus is None
        else [(lam, mu) for lam in lambdas for mu in mus]
    )

    def fit(p: np.ndarray, y: np.ndarray, h: tuple[float, float]) -> DirichletParams:
        return fit_dirichlet(p, y, lam=h[0], mu=h[1], max_iter=max_iter, tol=tol)[0]

    (lam, mu), cv = select_by_cv(
        fit,
        apply_dirichlet,
        np.asarray(probs, dtype=np.float64),
        np.asarray(outcome),
        dates,
        grid,
        n_folds=n_folds,
        gap_days=gap_days,
    )
    params, info = fit_dirichlet(probs, outcome, lam=lam, mu=mu, max_iter=max_iter, tol=tol)
    return params, DirichletCVInfo(float(lam), float(mu), cv, info)
