"""Binned reliability statistics: the data of a reliability diagram and of the ECE.

A binary forecast ``p_i`` of an event with outcome ``y_i in {0, 1}`` is reliable when
``P(y = 1 | p) = p``. Binning the forecasts and comparing, per bin, the mean forecast with the
observed frequency estimates that curve (Murphy & Winkler 1977; DeGroot & Fienberg 1983):

* ``binning="width"``: ``n_bins`` equal-width bins ``[j/B, (j+1)/B)`` (the last one closed),
  assigned as ``sklearn.calibration.calibration_curve(strategy="uniform")`` does;
* ``binning="mass"``: the forecasts sorted (stably) and cut into ``n_bins`` groups of equal
  count (sizes differing by at most one; ``numpy.array_split``), so equal forecasts may straddle
  a bin edge. A bin's ``lower``/``upper`` are then its smallest and largest forecast.

A bracket-PMF forecast reduces to binary forecasts in two ways: :func:`top_label` (the
probability of the most likely bracket against "that bracket realised"; Guo et al. 2017) and
:func:`all_brackets` (every bracket's probability against its own indicator, pooled).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from jaxtyping import Float, Int

from kbayes.scoring.inputs import check_binary, pmf_groups
from kbayes.scoring.pmf import ScoreInputError

Binning = Literal["width", "mass"]


class ReliabilityBins(NamedTuple):
    """Per-bin reliability statistics (empty bins: count 0 and NaN means).

    Attributes:
        lower: lower edge of each bin (``mass``: smallest forecast in the bin).
        upper: upper edge of each bin (``mass``: largest forecast in the bin).
        count: forecasts in each bin.
        mean_forecast: mean forecast probability in each bin.
        frequency: observed event frequency in each bin.
    """

    lower: Float[np.ndarray, " B"]
    upper: Float[np.ndarray, " B"]
    count: Int[np.ndarray, " B"]
    mean_forecast: Float[np.ndarray, " B"]
    frequency: Float[np.ndarray, " B"]


def bin_index(p: Float[np.ndarray, " N"], n_bins: int, binning: Binning) -> Int[np.ndarray, " N"]:
    """The bin (0..n_bins-1) of each forecast under ``binning``."""
    if n_bins < 1:
        raise ScoreInputError(f"n_bins = {n_bins} must be at least 1")
    if binning == "width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        return np.searchsorted(edges[1:-1], p, side="right").astype(np.int64)
    if binning == "mass":
        idx = np.empty(len(p), dtype=np.int64)
        for j, part in enumerate(np.array_split(np.argsort(p, kind="stable"), n_bins)):
            idx[part] = j
        return idx
    raise ScoreInputError(f"binning = {binning!r} must be 'width' or 'mass'")


def reliability_bins(
    p: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    n_bins: int = 10,
    binning: Binning = "width",
) -> ReliabilityBins:
    """Bin binary forecasts and compare mean forecast with observed frequency per bin.

    Args:
        p: forecast probabilities in [0, 1].
        y: 0/1 outcomes.
        n_bins: number of bins.
        binning: ``"width"`` (equal-width) or ``"mass"`` (equal-count).

    Returns:
        :class:`ReliabilityBins`.
    """
    pa, ya = check_binary(p, y)
    idx = bin_index(pa, n_bins, binning)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_forecast = np.bincount(idx, weights=pa, minlength=n_bins) / count
        frequency = np.bincount(idx, weights=ya, minlength=n_bins) / count
    if binning == "width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        lower, upper = edges[:-1].copy(), edges[1:].copy()
    else:
        lower = np.full(n_bins, np.nan)
        upper = np.full(n_bins, np.nan)
        filled = count > 0
        lower[filled] = [pa[idx == j].min() for j in np.flatnonzero(filled)]
        upper[filled] = [pa[idx == j].max() for j in np.flatnonzero(filled)]
    return ReliabilityBins(lower, upper, count, mean_forecast, frequency)


def top_label(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
    outcome: Int[np.ndarray, " N"],
) -> tuple[Float[np.ndarray, " N"], Float[np.ndarray, " N"]]:
    """``(confidence, correct)``: each row's largest probability and whether that bracket won.

    Ties go to the lowest bracket index, as in :func:`kbayes.scoring.accuracy`.
    """
    n = len(np.asarray(outcome))
    conf, correct = np.empty(n), np.empty(n)
    for idx, P, y in pmf_groups(probs, outcome):
        top = np.argmax(P, axis=1)
        conf[idx] = P[np.arange(len(P)), top]
        correct[idx] = (top == y).astype(np.float64)
    return conf, correct


def all_brackets(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
    outcome: Int[np.ndarray, " N"],
) -> tuple[Float[np.ndarray, " M"], Float[np.ndarray, " M"]]:
    """``(p, y)`` pooled over every bracket of every row (``M = sum_i K_i``), row-major."""
    ps, ys, order = [], [], []
    for idx, P, y in pmf_groups(probs, outcome):
        onehot = np.zeros_like(P)
        onehot[np.arange(len(P)), y] = 1.0
        ps.extend(P)
        ys.extend(onehot)
        order.extend(idx)
    rank = np.argsort(np.asarray(order), kind="stable")
    return (
        np.concatenate([ps[i] for i in rank]),
        np.concatenate([ys[i] for i in rank]),
    )
