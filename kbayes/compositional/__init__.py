"""Compositional data: log-ratio coordinates of the simplex and logistic-normal moments."""

from kbayes.compositional.log_ratio import (
    alr,
    alr_inverse,
    clr,
    clr_inverse,
    helmert_basis,
    ilr,
    ilr_inverse,
    reference_log_softmax,
    reference_softmax,
)
from kbayes.compositional.logistic_normal import (
    InverseMap,
    SimplexMoments,
    logistic_normal_moments_monte_carlo,
    logistic_normal_moments_unscented,
)

__all__ = [
    "InverseMap",
    "SimplexMoments",
    "alr",
    "alr_inverse",
    "clr",
    "clr_inverse",
    "helmert_basis",
    "ilr",
    "ilr_inverse",
    "logistic_normal_moments_monte_carlo",
    "logistic_normal_moments_unscented",
    "reference_log_softmax",
    "reference_softmax",
]
