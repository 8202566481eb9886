"""Filters for state-space models in pure JAX: exact Kalman, unscented Kalman, particle.

Every filter follows the step contract of :mod:`kbayes.step` (DESIGN.md section 2): a builder
binds the model and parameters and returns ``StepAlgorithm(init, update)`` with
``init(key) -> state`` and ``update(state, observation, key) -> (state, info)``;
``*_filter(params, observations, key)`` scans the same ``update`` over a leading time axis
(:func:`kbayes.step.scan_algorithm`), and :func:`kbayes.step.pack_algorithm` compiles a
deterministic ``update`` on one flat carry for live use. Observations carry ``dt`` (irregular
time), per-row noise variances and missing rows (``NaN`` or a mask);
:mod:`kbayes.filters.linalg` holds the unrolled small-matrix Cholesky factor and forward
substitution the Gaussian filters use.
"""

from kbayes.filters.gaussian import (
    Conditioned,
    GaussianFilterInfo,
    GaussianState,
    condition_on_observation,
    masked_gaussian_log_likelihood,
)
from kbayes.filters.kalman import (
    LinearGaussianParams,
    LinearGaussianStep,
    kalman,
    kalman_filter,
    kalman_predict,
    kalman_step,
)
from kbayes.filters.observation import Observation, observed_rows
from kbayes.filters.particle import (
    ObservationLogLikFn,
    ParticleInfo,
    ParticleState,
    bootstrap_particle,
    particle_filter,
    weighted_moments,
)
from kbayes.filters.psd import repair_psd, symmetrize
from kbayes.filters.resampling import (
    ResampleFn,
    effective_sample_size,
    multinomial_resample,
    stratified_resample,
    systematic_resample,
)
from kbayes.filters.sigma_points import (
    MerweScaledSigmaPoints,
    merwe_sigma_points,
    merwe_weights,
    unscented_cross_covariance,
    unscented_transform,
)
from kbayes.filters.state_space import (
    ObservationFn,
    ProcessCovFn,
    StateSpaceModel,
    StateSpaceParams,
    TransitionFn,
)
from kbayes.filters.unscented import (
    unscented_kalman,
    unscented_kalman_filter,
    unscented_predict,
    unscented_update,
)

__all__ = [
    "Conditioned",
    "GaussianFilterInfo",
    "GaussianState",
    "LinearGaussianParams",
    "LinearGaussianStep",
    "MerweScaledSigmaPoints",
    "Observation",
    "ObservationFn",
    "ObservationLogLikFn",
    "ParticleInfo",
    "ParticleState",
    "ProcessCovFn",
    "ResampleFn",
    "StateSpaceModel",
    "StateSpaceParams",
    "TransitionFn",
    "bootstrap_particle",
    "condition_on_observation",
    "effective_sample_size",
    "kalman",
    "kalman_filter",
    "kalman_predict",
    "kalman_step",
    "masked_gaussian_log_likelihood",
    "merwe_sigma_points",
    "merwe_weights",
    "multinomial_resample",
    "observed_rows",
    "particle_filter",
    "repair_psd",
    "stratified_resample",
    "symmetrize",
    "systematic_resample",
    "unscented_cross_covariance",
    "unscented_kalman",
    "unscented_kalman_filter",
    "unscented_predict",
    "unscented_transform",
    "unscented_update",
    "weighted_moments",
]
