"""Multiclass maps: Dirichlet calibration (ODIR) and temperature over the bracket vector."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from kbayes.calibration import (
    CalibrationInputError,
    apply_dirichlet,
    apply_temperature_multiclass,
    fit_dirichlet,
    fit_dirichlet_cv,
    fit_temperature_multiclass,
    group_by_k,
)
from kbayes.scoring import log_loss

K = 6


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True PMFs, outcomes drawn from them, and forecasts that are overconfident and biased
    towards the warm brackets: ``softmax(2 ln pi + bias)``."""
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet(np.full(K, 0.8), size=n)
    y = np.array([rng.choice(K, p=t) for t in truth])
    bias = np.linspace(-0.6, 0.6, K)
    forecast = softmax(2.0 * np.log(np.clip(truth, 1e-300, None)) + bias, axis=1)
    return truth, forecast, y


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, ...]:
    _, p_train, y_train = _miscalibrated(2000, 0)
    truth, p_test, y_test = _miscalibrated(2000, 1)
    return p_train, y_train, p_test, y_test, truth


def test_dirichlet_improves_held_out_log_loss(split: tuple[np.ndarray, ...]) -> None:
    p_train, y_train, p_test, y_test, truth = split
    params, info = fit_dirichlet(p_train, y_train, lam=1e-3)
    assert info.converged
    raw = log_loss(p_test, y_test).mean()
    calibrated = log_loss(apply_dirichlet(params, p_test), y_test).mean()
    best = log_loss(truth, y_test).mean()
    assert calibrated < raw - 0.05
    assert calibrated < best + 0.03
    # The truth is softmax(ln p / 2 - bias / 2): W ~ I / 2, and the PMFs move towards the truth.
    np.testing.assert_allclose(np.diag(params.W), 0.5, atol=0.1)
    q = apply_dirichlet(params, p_test)
    assert np.abs(q - truth).mean() < 0.5 * np.abs(p_test - truth).mean()


def test_dirichlet_beats_temperature_when_forecasts_are_biased(
    split: tuple[np.ndarray, ...],
) -> None:
    p_train, y_train, p_test, y_test, _ = split
    dparams, _ = fit_dirichlet(p_train, y_train, lam=1e-3)
    tparams, tinfo = fit_temperature_multiclass(p_train, y_train)
    assert tinfo.converged and tparams.temperature > 1.5  # it softens the overconfidence
    dir_loss = log_loss(apply_dirichlet(dparams, p_test), y_test).mean()
    temp_loss = log_loss(apply_temperature_multiclass(tparams, p_test), y_test).mean()
    assert dir_loss < temp_loss < log_loss(p_test, y_test).mean()


def test_strong_odir_shrinks_towards_vector_scaling(split: tuple[np.ndarray, ...]) -> None:
    p_train, y_train, *_ = split
    weak, _ = fit_dirichlet(p_train, y_train, lam=1e-4, mu=1e-4)
    strong, _ = fit_dirichlet(p_train, y_train, lam=1e3, mu=1e3)
    off = ~np.eye(K, dtype=bool)
    assert np.abs(strong.W[off]).max() < 0.1 * np.abs(weak.W[off]).max()
    assert np.abs(strong.b).max() < 1e-2


def test_dirichlet_cv_picks_a_lambda_and_improves(split: tuple[np.ndarray, ...]) -> None:
    p_train, y_train, p_test, y_test, _ = split
    start = dt.date(2024, 1, 1)
    dates = [start + dt.timedelta(days=i // 4) for i in range(len(y_train))]  # 4 rows a day
    params, info = fit_dirichlet_cv(p_train, y_train, dates, lambdas=(1e-3, 1e-1, 1e2), n_folds=3)
    assert info.lam in (1e-3, 1e-1, 1e2) and info.mu == info.lam
    assert info.cv.fold_loss.shape == (3, 3)
    assert info.cv.mean_loss[info.cv.best_index] == info.cv.mean_loss.min()
    assert info.fit.converged
    calibrated = log_loss(apply_dirichlet(params, p_test), y_test).mean()
    assert calibrated < log_loss(p_test, y_test).mean() - 0.05


def test_temperature_multiclass_recovers_t_and_matches_scalar_search() -> None:
    rng = np.random.default_rng(2)
    truth = rng.dirichlet(np.ones(K), size=3000)
    y = np.array([rng.choice(K, p=t) for t in truth])
    forecast = softmax(2.0 * np.log(truth), axis=1)  # truth = softmax(ln forecast / 2)
    params, info = fit_temperature_multiclass(forecast, y)
    nll = lambda beta: -log_softmax(beta * np.log(forecast), axis=1)[np.arange(len(y)), y].mean()
    beta = minimize_scalar(nll, bounds=(0.01, 10), method="bounded", options={"xatol": 1e-10}).x
    assert info.converged
    assert abs(params.temperature - 1 / beta) < 1e-6
    assert params.temperature == pytest.approx(2.0, abs=0.15)


def test_temperature_multiclass_accepts_ladders_of_different_lengths() -> None:
    rng = np.random.default_rng(3)
    rows, ys = [], []
    for i in range(1500):
        k = 4 + i % 3
        t = rng.dirichlet(np.ones(k))
        ys.append(rng.choice(k, p=t))
        rows.append(softmax(1.5 * np.log(t)))
    params, _ = fit_temperature_multiclass(rows, np.array(ys))
    padded = np.full((len(rows), 6), -np.inf)  # ln 0 = -inf: absent brackets get probability 0
    for i, r in enumerate(rows):
        padded[i, : len(r)] = np.log(r)
    nll = lambda beta: -log_softmax(beta * padded, axis=1)[np.arange(len(ys)), ys].mean()
    beta = minimize_scalar(nll, bounds=(0.01, 10), method="bounded", options={"xatol": 1e-10}).x
    assert abs(params.temperature - 1 / beta) < 1e-6
    out = apply_temperature_multiclass(params, rows)
    assert [len(q) for q in out] == [len(r) for r in rows]
    np.testing.assert_allclose([q.sum() for q in out], 1.0)
    assert sorted(group_by_k(rows)) == [4, 5, 6]
    assert len(group_by_k(rows)[5]) == 500


def test_dirichlet_is_one_ladder_length_per_map(split: tuple[np.ndarray, ...]) -> None:
    p_train, y_train, *_ = split
    params, _ = fit_dirichlet(p_train[:1500], y_train[:1500])
    with pytest.raises(CalibrationInputError, match="fitted on 6"):
        apply_dirichlet(params, np.full((2, 5), 0.2))
    with pytest.raises(CalibrationInputError, match="group rows by K"):
        fit_dirichlet([np.full(3, 1 / 3), np.full(4, 0.25)], np.array([0, 1]))


def test_multiclass_bad_input() -> None:
    p = np.full((3, 4), 0.25)
    bad = p.copy()
    bad[1, 2] = np.nan
    with pytest.raises(CalibrationInputError, match=r"probs\[1, 2\] = nan is not finite"):
        fit_dirichlet(bad, np.array([0, 1, 2]))
    bad = p.copy()
    bad[2, 0] = -0.25
    with pytest.raises(CalibrationInputError, match=r"probs\[2, 0\] = -0.25 is outside"):
        fit_temperature_multiclass(bad, np.array([0, 1, 2]))
    with pytest.raises(CalibrationInputError, match=r"probs row 0 sums to"):
        fit_dirichlet(np.full((3, 4), 0.3), np.array([0, 1, 2]))
    with pytest.raises(CalibrationInputError, match=r"outcome\[2\] = 4.0 is not a bracket index"):
        fit_dirichlet(p, np.array([0, 1, 4]))
