"""Proper scores of bracket PMFs against the realised bracket.

For a forecast ``p`` over ``K`` ordered brackets and the realised bracket ``y``:

* log loss ``-log max(p_y, eps)`` (``eps = 1e-4`` by default, so one confident miss cannot
  dominate a table);
* multi-class Brier ``sum_k (p_k - 1[k = y])^2`` (range 0..2);
* ranked probability score ``sum_{k<K} (P_k - 1[y <= k])^2`` with ``P`` the CDF over brackets
  (Epstein 1969; not normalised by ``K-1``, so ladders of equal length compare directly);
* argmax accuracy ``1[argmax p = y]``.

All functions take ``probs`` of shape ``(N, K)`` and ``outcome`` of shape ``(N,)`` and return
per-row scores; rows must be finite, non-negative and sum to 1 (checked, never silently fixed).
"""

from __future__ import annotations

import numpy as np
from jaxtyping import Float, Int

LOG_LOSS_EPS = 1e-4


class ScoreInputError(ValueError):
    """Probabilities or outcomes that cannot be scored."""


def check_pmf(probs: np.ndarray, outcome: np.ndarray | None = None, atol: float = 1e-6) -> None:
    """Raise :class:`ScoreInputError` naming the first bad row."""
    if probs.ndim != 2:
        raise ScoreInputError(f"probs must be (N, K), got shape {probs.shape}")
    bad = ~np.isfinite(probs).all(axis=1) | (probs < 0).any(axis=1)
    bad |= np.abs(probs.sum(axis=1) - 1.0) > atol
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ScoreInputError(f"probs row {i} is not a PMF: {probs[i].tolist()}")
    if outcome is not None:
        if outcome.shape != (probs.shape[0],):
            raise ScoreInputError(f"outcome shape {outcome.shape} != ({probs.shape[0]},)")
        out_of_range = (outcome < 0) | (outcome >= probs.shape[1])
        if out_of_range.any():
            i = int(np.flatnonzero(out_of_range)[0])
            raise ScoreInputError(f"outcome row {i} = {outcome[i]} outside 0..{probs.shape[1] - 1}")


def log_loss(
    probs: Float[np.ndarray, "N K"], outcome: Int[np.ndarray, " N"], eps: float = LOG_LOSS_EPS
) -> Float[np.ndarray, " N"]:
    """Per-row negative log probability of the realised bracket, clipped below at ``eps``."""
    p = probs[np.arange(len(outcome)), outcome]
    return -np.log(np.maximum(p, eps))


def brier(
    probs: Float[np.ndarray, "N K"], outcome: Int[np.ndarray, " N"]
) -> Float[np.ndarray, " N"]:
    """Per-row multi-class Brier score."""
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(outcome)), outcome] = 1.0
    return ((probs - onehot) ** 2).sum(axis=1)


def rps(probs: Float[np.ndarray, "N K"], outcome: Int[np.ndarray, " N"]) -> Float[np.ndarray, " N"]:
    """Per-row ranked probability score (sum over the K-1 interior cumulative thresholds)."""
    cdf = np.cumsum(probs, axis=1)[:, :-1]
    k = np.arange(probs.shape[1] - 1)
    obs_cdf = (outcome[:, None] <= k[None, :]).astype(float)
    return ((cdf - obs_cdf) ** 2).sum(axis=1)


def accuracy(
    probs: Float[np.ndarray, "N K"], outcome: Int[np.ndarray, " N"]
) -> Float[np.ndarray, " N"]:
    """Per-row 1 if the most probable bracket realised (ties: the lowest index)."""
    return (np.argmax(probs, axis=1) == outcome).astype(float)


def score_table(probs_list: list[np.ndarray], outcomes: list[int]) -> dict[str, float]:
    """Mean scores over events whose ladders may differ in length.

    Args:
        probs_list: one PMF per event.
        outcomes: the realised bracket index per event.

    Returns:
        ``{"n_events", "log_loss", "brier", "rps", "accuracy"}``; NaN means when empty.
    """
    n = len(probs_list)
    if n != len(outcomes):
        raise ScoreInputError(f"{n} forecasts but {len(outcomes)} outcomes")
    if n == 0:
        return {
            "n_events": 0,
            "log_loss": np.nan,
            "brier": np.nan,
            "rps": np.nan,
            "accuracy": np.nan,
        }
    sums = dict.fromkeys(("log_loss", "brier", "rps", "accuracy"), 0.0)
    by_k: dict[int, list[int]] = {}
    for i, p in enumerate(probs_list):
        by_k.setdefault(len(p), []).append(i)
    for idx in by_k.values():
        P = np.stack([np.asarray(probs_list[i], dtype=float) for i in idx])
        y = np.asarray([outcomes[i] for i in idx], dtype=int)
        check_pmf(P, y)
        for name, fn in (
            ("log_loss", log_loss),
            ("brier", brier),
            ("rps", rps),
            ("accuracy", accuracy),
        ):
            sums[name] += float(fn(P, y).sum())
    return {"n_events": n, **{k: v / n for k, v in sums.items()}}
