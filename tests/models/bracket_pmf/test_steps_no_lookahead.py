"""The tracker's PMF at a decision step reads nothing stamped at or after that instant.

Random trades and book snapshots, a few of them exactly on the decision instants; every row
stamped at or after decision instant ``t_j`` is then changed (prices, sizes, sides) and more
rows are added at ``t_j``. The steps up to ``t_j`` and the UKF's PMF at ``t_j`` (the row the
``bracket_pmf`` kind scores) are bit-identical; the step at ``decision_index[j]`` is ``t_j``.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest

from models.bracket_pmf import build_event_steps, default_params, track, ukf_tracker

TICKERS = ["E-T40", "E-B40.5", "E-B42.5", "E-T43"]
START = pd.Timestamp("2024-01-10T05:00Z")
CLOSE = pd.Timestamp("2024-01-11T05:00Z")
DECISIONS = [START + pd.Timedelta(hours=h) for h in (3, 8, 11, 14)]


def _market(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = 300
    ts = START + pd.to_timedelta(np.sort(rng.integers(0, 16 * 3600, n)), unit="s")
    ts = ts.append(pd.DatetimeIndex(DECISIONS))  # prints exactly at the decision instants
    k = rng.integers(0, len(TICKERS), len(ts))
    trades = pd.DataFrame(
        {
            "ticker": [TICKERS[i] for i in k],
            "ts": ts,
            "yes_price_cc": rng.integers(1, 99, len(ts)) * 100,
            "count_centi": rng.integers(1, 50, len(ts)) * 100,
        }
    )
    bts = START + pd.to_timedelta(np.sort(rng.integers(0, 16 * 3600, 120)), unit="s")
    bid = rng.integers(1, 60, len(bts))
    book = pd.DataFrame(
        {
            "ts": bts,
            "ticker": [TICKERS[i] for i in rng.integers(0, len(TICKERS), len(bts))],
            "yes_bid_cc": bid * 100,
            "no_bid_cc": (99 - bid - rng.integers(1, 20, len(bts))).clip(1) * 100,
            "yes_bid_size_centi": rng.integers(1, 100, len(bts)) * 100,
            "yes_ask_size_centi": rng.integers(1, 100, len(bts)) * 100,
        }
    )
    return trades, book


def _after(trades: pd.DataFrame, book: pd.DataFrame, t: pd.Timestamp):
    tr = trades.copy()
    late = tr["ts"] >= t
    tr.loc[late, "yes_price_cc"] = 10_000 - tr.loc[late, "yes_price_cc"]
    tr.loc[late, "count_centi"] *= 9
    extra = pd.DataFrame({"ticker": TICKERS, "ts": t, "yes_price_cc": 9_900, "count_centi": 10_000})
    bk = book.copy()
    late = bk["ts"] >= t
    bk.loc[late, ["yes_bid_cc", "no_bid_cc"]] = bk.loc[late, ["no_bid_cc", "yes_bid_cc"]].to_numpy()
    return pd.concat([tr, extra], ignore_index=True), bk


@pytest.mark.parametrize("j", range(len(DECISIONS)))
def test_pmf_at_a_decision_step_is_blind_to_later_rows(j: int) -> None:
    trades, book = _market(np.random.default_rng(j))
    t = DECISIONS[j]
    a = build_event_steps(TICKERS, trades, DECISIONS, CLOSE, book=book)
    late_trades, late_book = _after(trades, book, t)
    b = build_event_steps(TICKERS, late_trades, DECISIONS, CLOSE, book=late_book)
    i = int(a.decision_index[j])
    assert pd.Timestamp(a.times[i], tz="UTC") == t
    assert int(b.decision_index[j]) == i
    for name, x, y in zip(a.steps._fields, a.steps, b.steps, strict=True):
        assert np.array_equal(np.asarray(x)[: i + 1], np.asarray(y)[: i + 1], equal_nan=True), name
    params = default_params()
    run = jax.jit(lambda s: track(ukf_tracker(params, len(TICKERS)), s)[1].pmf)
    pa, pb = np.asarray(run(a.steps)), np.asarray(run(b.steps))
    assert np.array_equal(pa[i], pb[i])
    if j < len(DECISIONS) - 1:  # control: the next decision step sees the change
        assert not np.array_equal(pa[a.decision_index[j + 1]], pb[b.decision_index[j + 1]])
