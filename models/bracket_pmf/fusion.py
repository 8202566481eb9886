"""Fusion baselines: the market PMF and a weather PMF pooled into one bracket PMF.

* :func:`dirichlet_fusion`: treat the market PMF and a weather PMF as pseudo-observations of a
  Dirichlet with a flat prior (Gelman et al. 2013, sec. 5.3 conjugacy):
  ``p = (n_m p_m + n_w p_w + a_0) / (n_m + n_w + K a_0)``, i.e. the posterior mean with
  ``n_m`` market and ``n_w`` weather pseudo-counts.
* :func:`loglinear_pool`: the logarithmic opinion pool (Genest & Zidek 1986)
  ``p ∝ p_m^a p_w^b``, externally Bayesian, sharpening when ``a + b > 1``.

The weights are fitted per decision time on training events by minimising log loss over a
grid (:func:`fit_dirichlet_fusion`, :func:`fit_loglinear_pool`). The market PMF itself (the
normalised last trade) is :func:`models.baselines.normalized_last_trade`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.bracket_pmf.pmf import PMF_EPS


def _clip(p: np.ndarray, eps: float = PMF_EPS) -> np.ndarray:
    p = np.maximum(np.nan_to_num(np.asarray(p, dtype=float), nan=0.0), eps)
    return p / p.sum(axis=-1, keepdims=True)


def dirichlet_fusion(
    p_market: np.ndarray,
    p_weather: np.ndarray,
    n_market: float,
    n_weather: float,
    alpha0: float = 0.0,
) -> np.ndarray:
    """Posterior-mean PMF from market and weather pseudo-counts."""
    pm, pw = _clip(p_market), _clip(p_weather)
    k = pm.shape[-1]
    num = n_market * pm + n_weather * pw + alpha0
    return _clip(num / (n_market + n_weather + k * alpha0))


def loglinear_pool(p_market: np.ndarray, p_weather: np.ndarray, a: float, b: float) -> np.ndarray:
    """``p ∝ p_m^a p_w^b``, computed in log space."""
    logits = a * np.log(_clip(p_market)) + b * np.log(_clip(p_weather))
    logits -= logits.max(axis=-1, keepdims=True)
    return _clip(np.exp(logits))


def _by_size(
    p_market: Sequence[np.ndarray], p_weather: Sequence[np.ndarray], outcomes: Sequence[int]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Stack the inputs per ladder size ``K`` (vectorised grid searches)."""
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(p_market):
        groups.setdefault(len(p), []).append(i)
    return [
        (
            np.stack([p_market[i] for i in idx]),
            np.stack([p_weather[i] for i in idx]),
            np.asarray([outcomes[i] for i in idx]),
        )
        for idx in groups.values()
    ]


def _total_log_loss(groups, pool) -> float:
    total = 0.0
    for pm, pw, y in groups:
        p = pool(pm, pw)
        total -= float(np.sum(np.log(p[np.arange(len(y)), y])))
    return total


def fit_dirichlet_fusion(
    p_market: Sequence[np.ndarray],
    p_weather: Sequence[np.ndarray],
    outcomes: Sequence[int],
) -> dict[str, float]:
    """Grid search of the weather share ``w = n_w / (n_m + n_w)`` and ``a_0`` (``n_m + n_w = 1``).

    Returns:
        ``{"n_market", "n_weather", "alpha0"}`` minimising the training log loss.
    """
    best = {"n_market": 1.0, "n_weather": 0.0, "alpha0": 0.0}
    if not len(outcomes):
        return best
    groups = _by_size(p_market, p_weather, outcomes)
    best_ll = np.inf
    for w in np.linspace(0.0, 1.0, 21):
        for a0 in (0.0, 0.001, 0.003, 0.01, 0.03):
            ll = _total_log_loss(
                groups, lambda m, x, w=w, a0=a0: dirichlet_fusion(m, x, 1 - w, w, a0)
            )
            if ll < best_ll:
                best_ll, best = ll, {"n_market": 1 - w, "n_weather": w, "alpha0": a0}
    return {k: round(float(v), 4) for k, v in best.items()}


def fit_loglinear_pool(
    p_market: Sequence[np.ndarray],
    p_weather: Sequence[np.ndarray],
    outcomes: Sequence[int],
) -> dict[str, float]:
    """Grid search of the pool exponents ``(a, b)`` by training log loss."""
    best = {"a": 1.0, "b": 0.0}
    if not len(outcomes):
        return best
    groups = _by_size(p_market, p_weather, outcomes)
    best_ll = np.inf
    for a in np.linspace(0.0, 2.0, 21):
        for b in np.linspace(0.0, 1.5, 16):
            if a == 0 and b == 0:
                continue
            ll = _total_log_loss(groups, lambda m, x, a=a, b=b: loglinear_pool(m, x, a, b))
            if ll < best_ll:
                best_ll, best = ll, {"a": a, "b": b}
    return {k: round(float(v), 4) for k, v in best.items()}
