"""Tmax nowcast (DESIGN 3.2): hierarchical time-varying AR(1) around a baseline path.

Modules, one idea each:

* :mod:`~models.tmax_ar.grid`: the 5-minute LST grid of a climate day and reports on it;
* :mod:`~models.tmax_ar.baseline`: forecast or climatological baseline path;
* :mod:`~models.tmax_ar.curves`: smooth time-of-day AR coefficient and innovation scale;
* :mod:`~models.tmax_ar.kalman`: filter with censored whole-°C reports, backward sampling;
* :mod:`~models.tmax_ar.model`: the NumPyro model (``scan`` over steps, ``plate`` over days);
* :mod:`~models.tmax_ar.fit`: NUTS, ArviZ InferenceData and diagnostics;
* :mod:`~models.tmax_ar.gap_5min`: 5-minute maximum to official high, whole °F;
* :mod:`~models.tmax_ar.nowcast`: posterior predictive paths, PMF, quantiles, hazard;
* :mod:`~models.tmax_ar.simulate`: days simulated from the model with known parameters.
"""

from models.tmax_ar.fit import FitConfig, NutsFit, Posterior, fit_nuts, save_idata
from models.tmax_ar.gap_5min import GapModel, fit_gap, to_official_f
from models.tmax_ar.grid import STEPS, DayObs, day_grid, steps_before
from models.tmax_ar.model import FitData, tmax_ar_model
from models.tmax_ar.nowcast import (
    HAZARD_MINUTES,
    Nowcast,
    NowcastDay,
    NowcastWarning,
    nowcast,
    two_degree_ladder,
)

__all__ = [
    "HAZARD_MINUTES",
    "STEPS",
    "DayObs",
    "FitConfig",
    "FitData",
    "GapModel",
    "Nowcast",
    "NowcastDay",
    "NowcastWarning",
    "NutsFit",
    "Posterior",
    "day_grid",
    "fit_gap",
    "fit_nuts",
    "nowcast",
    "save_idata",
    "steps_before",
    "tmax_ar_model",
    "to_official_f",
    "two_degree_ladder",
]
