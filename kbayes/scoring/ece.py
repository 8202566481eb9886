"""Expected calibration error (binned).

    ECE = sum_b (n_b / N) * |freq_b - mean_forecast_b|

over the non-empty bins ``b`` of :func:`kbayes.scoring.reliability.reliability_bins`
(Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017). It is 0 for a perfectly reliable forecast
with infinitely many cases; with ``N`` cases in equal-count bins a calibrated forecast still
scores about ``sqrt(2 n_bins / (pi N)) * sqrt(p (1 - p))`` (at most ``0.4 sqrt(n_bins / N)``)
from sampling noise, so compare ECEs at equal ``N`` and ``n_bins``. For bracket PMFs use the
top-label (confidence of the most likely bracket) or the all-brackets (every bracket pooled)
reduction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import Float, Int

from kbayes.scoring.reliability import (
    Binning,
    ReliabilityBins,
    all_brackets,
    reliability_bins,
    top_label,
)


def ece_from_bins(bins: ReliabilityBins) -> float:
    """ECE of already-computed reliability bins."""
    filled = bins.count > 0
    gap = np.abs(bins.frequency[filled] - bins.mean_forecast[filled])
    return float(np.sum(bins.count[filled] * gap) / bins.count.sum())


def ece(
    p: Float[np.ndarray, " N"],
    y: Float[np.ndarray, " N"],
    n_bins: int = 10,
    binning: Binning = "width",
) -> float:
    """ECE of binary forecasts ``p`` of 0/1 outcomes ``y`` (``binning``: "width" or "mass")."""
    return ece_from_bins(reliability_bins(p, y, n_bins, binning))


def ece_top_label(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
    outcome: Int[np.ndarray, " N"],
    n_bins: int = 10,
    binning: Binning = "width",
) -> float:
    """Top-label ECE of bracket PMFs: confidence of the argmax bracket vs. whether it won."""
    return ece(*top_label(probs, outcome), n_bins=n_bins, binning=binning)


def ece_all_brackets(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]],
    outcome: Int[np.ndarray, " N"],
    n_bins: int = 10,
    binning: Binning = "width",
) -> float:
    """ECE over every bracket probability of every PMF against that bracket's indicator."""
    return ece(*all_brackets(probs, outcome), n_bins=n_bins, binning=binning)
