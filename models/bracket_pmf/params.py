"""Parameters of the logistic-normal bracket PMF model, unconstrained for optimisation.

Every scale is stored as a log so that ``optax`` can move it freely and the model stays valid:

    Q = q C per hour,            q = exp(log_q)     (C = I + 1 1^T: iid log-parts)
    P_0 = p_0^2 C,               p_0 = exp(log_p0)
    market price noise (probability scale, see :mod:`models.bracket_pmf.noise`):
        sigma_0 = exp(log_s0), c_h = exp(log_spread), c_s = exp(log_stale),
        c_v = exp(log_volume)
    weather alr noise: sigma_w = exp(log_wx), c_w = exp(log_wx_horizon)
    variance-rate profile over the climate day (see :func:`~models.bracket_pmf.model.
    operational_time`): r(u) = exp(q_day1 u + q_day2 u^2), u the elapsed fraction of the day

The two profile coefficients are already on the log scale (0 = a constant rate) and are
reported as they are. The defaults are deliberately vague priors on a cent-tick market: a
2-cent base noise, a half-spread counted once, staleness adding one cent of standard
deviation per hour, a constant variance rate.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float


class BracketPMFParams(NamedTuple):
    """Unconstrained (log-scale) parameters; a pytree, differentiable as a whole.

    Attributes:
        log_q: log process variance per hour of each bracket's log-probability.
        log_p0: log prior standard deviation of each bracket's log-probability.
        log_s0: log base standard deviation of a bracket price (probability units).
        log_spread: log multiplier of the half-spread in the price standard deviation.
        log_stale: log standard deviation added per sqrt(hour) since the bracket's last trade.
        log_volume: log standard deviation of the ``1 / (1 + volume)`` thin-market term.
        log_wx: log standard deviation of the weather alr observation at the close.
        log_wx_horizon: log extra standard deviation of the weather alr per sqrt(day) to close.
        q_day1: linear coefficient of the log variance rate in the elapsed day fraction.
        q_day2: quadratic coefficient of the log variance rate in the elapsed day fraction.
    """

    log_q: Float[Array, ""]
    log_p0: Float[Array, ""]
    log_s0: Float[Array, ""]
    log_spread: Float[Array, ""]
    log_stale: Float[Array, ""]
    log_volume: Float[Array, ""]
    log_wx: Float[Array, ""]
    log_wx_horizon: Float[Array, ""]
    q_day1: Float[Array, ""]
    q_day2: Float[Array, ""]


DAY_PROFILE = ("q_day1", "q_day2")
"""The fields of the variance-rate profile (held at 0 for a constant rate)."""


def default_params(
    q: float = 0.05,
    p0: float = 2.0,
    s0: float = 0.02,
    spread: float = 1.0,
    stale: float = 0.01,
    volume: float = 0.02,
    wx: float = 0.7,
    wx_horizon: float = 0.7,
    q_day1: float = 0.0,
    q_day2: float = 0.0,
) -> BracketPMFParams:
    """Parameters from natural-scale values (the scales must be positive)."""
    values = (q, p0, s0, spread, stale, volume, wx, wx_horizon)
    if min(values) <= 0:
        raise ValueError(f"every scale must be positive, got {values}")
    dtype = jnp.result_type(float)  # float64 under x64; strongly typed (no recompilation)
    logs = [math.log(v) for v in values] + [float(q_day1), float(q_day2)]
    return BracketPMFParams(*(jnp.asarray(v, dtype=dtype) for v in logs))


def natural_params(params: BracketPMFParams) -> dict[str, float]:
    """The natural-scale values (for reports): ``exp`` of every ``log_`` field, named without
    the prefix; the profile coefficients as they are."""
    out = {}
    for name, v in zip(params._fields, params, strict=True):
        if name.startswith("log_"):
            out[name[4:]] = float(jnp.exp(v))
        else:
            out[name] = float(v)
    return out
