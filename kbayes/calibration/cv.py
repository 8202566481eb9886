"""Cross-validation by contiguous blocks of days, and hyper-parameter selection with it.

Forecast errors of daily highs are correlated from one day to the next, and one day carries
several rows (cities, decision times, brackets), so random K-fold would leak. Folds here are
contiguous runs of calendar days: the sorted distinct days are cut into ``n_folds`` consecutive
blocks of (nearly) equal numbers of days (``numpy.array_split``); the test rows of fold ``f``
are all rows whose day is in block ``f``, so a day is never split between train and test.
``gap_days`` additionally drops from the training set the rows within that many calendar days
of the test block (a purge against autocorrelation leaking across the block edge).

:func:`select_by_cv` picks a hyper-parameter (e.g. the ODIR ``lambda`` of Dirichlet
calibration) by the pooled held-out log loss (:func:`kbayes.scoring.log_loss`, the one score
every experiment reports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
from jaxtyping import Float, Int

from kbayes.calibration.inputs import CalibrationInputError
from kbayes.scoring import log_loss


def _days(dates: object) -> np.ndarray:
    try:
        days = np.asarray(dates).astype("datetime64[D]")
    except (TypeError, ValueError) as err:
        raise CalibrationInputError(f"dates cannot be read as calendar days: {err}") from err
    if days.ndim != 1 or days.size == 0:
        raise CalibrationInputError(f"dates must be a non-empty 1-D array, got shape {days.shape}")
    bad = np.isnat(days)
    if bad.any():
        raise CalibrationInputError(f"dates[{int(np.flatnonzero(bad)[0])}] is NaT")
    return days


def block_kfold(
    dates: Sequence[Any] | np.ndarray, n_folds: int, *, gap_days: int = 0
) -> Iterator[tuple[Int[np.ndarray, " n_train"], Int[np.ndarray, " n_test"]]]:
    """Train/test row indices for K-fold CV over contiguous blocks of days.

    Args:
        dates: the day of each row (``datetime.date``, ``datetime64`` or ISO strings; a time of
            day is floored to its date).
        n_folds: number of folds, 2 to the number of distinct days.
        gap_days: calendar days on each side of a test block whose rows are left out of that
            fold's training set.

    Yields:
        ``(train_idx, test_idx)`` sorted int64 row indices; the test blocks are in time order
        and partition the rows.

    Raises:
        CalibrationInputError: unreadable dates, or ``n_folds`` out of range.
    """
    days = _days(dates)
    unique = np.unique(days)
    if not 2 <= n_folds <= len(unique):
        raise CalibrationInputError(
            f"n_folds = {n_folds} must be between 2 and the {len(unique)} distinct days"
        )
    if gap_days < 0:
        raise CalibrationInputError(f"gap_days = {gap_days} is negative")
    gap = np.timedelta64(gap_days, "D")
    for block in np.array_split(unique, n_folds):
        test = (days >= block[0]) & (days <= block[-1])
        near = (days >= block[0] - gap) & (days <= block[-1] + gap)
        yield np.flatnonzero(~near), np.flatnonzero(test)


class CVResult(NamedTuple):
    """Held-out scores of each candidate hyper-parameter.

    Attributes:
        grid: the candidates, in the order given.
        mean_loss: ``(G,)`` held-out mean log loss pooled over all rows of all folds.
        fold_loss: ``(G, F)`` held-out mean log loss per fold.
        best_index: index into ``grid`` of the lowest ``mean_loss`` (first on ties).
    """

    grid: tuple[Any, ...]
    mean_loss: Float[np.ndarray, " G"]
    fold_loss: Float[np.ndarray, "G F"]
    best_index: int


def _take(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, np.ndarray):
        return x[idx]
    return [x[i] for i in idx]


def _nll_sum(pred: Any, y: np.ndarray) -> float:
    """Summed log loss of binary probabilities ``(n,)`` or PMFs ``(n, K)`` / list of PMFs."""
    if isinstance(pred, np.ndarray) and pred.ndim == 1:
        pred = np.stack([1.0 - pred, pred], axis=1)
    if isinstance(pred, np.ndarray):
        return float(log_loss(pred, y).sum())
    return float(sum(log_loss(np.asarray(q)[None, :], y[i : i + 1])[0] for i, q in enumerate(pred)))


def select_by_cv(
    fit: Callable[[Any, np.ndarray, Any], Any],
    predict: Callable[[Any, Any], Any],
    probs: Any,
    outcome: Int[np.ndarray, " N"],
    dates: Sequence[Any] | np.ndarray,
    grid: Sequence[Any],
    *,
    n_folds: int = 5,
    gap_days: int = 0,
) -> tuple[Any, CVResult]:
    """Choose the hyper-parameter with the lowest held-out log loss under :func:`block_kfold`.

    Args:
        fit: ``fit(probs_train, outcome_train, h) -> params`` for a candidate ``h``.
        predict: ``predict(params, probs_test)`` -> binary probabilities ``(n,)`` or PMFs.
        probs: forecasts, an array (rows indexed) or a list of per-row PMFs.
        outcome: 0/1 labels (binary) or realised bracket indices.
        dates: the day of each row.
        grid: candidate hyper-parameters (e.g. ``lambda`` values, or ``(lambda, mu)`` pairs).
        n_folds: number of day blocks.
        gap_days: purge around each test block, see :func:`block_kfold`.

    Returns:
        ``(best, CVResult)``: the chosen candidate and every candidate's scores.
    """
    y = np.asarray(outcome).astype(np.int64)
    folds = list(block_kfold(dates, n_folds, gap_days=gap_days))
    if len(y) != sum(len(te) for _, te in folds):
        raise CalibrationInputError(f"outcome has {len(y)} rows but dates has a different count")
    if any(len(tr) == 0 for tr, _ in folds):
        raise CalibrationInputError("a fold has no training rows (too few days for gap_days)")
    candidates = tuple(grid)
    if not candidates:
        raise CalibrationInputError("grid is empty")
    fold_sum = np.zeros((len(candidates), len(folds)))
    for g, h in enumerate(candidates):
        for f, (train, test) in enumerate(folds):
            params = fit(_take(probs, train), y[train], h)
            fold_sum[g, f] = _nll_sum(predict(params, _take(probs, test)), y[test])
    sizes = np.array([len(te) for _, te in folds], dtype=float)
    mean_loss = fold_sum.sum(axis=1) / sizes.sum()
    best = int(np.argmin(mean_loss))
    return candidates[best], CVResult(candidates, mean_loss, fold_sum / sizes, best)
