"""CRPS of samples, of a Normal and of an integer-°F PMF against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.stats import norm

from kbayes.scoring import ScoreInputError, crps_normal, crps_pmf, crps_samples, rps


def _brute(x: np.ndarray, y: float, fair: bool = False) -> float:
    """O(S^2) kernel form: mean |x_i - y| - sum_ij |x_i - x_j| / (2 S^2) (or 2 S (S - 1))."""
    s = len(x)
    pairs = np.abs(x[:, None] - x[None, :]).sum()
    return float(np.abs(x - y).mean() - pairs / (2 * (s * (s - 1) if fair else s * s)))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 1)), min_size=2, max_size=25
    ),
    st.floats(-120, 120, allow_nan=False),
)
def test_crps_samples_equals_brute_force(xs: list[float], y: float) -> None:
    x = np.array(xs)  # rounding makes ties common
    assert crps_samples(x, y) == pytest.approx(_brute(x, y), rel=1e-9, abs=1e-9)
    assert crps_samples(x, y, fair=True) == pytest.approx(_brute(x, y, True), rel=1e-9, abs=1e-9)


def test_crps_samples_batches_over_leading_axes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 50))
    y = rng.normal(size=(3, 4))
    out = crps_samples(x, y)
    assert out.shape == (3, 4)
    assert out[2, 1] == pytest.approx(_brute(x[2, 1], y[2, 1]), rel=1e-12)
    assert crps_samples(np.array([3.0]), 5.0) == 2.0  # one sample: the absolute error


def test_crps_normal_closed_form_against_numerical_integral() -> None:
    for mu, sigma, y in [(0.0, 1.0, 0.3), (60.0, 3.0, 52.0), (-4.0, 0.2, -3.1)]:
        h = lambda x, mu=mu, sigma=sigma, y=y: (norm.cdf(x, mu, sigma) - (x >= y)) ** 2
        num = quad(h, mu - 12 * sigma, y)[0] + quad(h, y, mu + 12 * sigma)[0]
        assert crps_normal(mu, sigma, y) == pytest.approx(num, rel=1e-8)
    # Known value: CRPS(N(0, 1), 0) = 2 phi(0) - 1 / sqrt(pi) = (sqrt(2) - 1) / sqrt(pi).
    assert crps_normal(0.0, 1.0, 0.0) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi))


def test_crps_samples_converges_to_the_normal_closed_form() -> None:
    mu, sigma = np.array([55.0, 70.0, 40.0]), np.array([2.0, 4.0, 1.0])
    y = np.array([57.5, 69.0, 45.0])
    exact = crps_normal(mu, sigma, y)
    # Quantile "samples" converge at O(1/S); random draws at O(1/sqrt(S)).
    s = 20_000
    q = norm.ppf((np.arange(1, s + 1) - 0.5) / s)
    np.testing.assert_allclose(crps_samples(mu[:, None] + sigma[:, None] * q, y), exact, rtol=1e-4)
    draws = np.random.default_rng(1).normal(size=(3, 200_000))
    np.testing.assert_allclose(
        crps_samples(mu[:, None] + sigma[:, None] * draws, y), exact, rtol=1e-2
    )


def test_crps_pmf_against_kernel_form_and_rps() -> None:
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(8), size=50)
    lo = rng.integers(40, 60, size=50)
    y = lo + rng.integers(-4, 12, size=50)  # inside and outside the support
    support = lo[:, None] + np.arange(8)[None, :]
    e_abs = (P * np.abs(support - y[:, None])).sum(axis=1)
    spread = np.einsum("ni,nj,nij->n", P, P, np.abs(support[:, :, None] - support[:, None, :]))
    np.testing.assert_allclose(crps_pmf(P, y, lo), e_abs - 0.5 * spread, rtol=1e-12, atol=1e-12)
    inside = (y >= lo) & (y < lo + 8)
    np.testing.assert_allclose(
        crps_pmf(P, y, lo)[inside], rps(P[inside], (y - lo)[inside]), rtol=1e-12
    )


def test_crps_bad_input() -> None:
    with pytest.raises(ScoreInputError, match=r"samples\[0, 2\] = nan is not finite"):
        crps_samples(np.array([[1.0, 2.0, np.nan]]), np.array([1.0]))
    with pytest.raises(ScoreInputError, match="sigma"):
        crps_normal(0.0, np.array([1.0, 0.0]), 0.0)
    with pytest.raises(ScoreInputError, match=r"y\[0\] = 50.5 is not an integer"):
        crps_pmf(np.array([[0.5, 0.5]]), np.array([50.5]), 50)
    with pytest.raises(ScoreInputError, match="not a PMF"):
        crps_pmf(np.array([[0.5, 0.6]]), np.array([50]), 50)
