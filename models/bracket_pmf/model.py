"""The logistic-normal bracket PMF as an additive-Gaussian state-space model (DESIGN 3.1).

State ``z_t`` in ``R^(K-1)``: additive log-ratio coordinates with the last bracket as
reference, ``p_t = softmax([z_t, 0])`` (Aitchison 1986; Atchison & Shen 1980 for the
logistic-normal). Dynamics and observations, with ``dt`` in hours (irregular):

    z_0 ~ N(0, p_0^2 C),                  C = I + 1 1^T  (exchangeable brackets)
    z_t = z_{t-1} + w_t,                  w_t ~ N(0, q (tau_t + DT_FLOOR) C)
    price_t = softmax([z_t, 0]) + e_t,    e_t ~ N(0, diag(var_market_t))     (K rows)
    wx_t    = z_t + u_t,                  u_t ~ N(0, var_wx_t I)             (K-1 rows, optional)

Why prices on the probability scale (through the softmax, handled by the UKF's sigma points)
rather than in alr space: a bracket price is one noisy quote of one probability, brackets
trade (and go missing) one at a time, and the K prices need not sum to 1 (over-round). The
alr of the price vector needs *all* K prices at the same instant and the reference bracket's
noise would leak into every coordinate; on the probability scale each missing bracket is
just a masked row and the reference bracket is observed like any other. The weather PMF, by
contrast, is a complete coherent PMF, so its alr is observed directly (a linear row).

with ``tau_t`` the *operational time* of step ``t`` (:func:`operational_time`): the hours of
the step weighted by a variance rate ``r(u) = exp(q_day1 u + q_day2 u^2)`` of the elapsed
fraction ``u`` of the climate day, a deterministic time change of the random walk. A bracket
PMF moves little overnight and most in the afternoon, when the day's maximum is being set;
a constant rate (``q_day1 = q_day2 = 0``, ``tau_t = dt_t``) must compromise between the two
(the intraday periodicity of Andersen & Bollerslev 1997, here as a smooth log-quadratic
profile whose coefficients the likelihood fit learns).

``C`` makes the model symmetric in the brackets: it is the alr image of a random walk of
iid log-parts ``log p_k + const`` with variance ``q`` per hour each, so the prior mean PMF
is uniform and no bracket (the reference included) is special.
``DT_FLOOR`` keeps ``Q_t`` positive definite for steps at the same instant (the particle
filter Cholesky-factorises it).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from kbayes.compositional import reference_softmax
from kbayes.filters import Observation, StateSpaceModel, StateSpaceParams, symmetrize
from models.bracket_pmf.noise import market_noise_var, weather_noise_var
from models.bracket_pmf.params import BracketPMFParams

DT_FLOOR = 1e-4  # hours
HOURS_PER_DAY = 24.0
# Diagonal jitter of jitter_repair, in machine epsilons of the mean variance, per float width:
# it must exceed the round-off of P - G^T G (a few D eps) and stay far below the posterior
# variances of interest. 1e3 eps is 2e-13 in float64 but 1.2e-4 in float32, the size of a
# tight posterior variance (it moved float32 PMFs by up to 3e-3); 10 eps (1.2e-6) there.
JITTER_EPS = {8: 1e3, 4: 10.0}


class BracketStep(NamedTuple):
    """Features of one filter step of one event (leading axes ``T`` / batch when stacked).

    Attributes:
        dt: hours since the previous step (0 for the first step).
        price: bracket prices on the probability scale, ``NaN`` where missing.
        half_spread: half-spread of each price (probability units; finite everywhere).
        staleness_h: hours since each bracket's last trade (finite everywhere).
        volume: contracts traded in the step plus top-of-book depth (finite everywhere).
        weather_alr: ``alr`` of a weather PMF, ``NaN`` where no weather observation.
        weather_hours_left: hours from the step to the event's close (finite); it sets the
            weather noise and the step's place in the climate day (:func:`operational_time`).
    """

    dt: Float[Array, ""]
    price: Float[Array, " K"]
    half_spread: Float[Array, " K"]
    staleness_h: Float[Array, " K"]
    volume: Float[Array, " K"]
    weather_alr: Float[Array, " Km1"]
    weather_hours_left: Float[Array, ""]


def _fx(x: Float[Array, " D"], dt: Float[Array, ""], theta: None) -> Float[Array, " D"]:
    del dt, theta
    return x


def _hx_market(x: Float[Array, " D"], theta: None) -> Float[Array, " K"]:
    del theta
    return reference_softmax(x)


def _hx_market_weather(x: Float[Array, " D"], theta: None) -> Float[Array, " M"]:
    del theta
    return jnp.concatenate([reference_softmax(x), x])


def _process_cov(dt: Float[Array, ""], params: StateSpaceParams) -> Float[Array, "D D"]:
    return params.process_cov * (jnp.maximum(dt, 0.0) + DT_FLOOR)


@functools.cache
def bracket_state_space(weather: bool) -> StateSpaceModel:
    """The (static, hashable, cached) model functions, with or without the weather rows."""
    hx = _hx_market_weather if weather else _hx_market
    return StateSpaceModel(fx=_fx, hx=hx, process_cov_fn=_process_cov)


def num_obs_rows(num_brackets: int, weather: bool) -> int:
    """``M``: K price rows, plus K - 1 weather rows when the weather channel is on."""
    return 2 * num_brackets - 1 if weather else num_brackets


def state_space_params(
    params: BracketPMFParams, num_brackets: int, weather: bool
) -> StateSpaceParams:
    """``m_0 = 0``, ``P_0 = p_0^2 C``, ``Q = q C`` (``C`` exchangeable, see above), ``R = 0``."""
    d = num_brackets - 1
    dtype = jnp.result_type(params.log_q, float)
    c = exchangeable_alr_cov(num_brackets, dtype)
    m = num_obs_rows(num_brackets, weather)
    return StateSpaceParams(
        initial_mean=jnp.zeros(d, dtype),
        initial_cov=jnp.exp(2.0 * params.log_p0) * c,
        process_cov=jnp.exp(params.log_q) * c,
        obs_cov=jnp.zeros((m, m), dtype),
    )


def jitter_repair(cov: Float[Array, "D D"]) -> Float[Array, "D D"]:
    """Symmetrise and add a tiny diagonal jitter (a cheap PSD repair, no eigen-decomposition).

    ``P <- (P + P^T) / 2 + c eps (mean(diag P) + 1) I`` with ``c = JITTER_EPS[itemsize]``
    (1e3 in float64, 10 in float32). Under the random walk ``P^- = P + Q (dt + DT_FLOOR)``
    is positive definite whenever ``P`` is, so only round-off in ``P - K S K^T`` needs
    covering; the jitter (about 2e-13 relative in float64, 1e-6 in float32) does that at a
    fraction of the cost of :func:`~kbayes.filters.repair_psd`'s ``eigh`` (which dominates
    the UKF step under ``vmap`` on CPU). The jitter's scale is not differentiated.
    """
    sym = symmetrize(cov)
    info = jnp.finfo(sym.dtype)
    c = JITTER_EPS.get(info.bits // 8, JITTER_EPS[4])
    scale = lax.stop_gradient(jnp.mean(jnp.diagonal(sym)) + 1.0)
    return sym + (c * float(info.eps) * scale) * jnp.eye(sym.shape[-1], dtype=sym.dtype)


def exchangeable_alr_cov(num_brackets: int, dtype: object = float) -> Float[Array, "D D"]:
    """``C = F F^T = I + 1 1^T``: the alr covariance of iid unit-variance log-parts.

    With ``F = [I, -1]`` the alr map of log-parts, iid ``N(0, s^2)`` log-parts give
    ``alr ~ N(0, s^2 (I + 1 1^T))``: every bracket, the reference included, is treated alike
    (Aitchison 1986, sec. 6). With ``Q = q I`` instead, the reference bracket would carry no
    noise of its own and the prior mean PMF would not be uniform.
    """
    d = num_brackets - 1
    return jnp.eye(d, dtype=dtype) + jnp.ones((d, d), dtype=dtype)


def _finite(x: Float[Array, " ..."]) -> Float[Array, " ..."]:
    x = jnp.asarray(x)
    return jnp.where(jnp.isfinite(x), x, jnp.zeros_like(x))


def _missing_if_not_finite(x: Float[Array, " ..."]) -> Float[Array, " ..."]:
    x = jnp.asarray(x)
    return jnp.where(jnp.isfinite(x), x, jnp.full_like(x, jnp.nan))


def day_fraction(hours_to_close: Float[Array, "*T"]) -> Float[Array, "*T"]:
    """``u = 1 - hours_to_close / 24`` clipped to ``[0, 1]``: 0 until the climate day starts."""
    return jnp.clip(1.0 - hours_to_close / HOURS_PER_DAY, 0.0, 1.0)


def operational_time(
    dt: Float[Array, "*T"], hours_to_close: Float[Array, "*T"], params: BracketPMFParams
) -> Float[Array, "*T"]:
    """``tau = int r(u(s)) ds`` over a step of ``dt`` hours ending ``hours_to_close`` before close.

    ``r(u) = exp(q_day1 u + q_day2 u^2)`` is integrated by Simpson's rule over the step (the
    rate is flat before the day starts and after the close, where ``u`` is clipped), so long
    quiet gaps are weighted by the rate they actually span, not by the rate at their end.
    With both coefficients 0, ``tau = dt`` exactly.
    """
    dt = jnp.maximum(dt, 0.0)

    def rate(hours: Float[Array, "*T"]) -> Float[Array, "*T"]:
        u = day_fraction(hours)
        return jnp.exp(params.q_day1 * u + params.q_day2 * u * u)

    start, mid, end = hours_to_close + dt, hours_to_close + 0.5 * dt, hours_to_close
    return dt * (rate(start) + 4.0 * rate(mid) + rate(end)) / 6.0


def step_observation(step: BracketStep, params: BracketPMFParams, weather: bool) -> Observation:
    """The filter :class:`~kbayes.filters.Observation` of one step (NaN rows are missing).

    Its ``dt`` is the step's operational time (:func:`operational_time`).
    """
    price = _missing_if_not_finite(step.price)
    var = market_noise_var(
        _finite(step.half_spread), _finite(step.staleness_h), _finite(step.volume), params
    )
    dt = operational_time(_finite(step.dt), _finite(step.weather_hours_left), params)
    if not weather:
        return Observation(y=price, dt=dt, noise_var=var)
    wx = _missing_if_not_finite(step.weather_alr)
    wx_var = jnp.broadcast_to(weather_noise_var(_finite(step.weather_hours_left), params), wx.shape)
    return Observation(
        y=jnp.concatenate([price, wx]), dt=dt, noise_var=jnp.concatenate([var, wx_var])
    )
