"""Multivariate exponential-kernel Hawkes processes for order flow (DESIGN.md section 3.3).

``lambda_i(t) = mu_i(t) + sum_j sum_{t_k^j < t} alpha_ij beta_ij exp(-beta_ij (t - t_k^j))``
(Hawkes 1971) with a constant or hour-of-day baseline; exact likelihood by the exponential
recursion (Ozaki 1979); maximum likelihood by an interior-point Newton method on the concave
problem at fixed decays with the decay profiled (:mod:`~kbayes.pointprocess.newton`), or by
optax L-BFGS for per-row or per-pair fitted decays; Ogata (1981) thinning, online intensity for
live use, and time-rescaling goodness of fit (Brown et al. 2002).

Typical use::

    events = check_events(times, marks, T, num_dims=8)
    result = fit(events, alpha_structure=bracket_structure(4))     # shared decay, fitted
    given = fit(events, alpha_structure=bracket_structure(4), beta=2.0)  # decay given
    table = ks_table(result.params, events)
    live = intensity_algorithm(result.params)    # the kbayes.step contract
    state = live.init(None)
    state, info = live.update(state, HawkesEvent(t, dim), None)
    lam = intensity(result.params, None, state, t_now)

Enable ``jax_enable_x64`` for float64 likelihoods (the kernels scan gaps, so float32 still
works on long windows, less precisely).
"""

from kbayes.pointprocess.baseline import (
    BaselineGrid,
    bin_index,
    constant_baseline,
    exposure,
    hour_of_day_baseline,
)
from kbayes.pointprocess.events import (
    EventSequence,
    HawkesData,
    check_events,
    prepare,
)
from kbayes.pointprocess.goodness import ks_table, time_rescaled_residuals, uniform_residuals
from kbayes.pointprocess.gradient import log_likelihood_and_grad, log_likelihood_fast
from kbayes.pointprocess.likelihood import (
    compensator,
    event_intensities,
    intensity_at,
    log_likelihood,
)
from kbayes.pointprocess.mle import FreeIndex, HawkesFit, HawkesFitInfo, fit
from kbayes.pointprocess.online import (
    HawkesEvent,
    IntensityState,
    UpdateInfo,
    compensator_since_last,
    initial_state,
    intensity,
    intensity_algorithm,
)
from kbayes.pointprocess.params import (
    HawkesParams,
    StationarityWarning,
    check_stationarity,
    hawkes_params,
    spectral_radius,
    stationary_rate,
)
from kbayes.pointprocess.pooled import (
    DayBaseline,
    PooledHawkesFit,
    day_length,
    fit_pooled,
    pooled_log_likelihood,
    stack_days,
)
from kbayes.pointprocess.recursion import (
    ExcitationState,
    event_step,
    log_likelihood_kernel,
    scan_intensity,
    scan_residuals,
)
from kbayes.pointprocess.structure import as_tying, bracket_structure
from kbayes.pointprocess.thinning import simulate

__all__ = [
    "BaselineGrid",
    "DayBaseline",
    "EventSequence",
    "ExcitationState",
    "FreeIndex",
    "HawkesData",
    "HawkesEvent",
    "HawkesFit",
    "HawkesFitInfo",
    "HawkesParams",
    "IntensityState",
    "PooledHawkesFit",
    "StationarityWarning",
    "UpdateInfo",
    "as_tying",
    "bin_index",
    "bracket_structure",
    "check_events",
    "check_stationarity",
    "compensator",
    "compensator_since_last",
    "constant_baseline",
    "day_length",
    "event_intensities",
    "event_step",
    "exposure",
    "fit",
    "fit_pooled",
    "hawkes_params",
    "hour_of_day_baseline",
    "initial_state",
    "intensity",
    "intensity_algorithm",
    "intensity_at",
    "ks_table",
    "log_likelihood",
    "log_likelihood_and_grad",
    "log_likelihood_fast",
    "log_likelihood_kernel",
    "pooled_log_likelihood",
    "prepare",
    "scan_intensity",
    "scan_residuals",
    "simulate",
    "spectral_radius",
    "stack_days",
    "stationary_rate",
    "time_rescaled_residuals",
    "uniform_residuals",
]
