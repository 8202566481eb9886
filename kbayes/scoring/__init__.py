"""Scores shared by every experiment kind."""

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

__all__ = ["LOG_LOSS_EPS", "ScoreInputError", "accuracy", "brier", "check_pmf", "log_loss",
           "rps", "score_table"]
