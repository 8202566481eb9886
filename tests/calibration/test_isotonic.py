"""Isotonic calibration against scikit-learn's IsotonicRegression, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import isotonic_regression
from sklearn.isotonic import IsotonicRegression

from kbayes.calibration import CalibrationInputError, apply_isotonic, fit_isotonic, pav

# Forecasts drawn from a few repeated values (ties, duplicates, exact 0 and 1) or any float in
# [0, 1] (including subnormals and values closer than float64 resolution).
_probs = st.one_of(
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5 + 1e-16, 0.75, 1.0]),
    st.floats(0.0, 1.0, allow_nan=False),
)


@st.composite
def _dataset(draw: st.DrawFn, weighted: bool) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(1, 60))
    p = np.array(draw(st.lists(_probs, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n)))
    w = None
    if weighted:
        w = np.array(
            draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.7]), min_size=n, max_size=n))
        )
        w[draw(st.integers(0, n - 1))] = 1.0  # at least one positive weight
    new = np.array(draw(st.lists(_probs, min_size=1, max_size=20)))
    return p, y, w, new


def _check_equal(p: np.ndarray, y: np.ndarray, w: np.ndarray | None, new: np.ndarray) -> None:
    params, info = fit_isotonic(p, y, sample_weight=w)
    ref = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(p, y, sample_weight=w)
    np.testing.assert_array_equal(params.x, ref.X_thresholds_)
    np.testing.assert_array_equal(params.y, ref.y_thresholds_)
    np.testing.assert_array_equal(apply_isotonic(params, new), ref.predict(new))
    np.testing.assert_array_equal(apply_isotonic(params, p), ref.predict(p))
    assert info.n_knots == len(params.x) and info.converged


@settings(max_examples=150, deadline=None)
@given(_dataset(weighted=False))
def test_isotonic_equals_sklearn_exactly(data: tuple[np.ndarray, ...]) -> None:
    p, y, _, new = data
    _check_equal(p, y, None, new)


@settings(max_examples=80, deadline=None)
@given(_dataset(weighted=True))
def test_isotonic_equals_sklearn_exactly_with_weights(data: tuple[np.ndarray, ...]) -> None:
    p, y, w, new = data
    _check_equal(p, y, w, new)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(1e-3, 1e3)),
        min_size=1,
        max_size=80,
    )
)
def test_pav_equals_scipy_exactly(rows: list[tuple[float, float]]) -> None:
    y, w = np.array(rows).T
    np.testing.assert_array_equal(pav(y, w), isotonic_regression(y, weights=w).x)
    np.testing.assert_array_equal(pav(y), isotonic_regression(y).x)


def test_isotonic_on_a_larger_random_set_and_raw_scores() -> None:
    rng = np.random.default_rng(0)
    p = np.round(rng.random(5000), 3)  # many duplicates
    y = (rng.random(5000) < p**2).astype(int)
    _check_equal(p, y, None, rng.random(1000))
    s = rng.normal(0, 3, 2000)
    ys = (rng.random(2000) < 1 / (1 + np.exp(-s))).astype(int)
    params, _ = fit_isotonic(s, ys, from_scores=True)
    ref = IsotonicRegression(out_of_bounds="clip").fit(s, ys)
    outside = np.array([-100.0, 0.0, 100.0])
    np.testing.assert_array_equal(
        apply_isotonic(params, outside, from_scores=True), ref.predict(outside)
    )


def test_isotonic_map_is_monotone_and_a_textbook_example() -> None:
    # Outcomes 1, 0, 1, 0, 1 at increasing forecasts: the first four pool to their mean 1/2.
    params, info = fit_isotonic(np.array([0.1, 0.2, 0.3, 0.4, 0.5]), np.array([1, 0, 1, 0, 1]))
    fitted = apply_isotonic(params, np.array([0.1, 0.2, 0.3, 0.4, 0.5]))
    np.testing.assert_allclose(fitted, [0.5, 0.5, 0.5, 0.5, 1.0])
    assert info.n_unique == 5
    grid = apply_isotonic(params, np.linspace(0, 1, 101))
    assert np.all(np.diff(grid) >= 0)


def test_isotonic_bad_input() -> None:
    with pytest.raises(CalibrationInputError, match=r"p\[2\] = nan is not finite"):
        fit_isotonic(np.array([0.1, 0.2, np.nan]), np.array([0, 1, 1]))
    with pytest.raises(CalibrationInputError, match=r"p\[1\] = 1.5 is outside \[0, 1\]"):
        fit_isotonic(np.array([0.1, 1.5, 0.3]), np.array([0, 1, 1]))
    with pytest.raises(CalibrationInputError, match=r"y\[0\] = 2.0 is not a 0/1 label"):
        fit_isotonic(np.array([0.1, 0.5]), np.array([2, 1]))
