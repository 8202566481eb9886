"""Trades and books to step features: missing data, merges, errors, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.bracket_pmf import StepConfig, build_event_steps

TICKERS = ["E-T40", "E-B40.5", "E-B42.5", "E-T43"]
DAY = "2024-01-10T"
CLOSE = pd.Timestamp("2024-01-11T05:00Z")


def _ts(hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"{DAY}{hhmm}Z")


def _trades(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (TICKERS[k] if isinstance(k, int) else k, _ts(t), c * 100, n * 100)
            for k, t, c, n in rows
        ],
        columns=["ticker", "ts", "yes_price_cc", "count_centi"],
    )


TRADES = _trades(
    [
        (0, "12:01:00", 20, 5),
        (1, "12:03:00", 50, 1),
        (1, "12:12:00", 55, 3),
        (0, "12:30:00", 15, 2),
        (1, "13:00:00", 60, 1),  # exactly at the decision instant: not before it
    ]
)
DECISIONS = [_ts("12:20:00"), _ts("13:00:00")]


def test_last_trade_staleness_volume_and_missing_brackets() -> None:
    ev = build_event_steps(TICKERS, TRADES, DECISIONS, CLOSE)
    times = pd.to_datetime(ev.times).tz_localize("UTC")
    assert list(times) == [_ts("12:10"), _ts("12:20"), _ts("12:40"), _ts("13:00")]
    s = ev.steps
    # Bracket 2 and 3 never trade: missing rows, finite features, staleness at the cap.
    assert np.isnan(s.price[:, 2:]).all()
    assert np.isfinite(s.staleness_h).all() and np.isfinite(s.volume).all()
    assert (s.staleness_h[:, 2:] == 24.0).all()
    # At 12:20: last trades 20c (12:01) and the 12:12 print, volumes in [12:10, 12:20).
    i = ev.decision_index[0]
    np.testing.assert_allclose(s.price[i, :2], [0.20, 0.55])
    np.testing.assert_allclose(s.staleness_h[i, :2], [19 / 60, 8 / 60])
    np.testing.assert_allclose(s.volume[i, :2], [0.0, 3.0])
    # At 13:00 the 13:00:00 trade is not yet seen (strictly before the decision).
    j = ev.decision_index[1]
    np.testing.assert_allclose(s.price[j, :2], [0.15, 0.55])
    np.testing.assert_allclose(s.dt, [0.0, 1 / 6, 1 / 3, 1 / 3])


def test_fresh_mode_observes_only_new_trades() -> None:
    ev = build_event_steps(TICKERS, TRADES, DECISIONS, CLOSE, StepConfig(observe="fresh"))
    i = ev.decision_index[0]
    assert np.isnan(ev.steps.price[i, 0]) and ev.steps.price[i, 1] == pytest.approx(0.55)


def test_out_of_order_and_duplicate_timestamps_merge_by_vwap() -> None:
    dup = _trades([(1, "12:12:00", 40, 1), (1, "12:12:00", 60, 3)])
    trades = pd.concat([TRADES, dup]).iloc[::-1].reset_index(drop=True)
    ev = build_event_steps(TICKERS, trades, DECISIONS, CLOSE)
    shuffled = trades.sample(frac=1.0, random_state=3)
    ev2 = build_event_steps(TICKERS, shuffled, DECISIONS, CLOSE)
    for a, b in zip(ev.steps, ev2.steps, strict=True):
        np.testing.assert_array_equal(a, b)
    i = ev.decision_index[0]
    # Three prints at 12:12:00 (55x3, 40x1, 60x3) become one VWAP print with volume 7.
    assert ev.steps.price[i, 1] == pytest.approx((55 * 3 + 40 + 60 * 3) / 7 / 100)
    assert ev.steps.volume[i, 1] == pytest.approx(7.0)


def test_book_mids_one_sided_books_and_fallback() -> None:
    book = pd.DataFrame(
        {
            "ts": [_ts("12:05"), _ts("12:05"), _ts("12:06"), _ts("12:06")],
            "ticker": [TICKERS[0], TICKERS[1], TICKERS[2], TICKERS[2]],
            "yes_bid_cc": [1800, 5000, None, 3000],
            "no_bid_cc": [7800, None, 6000, 6000],
            "yes_bid_size_centi": [1000, 100, 100, 400],
            "yes_ask_size_centi": [3000, 100, 100, 600],
        }
    )
    ev = build_event_steps(TICKERS, TRADES, DECISIONS, CLOSE, book=book.iloc[:3])
    i = ev.decision_index[0]
    s = ev.steps
    assert s.price[i, 0] == pytest.approx(0.20)  # mid of 18/22
    assert s.half_spread[i, 0] == pytest.approx(0.02)
    assert s.volume[i, 0] == pytest.approx(20.0)  # depth (10 + 30) / 2, no trade in the bin
    assert s.price[i, 1] == pytest.approx(0.55)  # one-sided book: falls back to last trade
    assert np.isnan(s.price[i, 2])  # one-sided book, never traded: missing, not 0 or 1
    # Same-timestamp snapshots apply in tape order: the later two-sided one wins.
    ev2 = build_event_steps(TICKERS, TRADES, DECISIONS, CLOSE, book=book)
    assert ev2.steps.price[i, 2] == pytest.approx(0.35)


def test_single_bracket_and_weather_rows() -> None:
    ev = build_event_steps(["only"], None, DECISIONS, CLOSE)
    assert ev.steps.price.shape == (2, 1) and ev.steps.weather_alr.shape == (2, 0)
    wx = np.array([[0.1, 0.2, 0.3, 0.4], [np.nan] * 4])
    ev = build_event_steps(TICKERS, TRADES, DECISIONS, CLOSE, weather=wx)
    i, j = ev.decision_index
    np.testing.assert_allclose(ev.steps.weather_alr[i], np.log([0.25, 0.5, 0.75]))
    assert np.isnan(ev.steps.weather_alr[j]).all()
    assert np.isnan(np.delete(ev.steps.weather_alr, i, axis=0)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"trades": _trades([("E-OTHER", "12:00:00", 10, 1)])}, "outside the ladder"),
        ({"trades": _trades([(0, "12:00:00", 120, 1)])}, r"within \[0, \$1\]"),
        ({"decisions": [_ts("12:25:00")]}, "grid"),
        ({"tickers": ["a", "a"]}, "distinct"),
    ],
)
def test_invalid_inputs_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_event_steps(
            kwargs.get("tickers", TICKERS),
            kwargs.get("trades", TRADES),
            kwargs.get("decisions", DECISIONS),
            CLOSE,
        )
