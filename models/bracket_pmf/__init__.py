"""Logistic-normal bracket PMF tracker (DESIGN 3.1), its fitting, and its baselines.

One idea per module:

* :mod:`~models.bracket_pmf.params`: the (log-scale) parameters;
* :mod:`~models.bracket_pmf.noise`: market and weather observation noise variances;
* :mod:`~models.bracket_pmf.model`: the alr random walk and the softmax / alr observations
  as a :class:`~kbayes.filters.StateSpaceModel`, and one step's features;
* :mod:`~models.bracket_pmf.pmf`: the PMF from a Gaussian or particle belief, in (0, 1);
* :mod:`~models.bracket_pmf.tracker`: UKF and particle trackers (``init``/``update``);
* :mod:`~models.bracket_pmf.live`: the UKF step packed and compiled for live use;
* :mod:`~models.bracket_pmf.steps`: trades / book / weather PMFs to step features;
* :mod:`~models.bracket_pmf.fit`: maximum marginal likelihood with optax;
* :mod:`~models.bracket_pmf.fusion`: the Dirichlet fusion and log-linear pool of the market
  and weather PMFs (the single-source baselines are :mod:`models.baselines`).
"""

from models.bracket_pmf.fit import TrackerFit, batch_log_likelihood, count_rows, fit_params
from models.bracket_pmf.fusion import (
    dirichlet_fusion,
    fit_dirichlet_fusion,
    fit_loglinear_pool,
    loglinear_pool,
)
from models.bracket_pmf.model import (
    DT_FLOOR,
    BracketStep,
    bracket_state_space,
    day_fraction,
    num_obs_rows,
    operational_time,
    state_space_params,
    step_observation,
)
from models.bracket_pmf.noise import market_noise_var, weather_noise_var
from models.bracket_pmf.params import (
    DAY_PROFILE,
    BracketPMFParams,
    default_params,
    natural_params,
)
from models.bracket_pmf.pmf import PMF_EPS, clip_pmf, gaussian_pmf, particle_pmf
from models.bracket_pmf.steps import (
    EventSteps,
    StepConfig,
    build_event_steps,
    pad_steps,
    stack_steps,
)
from models.bracket_pmf.tracker import (
    TrackerInfo,
    certain_tracker,
    pf_tracker,
    track,
    ukf_log_likelihood,
    ukf_tracker,
)

__all__ = [
    "DAY_PROFILE",
    "DT_FLOOR",
    "PMF_EPS",
    "BracketPMFParams",
    "BracketStep",
    "EventSteps",
    "StepConfig",
    "TrackerFit",
    "TrackerInfo",
    "batch_log_likelihood",
    "bracket_state_space",
    "build_event_steps",
    "certain_tracker",
    "clip_pmf",
    "count_rows",
    "day_fraction",
    "default_params",
    "dirichlet_fusion",
    "fit_dirichlet_fusion",
    "fit_loglinear_pool",
    "fit_params",
    "gaussian_pmf",
    "loglinear_pool",
    "market_noise_var",
    "natural_params",
    "num_obs_rows",
    "operational_time",
    "pad_steps",
    "particle_pmf",
    "pf_tracker",
    "stack_steps",
    "state_space_params",
    "step_observation",
    "track",
    "ukf_log_likelihood",
    "ukf_tracker",
    "weather_noise_var",
]
