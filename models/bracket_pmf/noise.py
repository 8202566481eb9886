"""Observation noise variances of the market and weather channels.

Market rows are bracket prices on the probability scale. Their noise variance combines the
sources of price error on a thin binary market (Hasbrouck 2007, ch. 3, for the spread and
staleness components of a transaction price around the efficient price):

    var_k,t = sigma_0^2                     tick size, bid-ask bounce of a print
            + (c_h h_k,t)^2                 half-spread h (0 for a mid's own uncertainty
                                            beyond it; a constant for trade prices)
            + c_s^2 s_k,t                   s = hours since the bracket's last trade
            + c_v^2 / (1 + v_k,t)           v = contracts traded in the step (+ top depth)
            + VAR_FLOOR

so noise grows with spread and staleness and shrinks with volume/depth. Staleness enters
linearly in variance: a stale price is the efficient price of ``s`` hours ago, off by a
random-walk increment. Weather rows are ``alr`` of a weather PMF with

    var_wx,t = sigma_w^2 + c_w^2 hours_to_close_t / 24

which shrinks through the day. All features of missing rows must be finite (they are
masked after this function, and a ``NaN`` here would poison gradients through ``where``).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from models.bracket_pmf.params import BracketPMFParams

VAR_FLOOR = 1e-8


def market_noise_var(
    half_spread: Float[Array, "*T K"],
    staleness_h: Float[Array, "*T K"],
    volume: Float[Array, "*T K"],
    params: BracketPMFParams,
) -> Float[Array, "*T K"]:
    """Per-bracket price noise variance (probability units squared)."""
    h = jnp.maximum(half_spread, 0.0)
    s = jnp.maximum(staleness_h, 0.0)
    v = jnp.maximum(volume, 0.0)
    return (
        jnp.exp(2.0 * params.log_s0)
        + (jnp.exp(params.log_spread) * h) ** 2
        + jnp.exp(2.0 * params.log_stale) * s
        + jnp.exp(2.0 * params.log_volume) / (1.0 + v)
        + VAR_FLOOR
    )


def weather_noise_var(
    hours_to_close: Float[Array, "*T"], params: BracketPMFParams
) -> Float[Array, "*T"]:
    """Variance of each alr coordinate of the weather PMF, shrinking as the close nears."""
    left = jnp.maximum(hours_to_close, 0.0)
    return (
        jnp.exp(2.0 * params.log_wx)
        + jnp.exp(2.0 * params.log_wx_horizon) * left / 24.0
        + VAR_FLOOR
    )
