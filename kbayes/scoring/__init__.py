"""Scores shared by every experiment kind."""

from kbayes.scoring.crps import crps_normal, crps_pmf, crps_samples
from kbayes.scoring.ece import ece, ece_all_brackets, ece_from_bins, ece_top_label
from kbayes.scoring.pit import pit_histogram, pit_normal, pit_pmf, pit_samples
from kbayes.scoring.plots import write_pit_png, write_reliability_png
from kbayes.scoring.pmf import (
    LOG_LOSS_EPS,
    ScoreInputError,
    accuracy,
    brier,
    check_pmf,
    log_loss,
    rps,
    score_table,
)
from kbayes.scoring.reliability import ReliabilityBins, all_brackets, reliability_bins, top_label

__all__ = [
    "LOG_LOSS_EPS",
    "ReliabilityBins",
    "ScoreInputError",
    "accuracy",
    "all_brackets",
    "brier",
    "check_pmf",
    "crps_normal",
    "crps_pmf",
    "crps_samples",
    "ece",
    "ece_all_brackets",
    "ece_from_bins",
    "ece_top_label",
    "log_loss",
    "pit_histogram",
    "pit_normal",
    "pit_pmf",
    "pit_samples",
    "reliability_bins",
    "rps",
    "score_table",
    "top_label",
    "write_pit_png",
    "write_reliability_png",
]
