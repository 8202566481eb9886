"""Candle close-location value: fold == batch bit for bit, exact-rational oracle, guards."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kbayes.features.candles import (
    CandleInfo,
    candle_location,
    candle_location_batch,
    clv,
    stack_candles,
)
from kbayes.market.events import Candle

from .price_data import real_candles, sim_candles

TICKERS = ("KXHIGHNY-25JUL17-B87.5", "KXHIGHNY-25JUL17-B89.5")


def bar(
    ticker: str, ts: int, o: int | None, h: int | None, lo: int | None, c: int | None
) -> Candle:
    return Candle(ts, ts, ticker, ts - 300, o, h, lo, c)


def fold(tickers: list[str] | tuple[str, ...], candles: list[Candle]) -> CandleInfo:
    alg = candle_location(tickers)
    state = alg.init(None)
    infos = []
    for c in candles:
        state, info = alg.update(state, c, None)
        infos.append(info)
    return CandleInfo(*(np.stack(f) for f in zip(*infos, strict=True)))


def assert_infos_equal(a: CandleInfo, b: CandleInfo) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)  # NaN == NaN here; exact otherwise


def random_candles(seed: int = 0, n: int = 300) -> list[Candle]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ticker = TICKERS[int(rng.integers(2))]
        if rng.random() < 0.1:
            out.append(bar(ticker, 10**9 * (i + 1), None, None, None, None))
            continue
        lo, h = sorted(int(v) for v in rng.integers(1, 100, 2) * 100)
        c = int(rng.integers(lo, h + 1))
        out.append(bar(ticker, 10**9 * (i + 1), lo, h, lo, c))
    return out


def test_fold_equals_batch_bit_for_bit() -> None:
    candles = random_candles()
    assert_infos_equal(
        fold(TICKERS, candles), candle_location_batch(TICKERS, stack_candles(candles))
    )


def test_fold_equals_batch_on_simulator_candles() -> None:
    candles, tickers = sim_candles()
    info = fold(tickers, candles)
    assert len(tickers) == 6 and np.isfinite(info.clv).all()
    assert_infos_equal(info, candle_location_batch(tickers, stack_candles(candles)))


@pytest.mark.realdata
def test_fold_equals_batch_on_real_candles(shared_data: Path) -> None:
    candles, tickers = real_candles(shared_data)
    info = fold(tickers, candles)
    assert len(candles) > 100 and (np.abs(info.clv) > 0).any()
    assert_infos_equal(info, candle_location_batch(tickers, stack_candles(candles)))


def test_matches_exact_rational_arithmetic() -> None:
    info = fold(TICKERS, random_candles(seed=3))
    for c, got in zip(random_candles(seed=3), info.clv, strict=True):
        if c.close_cc is None:
            assert math.isnan(got)
        elif c.high_cc == c.low_cc:
            assert got == 0.0
        else:
            want = Fraction(
                (c.close_cc - c.low_cc) - (c.high_cc - c.close_cc), c.high_cc - c.low_cc
            )
            assert got == float(want)  # the correctly rounded value, exactly


@pytest.mark.parametrize(
    ("h", "lo", "c", "want"),
    [(600, 200, 600, 1.0), (600, 200, 200, -1.0), (600, 200, 400, 0.0), (500, 500, 500, 0.0)],
)
def test_clv_at_the_ends_of_the_range(h: int, lo: int, c: int, want: float) -> None:
    assert clv(h, lo, c) == want


def test_state_keeps_each_brackets_latest_and_a_no_trade_bar_is_missing() -> None:
    alg = candle_location(TICKERS)
    s, _ = alg.update(alg.init(None), bar(TICKERS[0], 10, 200, 600, 200, 500), None)
    s, info = alg.update(s, bar(TICKERS[1], 20, 300, 300, 300, 300), None)
    assert info.bracket == 1 and s.clv.tolist() == [0.5, 0.0]
    s, info = alg.update(s, bar(TICKERS[0], 30, None, None, None, None), None)
    assert math.isnan(info.clv) and math.isnan(s.clv[0]) and s.clv[1] == 0.0
    assert s.ts_ns.tolist() == [30, 20]


@pytest.mark.parametrize(
    ("candle", "match"),
    [
        (bar("KXHIGHNY-25JUL17-T94", 10, 1, 2, 1, 2), "ticker='KXHIGHNY-25JUL17-T94'"),
        (bar(TICKERS[0], 10, 200, 300, 400, 300), "low_cc=400"),
        (bar(TICKERS[0], 10, 200, 300, 100, 350), "close_cc=350"),
        (bar(TICKERS[0], 10, 200, None, 100, 150), "partial OHLC"),
    ],
)
def test_bad_candles_raise_naming_the_field(candle: Candle, match: str) -> None:
    alg = candle_location(TICKERS)
    with pytest.raises(ValueError, match=match):
        alg.update(alg.init(None), candle, None)
    with pytest.raises(ValueError, match=match.split("=")[0]):
        candle_location_batch(TICKERS, stack_candles([candle]))


def test_candles_must_move_forward_per_bracket_and_the_ladder_be_valid() -> None:
    first, again = bar(TICKERS[0], 10, 1, 2, 1, 2), bar(TICKERS[0], 10, 1, 2, 1, 1)
    alg = candle_location(TICKERS)
    s, _ = alg.update(alg.init(None), first, None)
    with pytest.raises(ValueError, match="ts_ns=10"):
        alg.update(s, again, None)
    with pytest.raises(ValueError, match="ts_ns=10"):
        candle_location_batch(TICKERS, stack_candles([first, again]))
    # Another bracket at the same time is fine.
    alg.update(s, bar(TICKERS[1], 10, 1, 2, 1, 2), None)
    with pytest.raises(ValueError, match="tickers"):
        candle_location([])
    with pytest.raises(ValueError, match="duplicates"):
        candle_location([TICKERS[0], TICKERS[0]])
