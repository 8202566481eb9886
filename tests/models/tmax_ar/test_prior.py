"""The day-ahead prior's pool weight against a brute-force grid search."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from models.baselines import climatology_pmf
from models.tmax_ar.gap_5min import DEFAULT_GAP, to_official_f
from models.tmax_ar.grid import STEPS, TENTHS
from models.tmax_ar.nowcast import NowcastDay, nowcast, two_degree_ladder
from models.tmax_ar.prior import blend_pmf, fit_monthly_prior_blend, fit_prior_blend
from models.tmax_ar.simulate import diurnal_base, simulate_days


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


def test_monthly_weights_are_each_months_own_fit() -> None:
    """Per month: the brute-force best weight of that month's days; sparse months: pooled."""
    rng = np.random.default_rng(5)
    months = np.repeat([6, 7, 8], [80, 80, 10])
    # July's model prior is much worse than June's: the months need different weights.
    a = np.where(months == 7, rng.beta(0.3, 6.0, len(months)), rng.beta(2.0, 5.0, len(months)))
    b = rng.beta(2.0, 8.0, len(months))
    mb = fit_monthly_prior_blend(months, a, b, min_per_month=50)
    assert set(mb.by_month) == {6, 7}
    grid = np.linspace(0.0, 1.0, 1001)
    for mo in (6, 7):
        sel = months == mo
        w_grid = grid[np.argmin([_mean_log_loss(w, a[sel], b[sel]) for w in grid])]
        assert abs(mb.for_month(mo).weight - w_grid) <= 1e-3
        assert mb.for_month(mo) == fit_prior_blend(a[sel], b[sel])
    assert mb.for_month(6).weight > mb.for_month(7).weight + 0.2
    assert mb.for_month(8) == mb.pooled == fit_prior_blend(a, b)
    # Summed over the fit days, the per-month pool is never worse than either part.
    w = np.array([mb.for_month(m).weight for m in months])
    total = float(-np.mean(np.log(w * a + (1 - w) * b)))
    assert total <= min(_mean_log_loss(1.0, a, b), _mean_log_loss(0.0, a, b)) + 1e-12
    rec = mb.as_record()
    assert set(rec["by_month"]) == {"6", "7"} and rec["pooled"]["n_train"] == len(months)


def test_monthly_bad_inputs_name_the_field() -> None:
    a = np.array([0.2, 0.3])
    with pytest.raises(ValueError, match="months"):
        fit_monthly_prior_blend(np.array([6]), a, a)
    with pytest.raises(ValueError, match=r"1\.\.12"):
        fit_monthly_prior_blend(np.array([0, 6]), a, a)
    with pytest.raises(ValueError, match="min_per_month"):
        fit_monthly_prior_blend(np.array([6, 6]), a, a, min_per_month=0)
    with pytest.raises(ValueError, match="month must be"):
        fit_monthly_prior_blend(np.array([6, 6]), a, a).for_month(13)


def _sim_highs(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulated days (report paths) and their whole-°F highs (no 5-min -> official gap)."""
    sim = simulate_days(seed, n, whole_frac=0.0, gap_frac=0.0)
    y = np.asarray(sim.data.y, dtype=float)
    return y, to_official_f(y.max(axis=1), np.zeros(n))


@pytest.mark.parametrize("bias_c", [0.0, 4.0])
def test_pooled_prior_no_worse_than_climatology_on_the_simulator(tiny_fit, bias_c) -> None:
    """Day-ahead prior on simulated days, with a right and with a wrong baseline level.

    ``bias_c = 4`` is the real-data failure: a baseline lifted to the wrong level makes the
    model prior worse than the climatology of earlier years (the assert on ``raw`` shows the
    test would fail without the pool); pooled with a weight fitted on the training days, the
    test days' log loss is at most climatology's.
    """
    n = 40
    y, highs = _sim_highs(31, n)
    _, earlier = _sim_highs(32, 120)  # "earlier years" of the same climate
    base = diurnal_base(n) + bias_c
    ladder = two_degree_ladder(int(np.median(highs)), n_inner=10)
    p_clim = climatology_pmf(ladder, earlier.astype(float), 2.0)
    a, b = [], []
    for d in range(n):
        day = NowcastDay(y[d], np.full(STEPS, TENTHS), base[d], 0)
        nc = nowcast(jax.random.PRNGKey(d), tiny_fit.posterior, DEFAULT_GAP, day, 0, ladder, 300)
        k = ladder.index_of(int(highs[d]))
        a.append(nc.pmf[k])
        b.append(p_clim[k])
    a, b = np.array(a), np.array(b)
    train, test = slice(0, n // 2), slice(n // 2, n)
    blend = fit_prior_blend(a[train], b[train])
    pooled = blend.weight * a[test] + (1 - blend.weight) * b[test]
    loss = {k: float(-np.log(v).mean()) for k, v in (("pool", pooled), ("clim", b[test]))}
    assert loss["pool"] <= loss["clim"] + 1e-12
    if bias_c:
        assert float(-np.log(a[test]).mean()) > loss["clim"] + 0.5  # raw prior loses
