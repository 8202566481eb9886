"""NumPyro model: hierarchical time-varying AR(1) residuals around a baseline path.

For day ``d`` (station ``g = g(d)``) and 5-minute step ``s`` (time of day ``tau_s``):

``T_{d,s} = f_{d,s} + delta_d + x_{d,s}``

``x_{d,s} = phi_d(tau_s) x_{d,s-1} + sigma_d(tau_s) eps_{d,s}``

``logit phi_g(tau) = a_0 + u_g + B_1(tau) . a_1``,  ``log sigma_d(tau) = l_d + B_1(tau) . c_1``

with ``B_1`` the Fourier design without its intercept column (one harmonic for ``phi``, two
for ``sigma``, see :mod:`models.tmax_ar.curves`). Hierarchical priors (partial pooling across
days and stations):

``delta_d ~ N(mu_g, tau_g^2)``, ``mu_g ~ N(0, 3^2)``, ``tau_g ~ HalfNormal(3)``

``l_d ~ N(c_0 + v_g, tau_eta^2)``, ``tau_eta ~ HalfNormal(0.5)``

and the report error ``r^2 = r_0^2 + omega^2`` (:mod:`models.tmax_ar.kalman`),
``omega ~ HalfNormal(0.3)``: 5-minute reports jitter by about 0.1 °C around a smoother path
(fitted on the real KNYC days: ``omega = 0.12``), and without ``omega`` the AR innovations
absorb that jitter, so predictive paths cross the running maximum far too often.

with ``a = (a_0, a_1)``, ``c = (c_0, c_1)``. ``l_d`` is hierarchically centred (Gelfand, Sahu
& Carlin 1995): each day's reports pin the log scale down, and centring it on the population
mean keeps ``c_0`` from sliding along a ridge with the day effects. The AR coefficient is pooled
per station, not per day: with 5-minute data ``phi`` is close to 1 and a day's 288 reports
barely inform a day's own ``phi``. A per-day, non-centred ``k_d = a_0 + u_g + tau_xi xi'_d``
(Papaspiliopoulos, Roberts & Sköld 2007) was tried on 30 real KNYC days: NUTS did not finish
600 iterations in 20 minutes (tree depth saturated in the funnel), against 50 s and r-hat 1.01
without it.

``a ~ N((6, 0, 0), diag(2, .5, .5)^2)`` (``logit phi = 6``: a 5-minute AR coefficient of 0.9975,
a reversion time of about 33 hours),
``c ~ N((log 0.15, 0, 0, 0, 0), diag(1, .5, .5, .5, .5)^2)``

and, with several stations, ``u_g = tau_u u'_g``, ``v_g = tau_v v'_g`` (non-centred,
``u', v' ~ N(0, 1)``, ``tau_u, tau_v ~ HalfNormal(0.5)``); with one station ``u = v = 0``.

The reports enter through :mod:`models.tmax_ar.kalman` (tenths: Gaussian; whole °C: interval
censored; missing: absent). The day offsets ``delta_d`` are integrated out inside the filter
(Rao-Blackwellisation), so NUTS (Hoffman & Gelman 2014) samples only the AR parameters, the
per-day shifts and the hyper-parameters. The filter is written with
``numpyro.contrib.control_flow.scan`` over the 288 steps and a ``plate`` over days, so one
scan step advances every day at once.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jaxtyping import Array, Float, Int
from numpyro.contrib.control_flow import scan

from models.tmax_ar.curves import N_PHI_COEF, N_SIGMA_COEF, ar_curves
from models.tmax_ar.kalman import (
    ARFilterParams,
    ARState,
    ARStep,
    censored_ar_kalman,
    effective_ar,
    report_var,
)

PHI_LOC = np.array([6.0, 0.0, 0.0])
PHI_SCALE = np.array([2.0, 0.5, 0.5])
SIGMA_LOC = np.array([np.log(0.15), 0.0, 0.0, 0.0, 0.0])
SIGMA_SCALE = np.array([1.0, 0.5, 0.5, 0.5, 0.5])


class FitData(NamedTuple):
    """Training days on the grid.

    Attributes:
        y: reports, °C (any value where missing), ``(D, T)``.
        kind: ``0`` missing, ``1`` tenths, ``2`` whole, ``(D, T)``.
        base: baseline path ``f``, °C, ``(D, T)``.
        station: station index ``0 .. S-1`` per day, ``(D,)``.
        n_stations: ``S``.
    """

    y: Float[Array, "D T"]
    kind: Int[Array, "D T"]
    base: Float[Array, "D T"]
    station: Int[Array, " D"]
    n_stations: int


def station_shifts(
    n_stations: int,
) -> tuple[Float[Array, " S"], Float[Array, " S"]]:
    """Sample the station offsets ``(u, v)`` (zeros for one station)."""
    if n_stations == 1:
        return jnp.zeros(1), jnp.zeros(1)
    tau_u = numpyro.sample("tau_u", dist.HalfNormal(0.5))
    tau_v = numpyro.sample("tau_v", dist.HalfNormal(0.5))
    with numpyro.plate("stations", n_stations):
        u_raw = numpyro.sample("u_raw", dist.Normal(0.0, 1.0))
        v_raw = numpyro.sample("v_raw", dist.Normal(0.0, 1.0))
    return tau_u * u_raw, tau_v * v_raw


def tmax_ar_model(data: FitData) -> None:
    """The joint model; the reports' log-likelihood is added per step and day."""
    n_days, _ = data.y.shape
    s = data.n_stations
    phi_coef = numpyro.sample("phi_coef", dist.Normal(PHI_LOC, PHI_SCALE).to_event(1))
    sigma_coef = numpyro.sample("sigma_coef", dist.Normal(SIGMA_LOC, SIGMA_SCALE).to_event(1))
    assert phi_coef.shape[-1] == N_PHI_COEF and sigma_coef.shape[-1] == N_SIGMA_COEF
    with numpyro.plate("stations_delta", s):
        mu_delta = numpyro.sample("mu_delta", dist.Normal(0.0, 3.0))
        tau_delta = numpyro.sample("tau_delta", dist.HalfNormal(3.0))
    u, v = station_shifts(s)
    tau_eta = numpyro.sample("tau_eta", dist.HalfNormal(0.5))
    jitter = numpyro.sample("obs_jitter_sd", dist.HalfNormal(0.3))
    obs_var = report_var(jitter)
    g = data.station
    with numpyro.plate("days", n_days):
        l_day = numpyro.sample("log_sigma_day", dist.Normal(sigma_coef[0] + v[g], tau_eta))
    k_day = phi_coef[0] + u[g]
    phi, sigma = ar_curves(phi_coef.at[0].set(0.0), sigma_coef.at[0].set(0.0), k_day, l_day)
    phi, sigma = effective_ar(phi, sigma)
    # Every day at once (batch shape (D,)); numpyro's scan runs the filter's own update.
    kalman = censored_ar_kalman(ARFilterParams(mu_delta[g], tau_delta[g], obs_var))

    def transition(state: ARState, step: ARStep) -> tuple[ARState, None]:
        state, info = kalman.update(state, step, None)
        with numpyro.plate("days_step", n_days):
            numpyro.factor("loglik", info.log_likelihood)
        return state, None

    scan(transition, kalman.init(None), ARStep(phi.T, sigma.T, data.base.T, data.y.T, data.kind.T))
