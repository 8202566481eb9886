"""Hazard calibration map: recovers a known distortion, never hurts the training log loss."""

from __future__ import annotations

import numpy as np
import pytest

from models.tmax_ar.hazard import METHODS, calibrate_hazard, fit_hazard_calibration


def _log_loss(q: np.ndarray, y: np.ndarray) -> float:
    q = np.clip(q, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def _overforecast_middle(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forecasts h whose true probability is a beta map bending the middle down (a=3, b=1)."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(0.0, 1.0, n)
    h[: n // 10] = 0.0  # Monte Carlo hazards of exactly 0 and 1 occur in practice
    h[n // 10 : n // 5] = 1.0
    hc = np.clip(h, 5e-4, 1 - 5e-4)  # the clip the map applies at n_paths = 1000
    z = 3.0 * np.log(hc) - 1.0 * np.log(1 - hc)
    q_true = 1.0 / (1.0 + np.exp(-z))
    return h, (rng.random(n) < q_true).astype(float), q_true


def test_beta_map_recovers_the_true_calibration_curve() -> None:
    h, y, q_true = _overforecast_middle(40_000, 0)
    cal = fit_hazard_calibration(h, y, n_paths=1000, method="beta")
    mid = (h > 0.05) & (h < 0.95)
    q = calibrate_hazard(cal, h)
    # The oracle is the generating map; 40k pairs pin it to about 0.02.
    assert np.max(np.abs(q[mid] - q_true[mid])) < 0.03
    assert cal.params.a == pytest.approx(3.0, abs=0.2)
    assert cal.params.b == pytest.approx(1.0, abs=0.15)
    # The middle is pulled down: 0.4 comes true about 6%, as on the real data.
    assert calibrate_hazard(cal, np.array([0.4]))[0] == pytest.approx(
        1 / (1 + np.exp(-(3 * np.log(0.4) - np.log(0.6)))), abs=0.02
    )


@pytest.mark.parametrize("method", [m for m in METHODS if m != "none"])
def test_each_map_lowers_the_training_log_loss_of_a_miscalibrated_hazard(method: str) -> None:
    h, y, _ = _overforecast_middle(5_000, 1)
    cal = fit_hazard_calibration(h, y, n_paths=1000, method=method)
    q = calibrate_hazard(cal, h)
    assert np.isfinite(q).all() and ((q >= 0) & (q <= 1)).all()
    assert _log_loss(q, y) < _log_loss(np.clip(h, 5e-4, 1 - 5e-4), y) - 0.01
    assert cal.n_train == 5_000 and cal.base_rate == pytest.approx(y.mean())


def test_identity_map_and_bad_inputs() -> None:
    h = np.array([0.0, 0.3, 1.0])
    cal = fit_hazard_calibration(h, np.array([0.0, 1.0, 1.0]), 100, "none")
    assert np.array_equal(calibrate_hazard(cal, h), h)
    with pytest.raises(ValueError, match=r"hazard\.calibration = 'spline'"):
        fit_hazard_calibration(h, h, 100, "spline")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no training hazard pairs"):
        fit_hazard_calibration(np.array([]), np.array([]), 100)
    with pytest.raises(ValueError, match="n_paths = 0"):
        fit_hazard_calibration(h, h, 0)
