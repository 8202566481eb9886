"""Dimension mapping from the trade tape: sides, layout, sweeps, windows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kbayes.io.store import DuckDBStore
from kbayes.pointprocess import bracket_structure
from kbayes.sim import SimConfig, simulate_to_store
from models.flow_hawkes import (
    BUY,
    SELL,
    bracket_and_side,
    dim_labels,
    flow_dim,
    flow_events,
    load_flow_days,
    role_matrix,
    side_codes,
)

T0 = pd.Timestamp("2025-01-14T15:00:00Z")


def test_side_codes_and_layout() -> None:
    assert side_codes(["yes", "no", "YES", " no "]).tolist() == [BUY, SELL, BUY, SELL]
    assert (BUY, SELL) == (0, 1)
    assert flow_dim(np.array([0, 0, 2]), np.array([0, 1, 1])).tolist() == [0, 1, 5]
    k, s = bracket_and_side(np.arange(6))
    assert k.tolist() == [0, 0, 1, 1, 2, 2] and s.tolist() == [0, 1] * 3
    assert dim_labels(2) == ["k0 buy", "k0 sell", "k1 buy", "k1 sell"]
    with pytest.raises(ValueError, match=r"taker_side\[1\]"):
        side_codes(["yes", None])
    with pytest.raises(ValueError, match="taker_side"):
        side_codes(["buy"])


def test_role_matrix_matches_bracket_structure() -> None:
    role = role_matrix(4)
    tied = bracket_structure(4, neighbours="both", tied=True)
    assert np.array_equal(role >= 0, tied >= 0)
    # same role <=> same tied label
    for r in range(4):
        assert len(np.unique(tied[role == r])) == 1
    assert role[0, 0] == 0 and role[0, 1] == 1 and role[0, 2] == 2 and role[0, 3] == 3
    assert role[0, 4] == -1  # two brackets apart


def _trades(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": [r[0] for r in rows],
            "ts": [T0 + pd.Timedelta(seconds=r[1]) for r in rows],
            "taker_side": [r[2] for r in rows],
        }
    )


def test_flow_events_minutes_marks_sweeps_and_window() -> None:
    tickers = ["E-T40", "E-B40.5", "E-T41"]
    tr = _trades(
        [
            ("E-B40.5", 90, "yes"),
            ("E-B40.5", 90, "yes"),  # second print of the same sweep
            ("E-T41", 30, "no"),
            ("E-T40", 90, "no"),  # same instant, another market: kept
            ("E-T40", 7200, "yes"),  # after the window end
            ("OTHER", 60, "yes"),  # not in the ladder
        ]
    )
    ev, n_prints, n_dropped = flow_events(tr, tickers, T0, T0 + pd.Timedelta(hours=1))
    assert ev.num_dims == 6 and abs(ev.T - 60.0) < 1e-9
    assert ev.times.tolist() == pytest.approx([0.5, 1.5, 1.5])
    assert ev.marks.tolist() == [5, 1, 2]  # T41 sell, T40 sell, B40.5 buy (ties by dim)
    assert (n_prints, n_dropped) == (4, 1)
    unmerged, _, _ = flow_events(
        tr, tickers, T0, T0 + pd.Timedelta(hours=1), merge_sweeps=False, unit_seconds=1.0
    )
    assert len(unmerged.times) == 4 and abs(unmerged.T - 3600.0) < 1e-9
    with pytest.raises(ValueError, match="not after start"):
        flow_events(tr, tickers, T0, T0)
    with pytest.raises(ValueError, match="taker_side"):
        flow_events(tr.assign(taker_side="maybe"), tickers, T0, T0 + pd.Timedelta(hours=3))


def test_load_flow_days_from_simulated_store() -> None:
    store = DuckDBStore(":memory:")
    simulate_to_store(store, SimConfig(start=dt.date(2024, 1, 1), n_days=2, cities=("NY",), seed=4))
    from kbayes.experiment.data import load_events

    data = load_events(store, dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    days = load_flow_days(store, data.events)
    assert len(days) == 2
    trades = store.query(
        "SELECT DISTINCT ON (trade_id) ticker, event_ticker, ts, taker_side FROM trades"
    )
    for day, e in zip(days, data.events, strict=True):
        assert day.event_ticker == e.event_ticker and day.num_brackets == len(e.ladder.tickers)
        tr = trades[trades["event_ticker"] == e.event_ticker]
        distinct = tr.drop_duplicates(["ticker", "ts", "taker_side"])
        assert len(day.events.times) == len(distinct) - day.n_dropped
        # dimension counts agree with the tape
        for k, ticker in enumerate(e.ladder.tickers):
            buys = ((distinct["ticker"] == ticker) & (distinct["taker_side"] == "yes")).sum()
            assert day.events.counts[2 * k] == buys
        # window = the markets' open/close, baseline phased to the LST clock at open
        assert day.start == pd.Timestamp("2023-12-31T15:00:00Z") + pd.Timedelta(
            days=(e.date - dt.date(2024, 1, 1)).days
        )
        assert day.grid.offset == pytest.approx(10 * 60.0)  # 15:00Z = 10:00 LST, in minutes
