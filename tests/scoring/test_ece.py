"""ECE and reliability bins against scikit-learn and synthetic (mis)calibration."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from kbayes.scoring import (
    ScoreInputError,
    all_brackets,
    ece,
    ece_all_brackets,
    ece_top_label,
    reliability_bins,
    top_label,
)


def _binary(n: int, seed: int, power: float) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts p with outcomes drawn at p**power (power = 1: perfectly calibrated)."""
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return p, (rng.random(n) < p**power).astype(int)


@pytest.mark.parametrize("binning", ["width", "mass"])
def test_ece_small_when_calibrated_large_when_not(binning: str) -> None:
    p, y = _binary(20_000, 0, 1.0)
    assert ece(p, y, n_bins=10, binning=binning) < 0.015  # noise ~ 0.4 sqrt(10 / 20000)
    p, y = _binary(20_000, 1, 3.0)  # forecasts far too high
    assert ece(p, y, n_bins=10, binning=binning) > 0.2


def test_ece_exact_on_a_small_example() -> None:
    p = np.array([0.05, 0.15, 0.15, 0.95])
    y = np.array([0, 1, 0, 1])
    # Bins [0, .1): gap .05 (1 case); [.1, .2): gap |.5 - .15| (2 cases); [.9, 1]: gap .05.
    assert ece(p, y) == pytest.approx((0.05 + 2 * 0.35 + 0.05) / 4)


def test_width_bins_equal_sklearn_calibration_curve() -> None:
    p, y = _binary(3000, 2, 1.7)
    b = reliability_bins(p, y, n_bins=12)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=12, strategy="uniform")
    filled = b.count > 0
    np.testing.assert_allclose(b.frequency[filled], prob_true, rtol=1e-12)
    np.testing.assert_allclose(b.mean_forecast[filled], prob_pred, rtol=1e-12)
    assert b.count.sum() == 3000


def test_mass_bins_have_equal_counts() -> None:
    p, y = _binary(1003, 3, 1.0)
    b = reliability_bins(p, y, n_bins=10, binning="mass")
    assert set(b.count) == {100, 101} and b.count.sum() == 1003
    assert np.all(b.lower[1:] >= b.upper[:-1])


def test_top_label_and_all_brackets_of_pmfs() -> None:
    P = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]])
    y = np.array([1, 2, 0])
    conf, correct = top_label(P, y)
    np.testing.assert_allclose(conf, [0.7, 0.5, 0.4])
    np.testing.assert_array_equal(correct, [1, 0, 0])
    flat_p, flat_y = all_brackets(P, y)
    np.testing.assert_array_equal(flat_p, P.ravel())
    np.testing.assert_array_equal(flat_y, [0, 1, 0, 0, 0, 1, 1, 0, 0])
    assert ece_top_label(P, y, n_bins=10) == pytest.approx(ece(conf, correct, n_bins=10))
    # Ladders of different lengths: the same numbers as the array, row order preserved.
    rows = [P[0], np.array([0.5, 0.25, 0.125, 0.125]), P[2]]
    flat_p, _ = all_brackets(rows, y)
    np.testing.assert_array_equal(flat_p, np.concatenate(rows))
    assert ece_all_brackets(rows, y) == pytest.approx(ece(*all_brackets(rows, y)))


def test_ece_of_calibrated_and_overconfident_pmfs() -> None:
    rng = np.random.default_rng(4)
    truth = rng.dirichlet(np.ones(6), size=5000)
    y = np.array([rng.choice(6, p=t) for t in truth])
    sharp = truth**3 / (truth**3).sum(axis=1, keepdims=True)
    assert ece_top_label(truth, y) < 0.03 and ece_all_brackets(truth, y) < 0.02
    assert ece_top_label(sharp, y) > 0.1 and ece_all_brackets(sharp, y) > 0.05


def test_ece_bad_input() -> None:
    with pytest.raises(ScoreInputError, match=r"p\[1\] = nan is not finite"):
        ece(np.array([0.1, np.nan]), np.array([0, 1]))
    with pytest.raises(ScoreInputError, match=r"p\[0\] = 1.5 is outside \[0, 1\]"):
        ece(np.array([1.5, 0.2]), np.array([0, 1]))
    with pytest.raises(ScoreInputError, match=r"y\[1\] = 2.0 is not 0/1"):
        ece(np.array([0.5, 0.2]), np.array([0, 2]))
    with pytest.raises(ScoreInputError, match="binning"):
        ece(np.array([0.5, 0.2]), np.array([0, 1]), binning="quantile")  # type: ignore[arg-type]
    with pytest.raises(ScoreInputError, match=r"probs\[1\] is not a PMF"):
        ece_top_label([np.array([0.5, 0.5]), np.array([0.5, 0.6])], np.array([0, 1]))
    # Exact 0 and 1 are valid forecasts (nothing is clipped).
    assert ece(np.array([0.0, 1.0]), np.array([0, 1])) == 0.0
