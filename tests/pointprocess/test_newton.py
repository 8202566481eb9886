"""Newton fit (concave inner problem, profiled decay) against L-BFGS, KKT, and its features."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import pytest

from kbayes.pointprocess import (
    BaselineGrid,
    EventSequence,
    HawkesFit,
    HawkesParams,
    check_events,
    constant_baseline,
    fit,
    hawkes_params,
    hour_of_day_baseline,
    log_likelihood,
    log_likelihood_and_grad,
    newton,
    prepare,
    simulate,
)
from kbayes.pointprocess.concave import (
    Evaluation,
    NewtonProblem,
    Problem,
    information,
    kkt_residual,
    log_likelihood_terms,
    projected_gradient,
)
from kbayes.pointprocess.design import Design, design
from kbayes.pointprocess.interior_point import Limits, solve_at
from kbayes.pointprocess.layout import row_data

# 3 dimensions; the zeros are structural in MASK
MU = np.array([0.3, 0.2, 0.25])
ALPHA = np.array([[0.35, 0.15, 0.0], [0.1, 0.3, 0.0], [0.0, 0.2, 0.25]])
MASK = ALPHA > 0
BETA = 1.5


@pytest.fixture(scope="module")
def events() -> EventSequence:
    return simulate(hawkes_params(MU, ALPHA, BETA), 2500.0, np.random.default_rng(8))


def _lbfgs(events: EventSequence, **kwargs: object) -> HawkesFit:
    return fit(events, method="lbfgs", tol=1e-10, max_iter=5000, stderr=False, **kwargs)


def _assert_same_fit(
    newton: HawkesFit, lbfgs: HawkesFit, events: EventSequence, grid: BaselineGrid | None = None
) -> None:
    for a, b in zip(newton.params, lbfgs.params, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert newton.info.log_likelihood == pytest.approx(lbfgs.info.log_likelihood, abs=1e-8)
    # the reported likelihood is the exact one at the estimate
    exact = float(log_likelihood(newton.params, events, grid))
    assert newton.info.log_likelihood == pytest.approx(exact, abs=1e-8)
    assert newton.info.converged


def test_newton_equals_lbfgs_with_given_decay_and_structure(events: EventSequence) -> None:
    newton = fit(events, alpha_structure=MASK, beta=BETA, stderr=False)
    assert newton.info.method == "newton"
    assert newton.info.num_free == 3 + int(MASK.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # L-BFGS may stall just above 1e-10
        lbfgs = _lbfgs(events, alpha_structure=MASK, beta=BETA)
    _assert_same_fit(newton, lbfgs, events)
    assert np.all(np.asarray(newton.params.beta) == BETA)
    assert np.all(np.asarray(newton.params.alpha)[~MASK] == 0.0)
    assert newton.info.grad_norm < 1e-9


def test_newton_profile_equals_lbfgs_with_fitted_shared_decay(events: EventSequence) -> None:
    newton = fit(events, alpha_structure=MASK, beta_init=0.7)
    assert newton.info.method == "newton (profile beta)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lbfgs = _lbfgs(events, alpha_structure=MASK, beta_init=0.7)
    _assert_same_fit(newton, lbfgs, events)
    assert float(newton.params.beta[0, 0]) == pytest.approx(BETA, rel=0.15)
    # closed-form observed information (incl. the decay) = autodiff Hessian of the likelihood
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = fit(events, alpha_structure=MASK, beta_init=0.7, method="lbfgs", tol=1e-10)
    np.testing.assert_allclose(newton.covariance, reference.covariance, rtol=1e-3, atol=1e-10)


def test_kkt_conditions_hold_with_independent_gradient(events: EventSequence) -> None:
    result = fit(events, stderr=False)  # all 9 alpha free: two estimates end on the boundary
    params = result.params
    value, grad = log_likelihood_and_grad(params, prepare(events))
    assert float(value) == pytest.approx(result.info.log_likelihood, abs=1e-8)
    n = len(events.times)
    alpha, g_alpha = np.asarray(params.alpha), np.asarray(grad.alpha) / n
    at_zero = alpha == 0.0
    assert at_zero.any(), "the test needs estimates on the boundary"
    assert np.all(np.abs(g_alpha[~at_zero]) < 1e-9)
    assert np.all(g_alpha[at_zero] < 1e-9)  # no ascent direction into the feasible set
    assert np.all(np.abs(np.asarray(grad.mu)) / n < 1e-9)
    assert abs(float(np.sum(grad.beta))) / n < 1e-9  # the shared decay is stationary


@pytest.mark.parametrize("decay", ["row", "pair"])
def test_newton_with_given_row_and_pair_decays(events: EventSequence, decay: str) -> None:
    beta = np.array([1.2, 1.6, 2.0]) if decay == "row" else 1.0 + np.arange(9).reshape(3, 3) / 8
    newton = fit(events, alpha_structure=MASK, beta=beta, stderr=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lbfgs = _lbfgs(events, alpha_structure=MASK, beta=beta)
    _assert_same_fit(newton, lbfgs, events)


def test_newton_with_ties_across_rows_and_hour_of_day_baseline() -> None:
    grid = hour_of_day_baseline((0, 8, 16, 24), start_hour=3.0, seconds_per_unit=60.0)
    mu = np.array([[0.1, 0.3, 0.2], [0.15, 0.25, 0.1]])
    alpha = np.array([[0.3, 0.1], [0.1, 0.3]])
    ev = simulate(hawkes_params(mu, alpha, 0.8), 3000.0, np.random.default_rng(8), grid)
    tying = np.array([[0, 1], [1, 0]])  # one self and one cross parameter
    newton = fit(ev, grid, alpha_structure=tying, beta_init=1.0, stderr=False)
    assert newton.info.method == "newton (profile beta)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lbfgs = _lbfgs(ev, grid=grid, alpha_structure=tying, beta_init=1.0)
    _assert_same_fit(newton, lbfgs, ev, grid)
    a = np.asarray(newton.params.alpha)
    assert a[0, 0] == a[1, 1] and a[0, 1] == a[1, 0]


def test_method_choice_and_refusals(events: EventSequence) -> None:
    with pytest.raises(ValueError, match=r"method='newton'.*'row'.*use method='lbfgs'"):
        fit(events, beta_structure="row", method="newton")
    with pytest.raises(ValueError, match=r"beta\[0, 1\] = -1.0 must be positive"):
        fit(events, beta=np.array([[1.0, -1.0, 1.0]] * 3))
    with pytest.raises(ValueError, match=r"beta must be scalar, \(3,\) or \(3, 3\)"):
        fit(events, beta=np.ones(2))
    poisson = fit(events, alpha_structure=np.zeros((3, 3), bool), stderr=False)
    assert poisson.info.method == "newton"  # nothing excites: no decay to fit
    np.testing.assert_allclose(
        np.asarray(poisson.params.mu)[:, 0], events.counts / events.T, rtol=1e-9
    )


def _design_log_likelihood(
    params: HawkesParams, windows: list[EventSequence], grids: list[BaselineGrid]
) -> float:
    rd = row_data(windows, grids)
    b = np.asarray(params.beta)
    rows = b[:1] if np.all(b == b[:1]) else b
    dsg = design(jnp.asarray(rows), rd)
    theta = jnp.concatenate([params.mu, params.alpha], axis=1)
    log_sum, _, _ = log_likelihood_terms(theta, dsg.x, jnp.asarray(rd.weight), dsg.row)
    return float(log_sum - jnp.sum(dsg.cost * theta))


def test_design_reproduces_the_likelihood_with_ties_bins_and_windows() -> None:
    grid = hour_of_day_baseline((0, 12, 24), start_hour=6.0, seconds_per_unit=60.0)
    params = hawkes_params(
        [[0.2, 0.4], [0.3, 0.1]], [[0.3, 0.2], [0.1, 0.4]], [[1.0, 2.0], [0.5, 3.0]]
    )
    rng = np.random.default_rng(0)
    days = [simulate(params, T, rng, grid) for T in (400.0, 250.0)]
    tied = check_events(  # ties across and within dimensions, an event at T
        np.round(days[0].times, 0), days[0].marks, days[0].T, 2
    )
    tied = check_events(np.append(tied.times, tied.T), np.append(tied.marks, 1), tied.T, 2)
    for windows in ([tied], days):
        expected = sum(float(log_likelihood(params, ev, grid)) for ev in windows)
        got = _design_log_likelihood(params, windows, [grid] * len(windows))
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_design_derivatives_match_finite_differences() -> None:
    params = hawkes_params([0.3, 0.2], [[0.3, 0.2], [0.1, 0.4]], 1.3)
    ev = simulate(params, 300.0, np.random.default_rng(1))
    rd = row_data([ev], [constant_baseline()])
    s, h = np.log(1.3), 1e-4

    def at(x: float) -> Design:
        return design(jnp.full((1, 2), np.exp(x)), rd, order=2)

    mid, up, down = at(s), at(s + h), at(s - h)
    for first, second, base in (("x_s", "x_ss", "x"), ("cost_s", "cost_ss", "cost")):
        fd1 = (np.asarray(getattr(up, base)) - np.asarray(getattr(down, base))) / (2 * h)
        np.testing.assert_allclose(np.asarray(getattr(mid, first)), fd1, rtol=1e-6, atol=1e-8)
        fd2 = (
            np.asarray(getattr(up, base))
            - 2 * np.asarray(getattr(mid, base))
            + np.asarray(getattr(down, base))
        ) / h**2
        np.testing.assert_allclose(np.asarray(getattr(mid, second)), fd2, rtol=1e-4, atol=1e-5)


def _untied_problem(events: EventSequence) -> tuple:
    """Arranged events, free-parameter index (all entries free), fixed values, start, N."""
    rd = row_data([events], [constant_baseline()])
    d = events.num_dims
    index = np.concatenate([np.arange(d)[:, None], d + np.arange(d * d).reshape(d, d)], axis=1)
    start = jnp.concatenate([jnp.asarray(0.5 * events.counts / events.T), jnp.full(d * d, 0.1)])
    scale = jnp.asarray(float(len(events.times)))
    return rd, index.astype(np.int32), jnp.zeros((d, d + 1)), start, scale


@pytest.mark.slow  # two interior-point solves and a float64 polish (~20 s)
def test_float32_interior_point_reaches_the_float64_optimum(events: EventSequence) -> None:
    """The float32 first phase changes nothing the float64 polish does not undo.

    Tolerances. The polish keeps a Newton step only when ``l`` does not decrease; a step
    from a KKT residual ``g`` (of ``f = -l / N``) gains about ``N g^2 / (2 h)`` (``h`` the
    curvature of ``f``), which is below one ulp of ``l`` once ``g < floor = sqrt(2 eps |l|
    h_max / N)`` (~1e-8 here). Below the floor, whether the last step is kept is decided by
    the rounding of ``l``, which differs between CPUs (AVX2 / AVX-512 sum orders): the float32
    path need not meet ``tol = 1e-10`` alone (``ok`` may be False, and then the public entry
    reruns with the resume). What must hold on any CPU: the residual is below the floor, the
    active set is the float64 one exactly, and ``phi`` is within the first-order distance
    ``(|g_fast| + |g_exact|) / h_min`` of the float64 optimum.
    """
    rd, index, fixed, start, scale = _untied_problem(events)
    d, tol = events.num_dims, jnp.asarray(1e-10)
    dsg = design(jnp.full((1, d), BETA), rd)
    problem = Problem(dsg, jnp.asarray(rd.weight), index, fixed, scale)
    limits = Limits(tol, jnp.asarray(200), jnp.asarray(0))
    exact, _, ok64 = solve_at(start, problem, limits, jnp.asarray(1.0), float32_ip=False)
    fast, _, _ = solve_at(start, problem, limits, jnp.asarray(1.0), float32_ip=True, resume=False)
    assert bool(ok64)
    eps, n = float(np.finfo(np.float64).eps), float(scale)
    free = np.asarray(exact.phi) > 0
    np.testing.assert_array_equal(np.asarray(fast.phi) > 0, free)  # the same active set
    hess = np.asarray(information(exact.phi, exact.inv, problem))[np.ix_(free, free)]
    h = np.linalg.eigvalsh(hess / n)
    floor = np.sqrt(2.0 * eps * abs(float(exact.value)) * h[-1] / n)
    assert float(kkt_residual(fast, scale)) <= floor

    def grad_norm(ev: Evaluation) -> float:
        return float(np.linalg.norm(np.asarray(projected_gradient(-ev.grad / scale, ev.phi))))

    distance = (grad_norm(fast) + grad_norm(exact)) / h[0]
    error = np.linalg.norm(np.asarray(fast.phi) - np.asarray(exact.phi))
    assert error <= 1.01 * distance + 1e-14
    # the gain left is below an ulp of l: the values differ by the rounding of a sum of N
    # log terms, at most ~N eps relative (7e-13 here)
    assert float(fast.value) == pytest.approx(float(exact.value), rel=1e-12)
    # the public entry (float32 phase, resume compiled only on failure) gives the same fit
    out = newton.fit_given_decay(
        start, np.full((1, d), BETA), NewtonProblem(rd, index, fixed, scale), limits
    )
    assert bool(out.converged)
    error = np.linalg.norm(np.asarray(out.phi) - np.asarray(exact.phi))
    assert error <= 1.01 * (float(out.grad_norm) + grad_norm(exact)) / h[0] + 1e-14


def test_failed_first_solve_is_rerun_with_the_resume(events: EventSequence) -> None:
    """Two steps are not enough: the wrapper reruns with the resume and reports the failure."""
    rd, index, fixed, start, scale = _untied_problem(events)
    beta = np.full((1, events.num_dims), BETA)
    limits = Limits(jnp.asarray(1e-10), jnp.asarray(2), jnp.asarray(0))
    common = (start, beta, NewtonProblem(rd, index, fixed, scale), limits)
    calls: list[bool] = []
    solver = newton._fit_given_decay

    def spy(*args: object, resume: bool, **kwargs: object) -> newton.NewtonFit:
        calls.append(resume)
        return solver(*args, resume=resume, **kwargs)

    out = newton._with_resume(spy)(*common)
    assert calls == [False, True]
    assert not bool(out.converged)
