"""Climatology: earlier years of the same month only, one value per day by source priority."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from models.baselines import ClimatologyParams, climatology_pmfs
from tests.models.baselines.helpers import EIGHT, event


def _highs(rows: list[tuple[dt.date, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [("KNYC", d, v, s) for d, v, s in rows], columns=["station", "date", "tmax_f", "source"]
    )


PAST = [(dt.date(2023, 1, d), v, "acis") for d, v in ((3, 38), (4, 39), (5, 41), (6, 44))]
PARAMS = ClimatologyParams(kernel_sigma_f=0.05, min_values=1)


def test_only_earlier_years_of_the_same_month_enter() -> None:
    e = event(dt.date(2024, 1, 20), 2)
    base = climatology_pmfs([e], [EIGHT], _highs(PAST), PARAMS).pmfs
    np.testing.assert_allclose(base[(e.event_ticker, "08:00")], [0.5, 0.25, 0.25], rtol=1e-9)
    # The event's own year (before and after the day), other months, later years: no effect.
    extra = [
        (dt.date(2024, 1, 2), 70, "acis"),
        (dt.date(2024, 1, 25), 20, "acis"),
        (dt.date(2023, 2, 1), 20, "acis"),
        (dt.date(2025, 1, 1), 20, "acis"),
    ]
    more = climatology_pmfs([e], [EIGHT], _highs(PAST + extra), PARAMS).pmfs
    np.testing.assert_array_equal(more[(e.event_ticker, "08:00")], base[(e.event_ticker, "08:00")])


def test_events_with_too_little_history_are_noted_not_guessed() -> None:
    e = event(dt.date(2024, 1, 20), 2)
    res = climatology_pmfs([e], [EIGHT], _highs(PAST), PARAMS._replace(min_values=5))
    assert res.pmfs == {} and "1 events lack >= 5" in res.notes[0]
    empty = climatology_pmfs([e], [EIGHT], _highs([]), PARAMS)
    assert empty.pmfs == {} and "no official highs" in empty.notes[0]
