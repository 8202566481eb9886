"""The day-ahead prior's pool weight against a brute-force grid search."""

from __future__ import annotations

import numpy as np
import pytest

from models.tmax_ar.prior import blend_pmf, fit_prior_blend


def _mean_log_loss(w: float, a: np.ndarray, b: np.ndarray) -> float:
    return float(-np.mean(np.log(w * a + (1 - w) * b)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weight_maximises_the_training_log_score(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    a = rng.beta(0.6, 3.0, n)  # a sharp, often wrong model prior
    b = rng.beta(2.0, 8.0, n)  # a broad climatology
    blend = fit_prior_blend(a, b)
    grid = np.linspace(0.0, 1.0, 100_001)
    losses = np.array([_mean_log_loss(w, a, b) for w in grid[::100]])
    w_grid = grid[::100][np.argmin(losses)]
    assert abs(blend.weight - w_grid) <= 1e-3 + 1e-9
    assert blend.train_log_loss_blend <= losses.min() + 1e-12
    assert blend.train_log_loss_blend <= min(
        blend.train_log_loss_model, blend.train_log_loss_climatology
    )
    assert blend.train_log_loss_model == pytest.approx(_mean_log_loss(1.0, a, b))
    assert blend.train_log_loss_climatology == pytest.approx(_mean_log_loss(0.0, a, b))


def test_end_points_when_one_side_dominates() -> None:
    a = np.array([0.5, 0.4, 0.6])
    b = np.array([0.1, 0.2, 0.05])
    assert fit_prior_blend(a, b).weight == 1.0
    assert fit_prior_blend(b, a).weight == 0.0


def test_blend_pmf_is_the_linear_pool() -> None:
    blend = fit_prior_blend(np.array([0.3, 0.1]), np.array([0.2, 0.2]))
    pm = np.array([0.1, 0.6, 0.3])
    pc = np.array([0.3, 0.3, 0.4])
    p = blend_pmf(blend, pm, pc)
    w = blend.weight
    assert np.allclose(p, w * pm + (1 - w) * pc) and p.sum() == pytest.approx(1.0)


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(ValueError, match="no training events"):
        fit_prior_blend(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="equal 1-D"):
        fit_prior_blend(np.array([0.1, 0.2]), np.array([0.1]))
    with pytest.raises(ValueError, match="probabilities"):
        fit_prior_blend(np.array([1.5]), np.array([0.1]))
