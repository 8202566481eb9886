"""Kalman filter with censored whole-°C reports, and forward-filter backward-sample paths.

State of day ``d`` at step ``s``: ``z_s = (x_s, delta)`` with

``x_s = phi_s x_{s-1} + sigma_s eps_s``, ``eps_s ~ N(0, 1)``, ``x_0 ~ N(0, sigma_0^2)``

(``x`` starts at the climate day's first step, so ``delta`` is the day's anomaly at its start.
A stationary start, ``x_0 ~ N(0, sigma_0^2 / (1 - phi_0^2))``, makes ``delta`` and ``x_0``
exchangeable as ``phi -> 1``; on the real KNYC days that gave NUTS two modes, ``phi ~ 1`` with
no day offsets and ``phi < 1`` with large ones, and r-hat 1.7.)

``delta ~ N(mu_delta, tau_delta^2)`` (the day offset, constant within the day)

``T_s = f_s + delta + x_s`` (temperature, °C; ``f`` the baseline path).

Reports: a tenths value ``y_s = T_s + e_s``, ``e_s ~ N(0, r^2)`` with
``r^2 = 0.03^2 + 0.1^2 / 12 + omega^2`` (sensor noise, the rounding of a tenths report, and
``omega``: short-lived fluctuations that do not persist to the next 5-minute report; ``omega``
is fitted, default 0) is a
linear-Gaussian update (Kalman 1960). A whole-°C value ``c`` says only
``T_s + e_s in [c - 1/2, c + 1/2)``; its likelihood is the predictive
probability of that interval and the state is updated by matching the first two moments of the
truncated normal (assumed-density filtering; Maybeck 1982 ch. 12, Minka 2001), which is exact
for the likelihood of that report given the past and a Gaussian approximation afterwards.
Missing steps are prediction-only. The day offset is integrated out analytically, so the
marginal likelihood ``log p(y_{1:T})`` is the sum of the one-step predictive terms
(prediction-error decomposition, Harvey 1989 ch. 3).

The filter of a day is the step contract of :mod:`kbayes.step`: :func:`censored_ar_kalman`
binds :class:`ARFilterParams` and returns ``init(key) -> ARState`` and
``update(state, ARStep, key) -> (ARState, ARInfo)``; :func:`censored_ar_filter` scans it over a
day, and the NumPyro model runs the same ``update`` in its own scan.

Paths are drawn by forward filtering, backward sampling (Carter & Kohn 1994;
Frühwirth-Schnatter 1994): ``delta, x_T ~ p(. | y)`` from the last filtered moments, then
``x_s | x_{s+1}, delta, y_{1:s}`` backwards. Steps after the conditioning time are simply
unobserved, so the same pass yields the past (including gaps) and the future.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from kbayes.step import StepAlgorithm, scan_algorithm
from models.tmax_ar.grid import TENTHS, WHOLE

SENSOR_SD = 0.03
# Error of a tenths report: sensor noise plus rounding to 0.1 °C (uniform, sd 0.1 / sqrt 12).
OBS_SD = float((SENSOR_SD**2 + 0.1**2 / 12.0) ** 0.5)


def report_var(jitter_sd: Float[Array, "*batch"] | float) -> Float[Array, "*batch"]:
    """Error variance ``r^2 = r_0^2 + omega^2`` of a tenths report (the filter's ``obs_var``)."""
    return OBS_SD**2 + jitter_sd**2


def report_noise_sd(jitter_sd: Float[Array, "*batch"] | float) -> Float[Array, "*batch"]:
    """sd of the noise added to a simulated temperature before it is rounded to tenths."""
    return (SENSOR_SD**2 + jitter_sd**2) ** 0.5


_VAR_FLOOR = 1e-8
_LOG_2PI = 1.8378770664093453


class ARFilterParams(NamedTuple):
    """What the filter of one day needs besides the day's steps (any common batch shape).

    Attributes:
        mu_delta, tau_delta: prior mean and sd of the day offset ``delta``.
        obs_var: report error variance ``r^2`` (°C^2, :func:`report_var`).
    """

    mu_delta: Float[Array, "*batch"]
    tau_delta: Float[Array, "*batch"]
    obs_var: Float[Array, "*batch"] | float = OBS_SD**2


class ARStep(NamedTuple):
    """One step of a day: the AR coefficients at that step, the baseline and the report.

    Stacked along a leading time axis for :func:`censored_ar_filter`.

    Attributes:
        phi, sigma: ``phi_s``, ``sigma_s`` (as from :func:`effective_ar`).
        base: the baseline ``f_s``, °C.
        y: the report, °C (any value where missing: it is never read).
        kind: ``MISSING``, ``TENTHS`` or ``WHOLE`` (:mod:`models.tmax_ar.grid`).
    """

    phi: Float[Array, "*batch"]
    sigma: Float[Array, "*batch"]
    base: Float[Array, "*batch"]
    y: Float[Array, "*batch"]
    kind: Int[Array, "*batch"]


class ARState(NamedTuple):
    """Filtered Gaussian moments of ``(x_s, delta)`` (stacked: time along the last axis).

    Attributes:
        mx, md: means of ``x_s`` and ``delta``.
        pxx, pxd, pdd: the 2x2 covariance.
    """

    mx: Float[Array, "*batch"]
    md: Float[Array, "*batch"]
    pxx: Float[Array, "*batch"]
    pxd: Float[Array, "*batch"]
    pdd: Float[Array, "*batch"]


class ARInfo(NamedTuple):
    """Diagnostics of one step.

    Attributes:
        filtered: the state after the step (stacked over steps: the filtered moments that
            :func:`backward_sample` needs).
        log_likelihood: ``log p(y_s | y_1:s-1)`` of the step's report (0 where missing).
        pred_mean, pred_var: the one-step predictive ``N(mu, s^2)`` of the report,
            ``mu = f_s + E x_s + E delta``, ``s^2 = Var(x_s + delta) + r^2``.
    """

    filtered: ARState
    log_likelihood: Float[Array, "*batch"]
    pred_mean: Float[Array, "*batch"]
    pred_var: Float[Array, "*batch"]


def _log_interval(a: Float[Array, "*batch"], b: Float[Array, "*batch"]) -> Float[Array, "*batch"]:
    """``log(Phi(b) - Phi(a))`` for ``a < b``, stable in both tails."""
    flip = a > 0
    lo = jnp.where(flip, -b, a)
    hi = jnp.where(flip, -a, b)
    lhi = log_ndtr(hi)
    llo = log_ndtr(lo)
    return lhi + jnp.log1p(-jnp.minimum(jnp.exp(llo - lhi), 1.0 - 1e-7))


def _censored_moments(
    mu: Float[Array, "*batch"], s2: Float[Array, "*batch"], c: Float[Array, "*batch"]
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"], Float[Array, "*batch"]]:
    """Log-probability, mean and variance of ``N(mu, s2)`` truncated to ``[c - .5, c + .5)``."""
    s = jnp.sqrt(s2)
    a = (c - 0.5 - mu) / s
    b = (c + 0.5 - mu) / s
    logz = _log_interval(a, b)
    pa = jnp.exp(-0.5 * a * a - 0.5 * _LOG_2PI - logz)
    pb = jnp.exp(-0.5 * b * b - 0.5 * _LOG_2PI - logz)
    mean = mu + s * (pa - pb)
    var = s2 * jnp.clip(1.0 + a * pa - b * pb - (pa - pb) ** 2, 1e-6, 1.0)
    return logz, mean, var


def censored_ar_kalman(params: ARFilterParams) -> StepAlgorithm[ARState, ARInfo]:
    """The filter of one day as the step contract of :mod:`kbayes.step`.

    ``init(key)`` is the belief before step 0 (``x`` enters through step 0's innovation,
    ``phi_0 = 0``; ``delta ~ N(mu_delta, tau_delta^2)``); ``update(state, step, key)`` is one
    predict + update with a tenths (Gaussian), whole-°C (censored, moment-matched) or missing
    (prediction only) report. Deterministic: keys are ignored. All arrays share one batch
    shape (the NumPyro model filters every training day at once).
    """
    obs_var = params.obs_var

    def init(key: PRNGKeyArray | None) -> ARState:
        del key
        z = jnp.zeros_like(params.mu_delta)
        return ARState(z, params.mu_delta, z, z, params.tau_delta * params.tau_delta)

    def update(state: ARState, step: ARStep, key: PRNGKeyArray | None) -> tuple[ARState, ARInfo]:
        del key
        mx, md, pxx, pxd, pdd = state
        phi, sigma, f, y, kind = step
        # Predict: x <- phi x + sigma eps, delta unchanged.
        mx = phi * mx
        pxx = phi * phi * pxx + sigma * sigma
        pxd = phi * pxd
        mu = f + mx + md
        s2 = pxx + 2.0 * pxd + pdd + obs_var
        hx, hd = pxx + pxd, pxd + pdd  # Cov(z, T)
        is_t, is_w = kind == TENTHS, kind == WHOLE
        y_safe = jnp.where(kind > 0, y, mu)  # keeps the unused branches finite (and their grads)
        # Tenths: Gaussian update.
        ll_t = -0.5 * (_LOG_2PI + jnp.log(s2) + (y_safe - mu) ** 2 / s2)
        # Whole °C: interval probability and moment-matched update.
        ll_w, mean_w, var_w = _censored_moments(mu, s2, jnp.where(is_w, y_safe, jnp.round(mu)))
        innov = jnp.where(is_t, y_safe - mu, jnp.where(is_w, mean_w - mu, 0.0))
        shrink = jnp.where(is_t, 1.0, jnp.where(is_w, 1.0 - var_w / s2, 0.0))
        mx = mx + hx / s2 * innov
        md = md + hd / s2 * innov
        pxx = jnp.maximum(pxx - shrink * hx * hx / s2, _VAR_FLOOR)
        pxd = pxd - shrink * hx * hd / s2
        pdd = jnp.maximum(pdd - shrink * hd * hd / s2, _VAR_FLOOR)
        ll = jnp.where(is_t, ll_t, jnp.where(is_w, ll_w, 0.0))
        filtered = ARState(mx, md, pxx, pxd, pdd)
        return filtered, ARInfo(filtered, ll, mu, s2)

    return StepAlgorithm(init, update)


def effective_ar(
    phi: Float[Array, "*batch T"], sigma: Float[Array, "*batch T"]
) -> tuple[Float[Array, "*batch T"], Float[Array, "*batch T"]]:
    """Step 0 gets ``phi = 0``: ``x_0 = sigma_0 eps_0`` starts the day's deviation afresh."""
    return phi.at[..., 0].set(0.0), sigma


def censored_ar_filter(params: ARFilterParams, steps: ARStep) -> tuple[ARState, ARInfo]:
    """Filter one day (``steps`` stacked along a leading time axis; ``vmap`` for more days).

    Returns:
        The state after the last step and the per-step :class:`ARInfo` (time leading);
        ``info.log_likelihood.sum(-1)`` is the day's ``log p(y_1:T)`` (prediction-error
        decomposition).
    """
    return scan_algorithm(censored_ar_kalman(params), steps)


def backward_sample(
    key: Array, filt: ARState, phi: Float[Array, " T"], sigma: Float[Array, " T"]
) -> tuple[Float[Array, " T"], Float[Array, ""]]:
    """One joint draw ``(x_{0:T-1}, delta)`` given all the reports the filter saw.

    Args:
        key: PRNG key.
        filt: the filtered moments of every step (``info.filtered`` of
            :func:`censored_ar_filter`).
        phi, sigma: the day's AR coefficients (those the filter used).

    Returns:
        ``(x, delta)``; the temperature path is ``base + delta + x``.
    """
    k_last, k_back = jax.random.split(key)
    n = filt.mx.shape[-1]
    e = jax.random.normal(k_last, (2,))
    # Joint draw of (x_T, delta) from the last filtered 2x2 Gaussian (Cholesky by hand).
    l11 = jnp.sqrt(jnp.maximum(filt.pdd[-1], _VAR_FLOOR))
    delta = filt.md[-1] + l11 * e[0]
    l21 = filt.pxd[-1] / l11
    l22 = jnp.sqrt(jnp.maximum(filt.pxx[-1] - l21 * l21, _VAR_FLOOR))
    x_last = filt.mx[-1] + l21 * e[0] + l22 * e[1]
    eps = jax.random.normal(k_back, (n - 1,))

    def back(x_next, inp):
        mx, md, pxx, pxd, pdd, phi_n, sig_n, z = inp
        # Filtered x_s given delta, then combined with x_{s+1} = phi x_s + sigma eps.
        m = mx + pxd / pdd * (delta - md)
        v = jnp.maximum(pxx - pxd * pxd / pdd, _VAR_FLOOR)
        prec = 1.0 / v + phi_n * phi_n / (sig_n * sig_n)
        mean = (m / v + phi_n * x_next / (sig_n * sig_n)) / prec
        x = mean + z / jnp.sqrt(prec)
        return x, x

    inputs = (
        filt.mx[:-1],
        filt.md[:-1],
        filt.pxx[:-1],
        filt.pxd[:-1],
        filt.pdd[:-1],
        phi[1:],
        sigma[1:],
        eps,
    )
    _, xs = jax.lax.scan(back, x_last, inputs, reverse=True)
    return jnp.concatenate([xs, x_last[None]]), delta
