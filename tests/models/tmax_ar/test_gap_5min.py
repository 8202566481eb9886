"""Mapping a 5-minute maximum to the official whole-°F high, and the gap fit."""

from __future__ import annotations

import numpy as np

from kbayes.market.fahrenheit import c_to_f_whole
from models.tmax_ar.gap_5min import GapModel, fit_gap, sample_gap, to_official_f


def test_zero_gap_matches_nws_rounding_on_every_tenths_value() -> None:
    tenths = np.arange(-300, 500) / 10.0
    got = to_official_f(tenths, np.zeros_like(tenths))
    want = np.array([c_to_f_whole(round(float(t), 1)) for t in tenths])
    np.testing.assert_array_equal(got, want)


def test_gap_never_lowers_the_high_and_fit_recovers_it() -> None:
    rng = np.random.default_rng(0)
    m = np.round(rng.uniform(15, 35, 4000), 1)
    truth = GapModel(0.7, 0.5, 0, 0)
    g = sample_gap(rng, truth, len(m))
    h = to_official_f(m, g)
    assert np.all(h >= to_official_f(m, np.zeros_like(m)))
    fit = fit_gap(m, h)
    assert abs(fit.p_zero - 0.7) < 0.1
    assert abs(fit.mean_c - 0.5) < 0.15
