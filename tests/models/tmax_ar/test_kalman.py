"""The filter's likelihood against the exact joint Gaussian, the censored update, the step
contract (scan = loop of update), and the results recorded before the filter became a step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy.stats import multivariate_normal, norm

from models.tmax_ar.grid import TENTHS, WHOLE
from models.tmax_ar.kalman import (
    OBS_SD,
    ARFilterParams,
    ARInfo,
    ARState,
    ARStep,
    backward_sample,
    censored_ar_filter,
    censored_ar_kalman,
    effective_ar,
)
from models.tmax_ar.model import FitData, tmax_ar_model
from tests.models.tmax_ar.recorded import (
    MODEL_STATIONS,
    RECORDED,
    filter_case,
    model_case,
)

T = 40


def _inputs(seed: int):
    rng = np.random.default_rng(seed)
    phi = 0.7 + 0.25 * rng.random(T)
    sigma = 0.1 + 0.2 * rng.random(T)
    base = 20 + rng.standard_normal(T)
    phi_e, sig_e = effective_ar(jnp.asarray(phi), jnp.asarray(sigma))
    return rng, np.asarray(phi_e), np.asarray(sig_e), base


def _filter(phi, sigma, base, y, kind, mu, tau) -> tuple[ARState, ARInfo]:
    steps = ARStep(*(jnp.asarray(a) for a in (phi, sigma, base, y, kind)))
    return censored_ar_filter(ARFilterParams(jnp.asarray(mu), jnp.asarray(tau)), steps)


def _joint_cov(phi: np.ndarray, sigma: np.ndarray, tau: float) -> np.ndarray:
    # x_s = sum_j (prod_{i=j+1..s} phi_i) sigma_j eps_j
    a = np.zeros((T, T))
    for s in range(T):
        for j in range(s + 1):
            a[s, j] = np.prod(phi[j + 1 : s + 1]) * sigma[j]
    return a @ a.T + tau**2 + OBS_SD**2 * np.eye(T)


def test_tenths_loglik_equals_joint_gaussian() -> None:
    rng, phi, sigma, base = _inputs(0)
    mu, tau = 0.7, 1.5
    cov = _joint_cov(phi, sigma, tau)
    y = rng.multivariate_normal(base + mu, cov)
    kind = np.full(T, TENTHS)
    kind[[5, 6, 7, 20]] = 0  # gaps are marginalised out
    _, info = _filter(phi, sigma, base, y, kind, mu, tau)
    keep = kind > 0
    ref = multivariate_normal(base[keep] + mu, cov[np.ix_(keep, keep)]).logpdf(y[keep])
    np.testing.assert_allclose(float(info.log_likelihood.sum()), ref, rtol=2e-4)


def test_single_whole_report_is_an_interval_probability() -> None:
    _, phi, sigma, base = _inputs(1)
    kind = np.zeros(T, dtype=int)
    kind[0] = WHOLE
    y = np.zeros(T)
    y[0] = 21.0
    mu, tau = 0.3, 1.0
    _, info = _filter(phi, sigma, base, y, kind, mu, tau)
    sd = np.sqrt(float(sigma[0]) ** 2 + tau**2 + OBS_SD**2)
    m = base[0] + mu
    ref = np.log(norm.cdf((21.5 - m) / sd) - norm.cdf((20.5 - m) / sd))
    np.testing.assert_allclose(float(info.log_likelihood.sum()), ref, rtol=1e-4)


def test_backward_sample_respects_reports() -> None:
    rng, phi, sigma, base = _inputs(2)
    y = base + 0.5 + 0.1 * rng.standard_normal(T)
    kind = np.full(T, TENTHS)
    _, info = _filter(phi, sigma, base, y, kind, 0.0, 2.0)
    keys = jax.random.split(jax.random.PRNGKey(0), 200)
    x, d = jax.vmap(backward_sample, in_axes=(0, None, None, None))(
        keys, info.filtered, jnp.asarray(phi), jnp.asarray(sigma)
    )
    temp = base + np.asarray(d)[:, None] + np.asarray(x)
    assert np.all(np.isfinite(temp))
    assert np.abs(temp.mean(axis=0) - y).max() < 0.05


def _case(dtype: jnp.dtype) -> tuple[ARFilterParams, ARStep]:
    c = {
        k: jnp.asarray(v, dtype) if v.dtype.kind == "f" else jnp.asarray(v)
        for k, v in filter_case().items()
    }
    prior = ARFilterParams(c["mu_delta"], c["tau_delta"], c["obs_var"])
    return prior, ARStep(c["phi"], c["sigma"], c["base"], c["y"], c["kind"])


BATCH = (0, ARStep(0, 0, None, None, None))  # candidates share the day's reports


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
def test_scan_is_a_loop_of_the_live_update_bit_for_bit(x64: bool) -> None:
    with jax.enable_x64(x64):
        prior, steps = _case(jnp.float64 if x64 else jnp.float32)
        final, info = jax.vmap(censored_ar_filter, in_axes=BATCH)(prior, steps)
        kalman = censored_ar_kalman(prior)  # every candidate at once, step by step
        update = jax.jit(kalman.update)
        state = kalman.init(None)
        for t in range(steps.y.shape[0]):
            step = ARStep(
                steps.phi[:, t], steps.sigma[:, t], steps.base[t], steps.y[t], steps.kind[t]
            )
            state, step_info = update(state, step, None)
            for got, want in zip(
                jax.tree_util.tree_leaves(step_info),
                jax.tree_util.tree_leaves(jax.tree.map(lambda a, t=t: a[:, t], info)),
                strict=True,
            ):
                np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
        for got, want in zip(state, final, strict=True):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.fixture(scope="module")
def recorded() -> dict[str, np.ndarray]:
    with np.load(RECORDED) as f:
        return dict(f)


# Recorded on one x86 CPU; XLA's transcendental functions may differ by an ulp on another,
# and ~120 steps of moment updates (and the backward pass through them) carry such
# differences along: a few hundred ulp at most, far below any real change to the filter.
TOLERANCE = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
def test_filter_and_paths_reproduce_the_recorded_results(
    recorded: dict[str, np.ndarray], x64: bool
) -> None:
    name = "f64" if x64 else "f32"
    tol = TOLERANCE["float64" if x64 else "float32"]
    with jax.enable_x64(x64):
        prior, steps = _case(jnp.float64 if x64 else jnp.float32)
        _, info = jax.vmap(censored_ar_filter, in_axes=BATCH)(prior, steps)
        keys = jax.random.split(jax.random.PRNGKey(5), steps.phi.shape[0])
        x, delta = jax.vmap(backward_sample)(keys, info.filtered, steps.phi, steps.sigma)
        got = info.filtered._asdict() | {
            "loglik": info.log_likelihood.sum(-1),
            "step_loglik": info.log_likelihood,
            "x": x,
            "delta": delta,
        }
    for field, value in got.items():
        want = recorded[f"{name}_{field}"]
        assert np.asarray(value).dtype == want.dtype, field
        np.testing.assert_allclose(np.asarray(value), want, **tol, err_msg=field)
    # The diagnostics: a tenths report's log-likelihood is the predictive density's.
    tenths = np.asarray(steps.kind) == TENTHS
    ref = norm.logpdf(
        np.asarray(steps.y, float)[None, :],
        np.asarray(info.pred_mean, float),
        np.sqrt(np.asarray(info.pred_var, float)),
    )
    np.testing.assert_allclose(
        np.asarray(info.log_likelihood)[:, tenths], ref[:, tenths], rtol=1e-4 if not x64 else 1e-10
    )


def test_model_log_density_reproduces_the_recorded_value(recorded: dict[str, np.ndarray]) -> None:
    data, sites = model_case()
    with jax.enable_x64(True):
        fit_data = FitData(
            jnp.asarray(data["y"]),
            jnp.asarray(data["kind"]),
            jnp.asarray(data["base"]),
            jnp.asarray(data["station"]),
            MODEL_STATIONS,
        )
        params = {k: jnp.asarray(v) for k, v in sites.items()}
        lp, _ = log_density(tmax_ar_model, (fit_data,), {}, params)
    np.testing.assert_allclose(float(lp), float(recorded["model_log_density"]), rtol=1e-12)
