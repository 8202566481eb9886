"""Last trade and VWAP before ``t``, against hand-computed prices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models.baselines import decision_grid, market_pmfs, market_prices, normalized_last_trade
from tests.models.baselines.helpers import EIGHT, event

DAY = dt.date(2024, 1, 10)
FLOOR = 100  # 1 cent in cc


def _trades(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (tid, tk, pd.Timestamp(f"2024-01-10T{hhmm}:00Z"), c * 100, n * 100)
            for tid, tk, hhmm, c, n in rows
        ],
        columns=["trade_id", "ticker", "ts", "yes_price_cc", "count_centi"],
    )


@pytest.fixture()
def setup() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    e = event(DAY, 1)
    t = e.ladder.tickers
    trades = _trades(
        [
            ("t1", t[0], "12:00", 20, 10),
            ("t2", t[1], "12:40", 60, 30),
            ("t3", t[1], "12:50", 50, 10),
            ("t4", t[1], "13:00", 90, 5),  # stamped at the decision instant: not known at t
        ]
    )
    return decision_grid([e], [EIGHT]), trades, t


def test_last_trade_is_strictly_before_t(setup) -> None:
    grid, trades, _ = setup
    assert (grid["t"] == pd.Timestamp("2024-01-10T13:00Z")).all()
    price = market_prices(grid, trades, None, FLOOR)
    np.testing.assert_array_equal(price.to_numpy(), [2000.0, 5000.0, 100.0])
    (p,) = market_pmfs(grid, price, FLOOR).values()
    np.testing.assert_allclose(p, np.array([20, 50, 1]) / 71, rtol=1e-15)


def test_vwap_of_the_window_before_t(setup) -> None:
    grid, trades, _ = setup
    price = market_prices(grid, trades, 30, FLOOR)
    # T40: no trade in [12:30, 13:00) -> last trade 20c; B40.5: (60*30 + 50*10) / 40 = 57.5c.
    np.testing.assert_allclose(price.to_numpy(), [2000.0, 5750.0, 100.0], rtol=1e-15)


def test_later_trades_do_not_change_the_prices(setup) -> None:
    grid, trades, t = setup
    later = _trades([("t9", t[0], "13:00", 99, 500), ("t10", t[2], "18:00", 70, 9)])
    for window in (None, 30):
        before = market_prices(grid, trades, window, FLOOR)
        after = market_prices(grid, pd.concat([trades, later]), window, FLOOR)
        pd.testing.assert_series_equal(before, after)


def test_normalized_last_trade_floors_missing_and_low_prices() -> None:
    p = normalized_last_trade(np.array([[0.5, np.nan, 0.001], [0.2, 0.2, 0.6]]), floor=0.01)
    np.testing.assert_allclose(p[0], np.array([0.5, 0.01, 0.01]) / 0.52, rtol=1e-15)
    np.testing.assert_allclose(p[1], [0.2, 0.2, 0.6], rtol=1e-15)
