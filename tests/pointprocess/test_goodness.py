"""Time-rescaling residuals and the KS table (no fitting: true and closed-form models)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kbayes.pointprocess import (
    check_events,
    compensator,
    hawkes_params,
    ks_table,
    simulate,
    time_rescaled_residuals,
    uniform_residuals,
)


def test_residuals_are_exponential_under_the_true_model_and_not_under_poisson() -> None:
    truth = hawkes_params([0.4, 0.3, 0.2], [[0.4, 0.1, 0.0], [0.2, 0.3, 0.1], [0.0, 0.3, 0.3]], 2.5)
    events = simulate(truth, 1500.0, np.random.default_rng(1))
    table = ks_table(truth, events)
    assert set(table) == {"dim", "n", "statistic", "pvalue", "mean_residual"}
    np.testing.assert_array_equal(table["n"], events.counts)
    assert np.all(table["pvalue"] > 0.01), table
    np.testing.assert_allclose(table["mean_residual"], 1.0, atol=0.1)
    # misspecified: the Poisson MLE (mu_i = N_i / T, no excitation)
    poisson = hawkes_params(events.counts / events.T, np.zeros((3, 3)), 1.0)
    bad = ks_table(poisson, events)
    assert np.all(bad["pvalue"] < 0.01), bad


def test_residuals_sum_to_the_compensator_at_the_last_event() -> None:
    truth = hawkes_params([0.5, 0.2], [[0.3, 0.2], [0.4, 0.1]], [1.0, 3.0])
    events = simulate(truth, 300.0, np.random.default_rng(3))
    residuals = time_rescaled_residuals(truth, events)
    for i, res in enumerate(residuals):
        last = events.times[events.marks == i][-1]
        upto = check_events(
            events.times[events.times < last], events.marks[events.times < last], last, 2
        )
        # Lambda_i(t_last_i) = sum of its residuals (events at t_last excite only later times)
        assert res.sum() == pytest.approx(compensator(truth, upto)[i], rel=1e-10)
    u = uniform_residuals(residuals[0])
    assert np.all((u > 0) & (u < 1))
    assert stats.kstest(u, "uniform").pvalue == pytest.approx(
        stats.kstest(residuals[0], "expon").pvalue, rel=1e-9
    )


def test_ks_table_refuses_an_empty_dimension_unless_excluded() -> None:
    params = hawkes_params([0.5, 0.5], [[0.1, 0.0], [0.0, 0.1]], 1.0)
    events = check_events([1.0, 2.0, 4.0], [0, 0, 0], 10.0, 2)
    with pytest.raises(ValueError, match="marks: dimension 1 has no events"):
        ks_table(params, events)
    table = ks_table(params, events, dims=[0])
    assert table["n"].tolist() == [3]
    assert time_rescaled_residuals(params, events)[1].size == 0
