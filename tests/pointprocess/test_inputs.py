"""Bad input is refused with a ValueError naming the argument and the first bad index."""

from __future__ import annotations

import numpy as np
import pytest

from kbayes.pointprocess import (
    bracket_structure,
    check_events,
    fit,
    hawkes_params,
    hour_of_day_baseline,
    intensity_at,
    log_likelihood,
)

GOOD_T = [0.5, 1.0, 2.0, 3.0]
GOOD_M = [0, 1, 0, 1]


@pytest.mark.parametrize(
    ("times", "marks", "T", "pattern"),
    [
        ([0.5, 2.0, 1.0, 3.0], GOOD_M, 5.0, r"not sorted ascending: times\[2\] = 1\.0 <"),
        ([0.5, -1.0, 2.0, 3.0], GOOD_M, 5.0, r"times\[1\] = -1\.0 is negative"),
        ([0.5, 1.0, 2.0, 6.0], GOOD_M, 5.0, r"times\[3\] = 6\.0 is beyond T = 5\.0"),
        ([0.5, np.nan, 2.0, 3.0], GOOD_M, 5.0, r"times\[1\] is NaN"),
        ([0.5, 1.0, np.inf, 3.0], GOOD_M, 5.0, r"times\[2\] = inf is not finite"),
        (GOOD_T, [0, 1, 2, 1], 5.0, r"marks\[2\] = 2 is outside 0\.\.1"),
        (GOOD_T, [0, -1, 0, 1], 5.0, r"marks\[1\] = -1 is outside"),
        (GOOD_T, [0.0, 1.0, np.nan, 1.0], 5.0, r"marks\[2\] is NaN"),
        (GOOD_T, [0.0, 1.5, 0.0, 1.0], 5.0, r"marks\[1\] = 1\.5 is not an integer"),
        (GOOD_T, [0, 1, 0], 5.0, r"marks shape \(3,\) != times shape \(4,\)"),
        (GOOD_T, GOOD_M, np.nan, r"T = nan must be positive and finite"),
        (GOOD_T, GOOD_M, -1.0, r"T = -1\.0 must be positive"),
    ],
)
def test_bad_events(times: list[float], marks: list[float], T: float, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        check_events(times, marks, T, 2)


def test_sorted_check_reports_the_first_descent() -> None:
    times = [0.0, 1.0, 1.0, 0.5, 0.2]  # ties are allowed; index 3 is the first descent
    with pytest.raises(ValueError, match=r"times\[3\] = 0\.5 < times\[2\] = 1\.0"):
        check_events(times, [0] * 5, 5.0, 1)


def test_empty_dimension_policy() -> None:
    events = check_events(GOOD_T, [0, 0, 2, 2], 5.0, 3)  # allowed by default
    assert events.empty_dims == [1]
    with pytest.raises(ValueError, match="marks: dimension 1 has no events"):
        check_events(GOOD_T, [0, 0, 2, 2], 5.0, 3, allow_empty_dims=False)
    with pytest.raises(ValueError, match="num_dims must be a positive integer"):
        check_events(GOOD_T, GOOD_M, 5.0, 0)
    with pytest.raises(ValueError, match="no events at all"):
        fit(check_events([], [], 5.0, 2))


def test_bad_parameters_and_grids() -> None:
    with pytest.raises(ValueError, match=r"alpha\[1, 0\] = -0\.1 is not a valid value"):
        hawkes_params([0.1, 0.1], [[0.1, 0.0], [-0.1, 0.2]], 1.0)
    with pytest.raises(ValueError, match=r"beta\[0, 1\] = 0\.0 is not a valid value"):
        hawkes_params([0.1, 0.1], np.zeros((2, 2)), [[1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"mu\[1, 0\] = nan"):
        hawkes_params([0.1, np.nan], np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match=r"beta must be scalar, \(2,\) or \(2, 2\)"):
        hawkes_params([0.1, 0.1], np.zeros((2, 2)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"hour_edges not strictly ascending at index 2"):
        hour_of_day_baseline((0, 12, 12, 24))
    with pytest.raises(ValueError, match="hour_edges must run from 0 to 24"):
        hour_of_day_baseline((0, 12, 23))
    with pytest.raises(ValueError, match=r"alpha_structure\[0, 1\] = -3"):
        fit(check_events(GOOD_T, GOOD_M, 5.0, 2), alpha_structure=np.array([[0, -3], [1, 2]]))
    with pytest.raises(ValueError, match="neighbours must be"):
        bracket_structure(3, neighbours="all")  # type: ignore[arg-type]


def test_mismatched_shapes_and_queries() -> None:
    events = check_events(GOOD_T, GOOD_M, 5.0, 2)
    params = hawkes_params([0.1, 0.2, 0.3], np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="events have num_dims = 2 but params have D = 3"):
        log_likelihood(params, events)
    two = hawkes_params([0.1, 0.2], np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match=r"params.mu has shape \(2, 1\), expected \(2, 4\)"):
        log_likelihood(two, events, hour_of_day_baseline())
    with pytest.raises(ValueError, match=r"query_times\[1\] = -2\.0"):
        intensity_at(two, events, [1.0, -2.0])
