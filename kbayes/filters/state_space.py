"""Nonlinear state-space models with additive Gaussian noise.

    x_t = fx(x_{t-1}, dt_t, theta) + w_t,     w_t ~ N(0, Q_t),   Q_t = Q dt_t (default)
    y_t = hx(x_t, theta) + v_t,               v_t ~ N(0, R_t),   R_t = R + diag(noise_var_t)
    x_0 ~ N(m_0, P_0)

The unscented Kalman filter and the bootstrap particle filter take the same
:class:`StateSpaceModel` (the functions, static) and :class:`StateSpaceParams` (the arrays, a
differentiable pytree). ``fx`` and ``hx`` see the model parameters ``theta = params.model``;
when the observation carries ``inputs`` they are called as ``fx(x, dt, theta, inputs)`` and
``hx(x, theta, inputs)``. ``Q dt`` is the Wiener-process convention of DESIGN.md section 3.1;
any other scaling goes in ``process_cov_fn(dt, params)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


class StateSpaceParams(NamedTuple):
    """Arrays of an additive-Gaussian state-space model (a pytree: ``grad``/``vmap`` over it).

    Attributes:
        initial_mean: ``m_0``, the belief before the first step.
        initial_cov: ``P_0``.
        process_cov: ``Q``, process noise covariance per unit time.
        obs_cov: ``R``, base observation noise covariance (may be zeros when every step gives
            ``noise_var``).
        model: parameters ``theta`` passed to ``fx``/``hx`` (any pytree).
    """

    initial_mean: Float[Array, " D"]
    initial_cov: Float[Array, "D D"]
    process_cov: Float[Array, "D D"]
    obs_cov: Float[Array, "M M"]
    model: Any = None


TransitionFn = Callable[..., Float[Array, " D"]]
"""``fx(x, dt, theta[, inputs]) -> x_next`` (deterministic part of the transition)."""

ObservationFn = Callable[..., Float[Array, " M"]]
"""``hx(x, theta[, inputs]) -> E[y | x]``."""

ProcessCovFn = Callable[[Float[ArrayLike, ""], StateSpaceParams], Float[Array, "D D"]]
"""``process_cov_fn(dt, params) -> Q_t``."""


@dataclass(frozen=True)
class StateSpaceModel:
    """The functions of an additive-Gaussian state-space model (static, hashable).

    Attributes:
        fx: transition mean function ``fx(x, dt, theta[, inputs])``.
        hx: observation mean function ``hx(x, theta[, inputs])``.
        process_cov_fn: ``Q_t`` as a function of ``(dt, params)``; ``None`` means ``Q dt``.
    """

    fx: TransitionFn
    hx: ObservationFn
    process_cov_fn: ProcessCovFn | None = None

    def transition(
        self, x: Float[Array, " D"], dt: Float[ArrayLike, ""], theta: Any, inputs: Any = None
    ) -> Float[Array, " D"]:
        """``fx(x, dt, theta[, inputs])``."""
        if inputs is None:
            return self.fx(x, dt, theta)
        return self.fx(x, dt, theta, inputs)

    def observe(self, x: Float[Array, " D"], theta: Any, inputs: Any = None) -> Float[Array, " M"]:
        """``hx(x, theta[, inputs])``."""
        if inputs is None:
            return self.hx(x, theta)
        return self.hx(x, theta, inputs)

    def process_cov(
        self, params: StateSpaceParams, dt: Float[ArrayLike, ""]
    ) -> Float[Array, "D D"]:
        """``Q_t``: ``process_cov_fn(dt, params)`` or ``Q dt``."""
        if self.process_cov_fn is not None:
            return self.process_cov_fn(dt, params)
        return jnp.asarray(params.process_cov) * dt
