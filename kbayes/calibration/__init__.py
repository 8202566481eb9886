"""Calibration maps for binary and bracket-vector forecasts, fitted on log loss.

Binary maps (one event: "the high lands in this bracket"): Platt, temperature, beta, isotonic.
Multiclass maps over a ladder's bracket PMF: temperature (any ladder length) and Dirichlet with
ODIR (one ladder length per map). Parametric maps are fitted by float64 L-BFGS (optax); all fit
functions return ``(params, info)``. Hyper-parameters are chosen by cross-validation over
contiguous blocks of days. See each module for the map's equation and reference.
"""

from kbayes.calibration.beta import BetaParams, apply_beta, fit_beta
from kbayes.calibration.cv import CVResult, block_kfold, select_by_cv
from kbayes.calibration.dirichlet import (
    DEFAULT_LAMBDAS,
    DirichletCVInfo,
    DirichletParams,
    apply_dirichlet,
    fit_dirichlet,
    fit_dirichlet_cv,
)
from kbayes.calibration.inputs import PROB_EPS, CalibrationInputError, group_by_k, logit
from kbayes.calibration.isotonic import (
    IsotonicInfo,
    IsotonicParams,
    apply_isotonic,
    fit_isotonic,
    pav,
)
from kbayes.calibration.optimize import FitInfo, minimize_lbfgs
from kbayes.calibration.platt import PlattParams, apply_platt, fit_platt
from kbayes.calibration.temperature import (
    TemperatureParams,
    apply_temperature,
    apply_temperature_multiclass,
    fit_temperature,
    fit_temperature_multiclass,
)

__all__ = [
    "DEFAULT_LAMBDAS",
    "PROB_EPS",
    "BetaParams",
    "CVResult",
    "CalibrationInputError",
    "DirichletCVInfo",
    "DirichletParams",
    "FitInfo",
    "IsotonicInfo",
    "IsotonicParams",
    "PlattParams",
    "TemperatureParams",
    "apply_beta",
    "apply_dirichlet",
    "apply_isotonic",
    "apply_platt",
    "apply_temperature",
    "apply_temperature_multiclass",
    "block_kfold",
    "fit_beta",
    "fit_dirichlet",
    "fit_dirichlet_cv",
    "fit_isotonic",
    "fit_platt",
    "fit_temperature",
    "fit_temperature_multiclass",
    "group_by_k",
    "logit",
    "minimize_lbfgs",
    "pav",
    "select_by_cv",
]
