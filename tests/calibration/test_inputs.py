"""Documented input behaviour shared by every calibration map: errors and the eps clip."""

from __future__ import annotations

import numpy as np
import pytest

from kbayes.calibration import (
    PROB_EPS,
    CalibrationInputError,
    apply_platt,
    fit_beta,
    fit_platt,
    fit_temperature,
    logit,
)


@pytest.mark.parametrize("fit", [fit_platt, fit_temperature, fit_beta])
def test_nan_and_out_of_range_name_the_argument_and_index(fit: object) -> None:
    y = np.array([0, 1, 0, 1])
    with pytest.raises(CalibrationInputError, match=r"^p\[2\] = nan is not finite$"):
        fit(np.array([0.2, 0.4, np.nan, 0.5]), y)
    with pytest.raises(ValueError, match=r"^p\[1\] = 1.2 is outside \[0, 1\]$"):
        fit(np.array([0.2, 1.2, -0.1, 0.5]), y)
    with pytest.raises(CalibrationInputError, match=r"^p\[0\] = -0.1 is outside \[0, 1\]$"):
        fit(np.array([-0.1, 0.2, 0.3, 0.5]), y)
    with pytest.raises(CalibrationInputError, match=r"^y\[3\] = 0.5 is not a 0/1 label$"):
        fit(np.array([0.1, 0.2, 0.3, 0.5]), np.array([0, 1, 1, 0.5]))
    with pytest.raises(CalibrationInputError, match=r"^y has shape \(3,\), expected \(4,\)$"):
        fit(np.array([0.1, 0.2, 0.3, 0.5]), np.array([0, 1, 1]))
    with pytest.raises(CalibrationInputError, match=r"^p is empty$"):
        fit(np.array([]), np.array([]))


def test_apply_checks_its_input_too() -> None:
    params, _ = fit_platt(np.array([0.2, 0.4, 0.6, 0.8]), np.array([0, 1, 0, 1]))
    with pytest.raises(CalibrationInputError, match=r"^p\[1\] = inf is not finite$"):
        apply_platt(params, np.array([0.5, np.inf]))


def test_exact_zero_and_one_clip_to_eps() -> None:
    z = logit(np.array([0.0, PROB_EPS, 0.5, 1.0 - PROB_EPS, 1.0]))
    assert z[0] == z[1] == pytest.approx(np.log(PROB_EPS), rel=1e-9)
    assert z[3] == z[4] == pytest.approx(-np.log(PROB_EPS), rel=1e-3)
    assert z[2] == 0.0
    assert PROB_EPS == 1e-12
