"""The fusion baselines' weight fits recover the weights that generated the outcomes (fast).

Outcomes are drawn from a known pool of a market and a weather PMF; the grid-search fits
(:func:`fit_dirichlet_fusion`, :func:`fit_loglinear_pool`) must find weights near the truth,
and no grid point may have a lower training log loss than the one returned.
"""

from __future__ import annotations

import numpy as np

from models.bracket_pmf import (
    dirichlet_fusion,
    fit_dirichlet_fusion,
    fit_loglinear_pool,
    loglinear_pool,
)

N, K = 4000, 5


def _inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    pm = rng.dirichlet(np.full(K, 0.7), N)
    pw = rng.dirichlet(np.full(K, 0.7), N)
    return pm, pw, rng


def _draw(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(len(p))[:, None]
    return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), K - 1)


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(p[np.arange(len(y)), y]).sum())


def test_dirichlet_fusion_fit_recovers_the_weather_share() -> None:
    pm, pw, rng = _inputs(1)
    y = _draw(dirichlet_fusion(pm, pw, 0.4, 0.6, 0.0), rng)
    w = fit_dirichlet_fusion(list(pm), list(pw), list(y))
    assert abs(w["n_weather"] - 0.6) <= 0.1, w
    assert w["n_market"] + w["n_weather"] == 1.0 and w["alpha0"] <= 0.01, w
    best = _log_loss(dirichlet_fusion(pm, pw, w["n_market"], w["n_weather"], w["alpha0"]), y)
    for share in np.linspace(0.0, 1.0, 21):
        for a0 in (0.0, 0.001, 0.003, 0.01, 0.03):
            assert best <= _log_loss(dirichlet_fusion(pm, pw, 1 - share, share, a0), y) + 1e-9
    # Pure market outcomes: the weather gets (almost) no weight.
    y_m = _draw(pm, rng)
    assert fit_dirichlet_fusion(list(pm), list(pw), list(y_m))["n_weather"] <= 0.1


def test_loglinear_pool_fit_recovers_the_exponents() -> None:
    pm, pw, rng = _inputs(2)
    y = _draw(loglinear_pool(pm, pw, 1.2, 0.5), rng)
    w = fit_loglinear_pool(list(pm), list(pw), list(y))
    assert abs(w["a"] - 1.2) <= 0.2 and abs(w["b"] - 0.5) <= 0.2, w
    best = _log_loss(loglinear_pool(pm, pw, w["a"], w["b"]), y)
    for a in np.linspace(0.0, 2.0, 21):
        for b in np.linspace(0.0, 1.5, 16):
            if a or b:
                assert best <= _log_loss(loglinear_pool(pm, pw, a, b), y) + 1e-9


def test_fits_with_no_training_rows_keep_the_market() -> None:
    assert fit_dirichlet_fusion([], [], []) == {"n_market": 1.0, "n_weather": 0.0, "alpha0": 0.0}
    assert fit_loglinear_pool([], [], []) == {"a": 1.0, "b": 0.0}
