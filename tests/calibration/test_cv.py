"""Day-block cross-validation and hyper-parameter selection."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbayes.calibration import (
    CalibrationInputError,
    apply_platt,
    block_kfold,
    fit_platt,
    select_by_cv,
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=2, max_size=120),
    st.integers(2, 6),
    st.integers(0, 3),
)
def test_block_kfold_never_splits_a_day(days: list[int], n_folds: int, gap: int) -> None:
    dates = np.datetime64("2024-03-01") + np.asarray(days).astype("timedelta64[D]")
    n_days = len(set(days))
    if n_folds > n_days:
        with pytest.raises(CalibrationInputError, match="n_folds"):
            list(block_kfold(dates, n_folds))
        return
    folds = list(block_kfold(dates, n_folds, gap_days=gap))
    assert len(folds) == n_folds
    tests = np.concatenate([te for _, te in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(len(days)))  # a partition
    prev_last = None
    for train, test in folds:
        test_days, train_days = set(dates[test]), set(dates[train])
        assert test_days and not test_days & train_days  # no day on both sides
        lo, hi = min(test_days), max(test_days)
        assert set(dates[(dates >= lo) & (dates <= hi)]) == test_days  # contiguous block
        assert all(
            abs((d - lo).astype(int)) > gap and abs((d - hi).astype(int)) > gap
            for d in train_days
            if d < lo or d > hi
        )
        if gap == 0:
            assert len(train) + len(test) == len(days)
        if prev_last is not None:
            assert lo > prev_last  # blocks in time order
        prev_last = hi


def test_block_kfold_accepts_dates_strings_and_timestamps() -> None:
    d = [dt.date(2024, 1, 3), dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 1)]
    s = ["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-01"]
    t = np.array(
        ["2024-01-03T15:00", "2024-01-01T01:00", "2024-01-02T23:59", "2024-01-01T12:00"],
        dtype="datetime64[m]",
    )
    expected = [
        (np.array([0, 2]), np.array([1, 3])),
        (np.array([0, 1, 3]), np.array([2])),
        (np.array([1, 2, 3]), np.array([0])),
    ]
    for dates in (d, s, t):
        for (tr, te), (etr, ete) in zip(block_kfold(dates, 3), expected, strict=True):
            np.testing.assert_array_equal(tr, etr)
            np.testing.assert_array_equal(te, ete)


def test_block_kfold_bad_input() -> None:
    with pytest.raises(CalibrationInputError, match="dates"):
        list(block_kfold(["2024-01-01", "not a date"], 2))
    with pytest.raises(CalibrationInputError, match=r"dates\[1\] is NaT"):
        list(block_kfold(np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"), 2))
    with pytest.raises(CalibrationInputError, match="n_folds = 1"):
        list(block_kfold(["2024-01-01", "2024-01-02"], 1))


def test_select_by_cv_picks_the_candidate_with_lowest_held_out_loss() -> None:
    # A "hyper-parameter" that shrinks Platt's slope: h = 1 is the fitted map, h = 0 the
    # constant forecast 1/2; on informative forecasts the CV must prefer h = 1.
    rng = np.random.default_rng(0)
    n = 1200
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < p).astype(int)
    dates = np.datetime64("2024-01-01") + (np.arange(n) // 3).astype("timedelta64[D]")

    def fit(pp: np.ndarray, yy: np.ndarray, h: float) -> tuple:
        params, _ = fit_platt(pp, yy)
        return params._replace(a=h * params.a, b=h * params.b)

    best, cv = select_by_cv(fit, apply_platt, p, y, dates, [0.0, 0.5, 1.0], n_folds=4)
    assert best == 1.0 and cv.best_index == 2
    assert cv.fold_loss.shape == (3, 4)
    assert cv.mean_loss[0] == pytest.approx(np.log(2), rel=1e-12)
    assert np.all(np.diff(cv.mean_loss) < 0)
