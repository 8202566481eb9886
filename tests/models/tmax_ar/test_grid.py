"""Placing station reports on the 5-minute grid of a climate day."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kbayes.market.cities import city_of
from models.tmax_ar.grid import TENTHS, day_grid


def _obs(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station": "KMIA",
            "ts": pd.to_datetime([r[0] for r in rows], utc=True),
            "temp_c": [r[1] for r in rows],
            "temp_source": [r[2] for r in rows],
        }
    )


def test_tenths_win_within_a_step_and_whole_f_reports_are_left_out() -> None:
    miami = city_of("MIA")
    day = dt.date(2024, 1, 1)
    # 00:53 LST = 05:53 UTC (step 10), 01:53 LST = 06:53 UTC (step 22).
    obs = _obs(
        [
            ("2024-01-01T05:53:00Z", 14.0, "whole"),
            ("2024-01-01T05:54:00Z", 13.9, "tenths"),
            ("2024-01-01T06:53:00Z", (57 - 32) * 5 / 9, "whole_f"),
        ]
    )
    g = day_grid(obs, miami, [day])
    assert g.kind[0, 10] == TENTHS and g.y[0, 10] == 13.9
    # A whole-°F report must not be read as whole °C (a ±0.5 °C interval it is not).
    assert g.kind[0, 22] == 0
    assert (g.kind[0] != 0).sum() == 1
