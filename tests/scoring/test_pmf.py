"""Scores against independent computations (scikit-learn and explicit sums)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss as sk_log_loss

from kbayes.scoring import ScoreInputError, brier, log_loss, rps, score_table


def _random_pmfs(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k), size=n)
    y = rng.integers(0, k, size=n)
    return p, y


def test_log_loss_matches_sklearn_when_no_clipping() -> None:
    p, y = _random_pmfs(500, 6)
    p = np.clip(p, 1e-3, None)
    p /= p.sum(axis=1, keepdims=True)
    assert log_loss(p, y).mean() == pytest.approx(sk_log_loss(y, p, labels=range(6)), rel=1e-12)


def test_log_loss_clips_at_1e_4() -> None:
    p = np.array([[1.0, 0.0, 0.0]])
    assert log_loss(p, np.array([2]))[0] == pytest.approx(-np.log(1e-4))


def test_brier_and_rps_explicit() -> None:
    p = np.array([[0.1, 0.2, 0.3, 0.4]])
    y = np.array([1])
    assert brier(p, y)[0] == pytest.approx(0.01 + 0.64 + 0.09 + 0.16)
    # CDF 0.1, 0.3, 0.6 vs observed 0, 1, 1.
    assert rps(p, y)[0] == pytest.approx(0.01 + 0.49 + 0.16)


def test_rps_rewards_near_misses_brier_does_not() -> None:
    near = np.array([[0.0, 1.0, 0.0, 0.0]])
    far = np.array([[0.0, 0.0, 0.0, 1.0]])
    y = np.array([0])
    assert brier(near, y) == brier(far, y)
    assert rps(near, y) < rps(far, y)


def test_score_table_mixes_ladder_lengths() -> None:
    t = score_table([np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])], [0, 2])
    assert t["n_events"] == 2
    assert t["log_loss"] == pytest.approx((-np.log(0.5) - np.log(0.5)) / 2)
    assert t["accuracy"] == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [[0.5, 0.6], [np.nan, 1.0], [-0.1, 1.1]])
def test_invalid_pmf_is_an_error(bad: list[float]) -> None:
    with pytest.raises(ScoreInputError, match="row 0"):
        score_table([np.array(bad)], [0])


def test_outcome_out_of_range() -> None:
    with pytest.raises(ScoreInputError, match="outside"):
        score_table([np.array([0.5, 0.5])], [2])
