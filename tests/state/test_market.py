"""Market state rebuilt from the stream's typed events equals the stream's own books."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbayes.io.kalshi.stream import BookStream
from kbayes.market.events import BookSnapshot, BookStatus, Candle, Quote, TradePrint
from kbayes.state import MarketState
from tests.io.kalshi.test_stream_reference import (
    SUB,
    SUBSCRIBED,
    TICKERS,
    events,
    legal,
    open_no,
    open_yes,
    wire,
)


def _frames(opening: list, evs: list) -> list[dict[str, Any]]:
    frames, seq = [], 0
    for ev in opening + evs:
        seq = max(1, seq + ev[-1])
        if ev[0] == "snap":
            _, t, yes, no, _ = ev
            if not legal(yes, no):
                continue
            msg: dict[str, Any] = {"market_ticker": t}
            for key, side in (("yes_dollars_fp", yes), ("no_dollars_fp", no)):
                if side:
                    msg[key] = wire(side)
            frames.append({"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg})
        else:
            _, t, (side, price), d, _ = ev
            frames.append({"type": "orderbook_delta", "sid": 1, "seq": seq,
                           "msg": {"market_ticker": t, "price_dollars": f"{price:.4f}",
                                   "delta_fp": f"{d:.2f}", "side": side}})  # fmt: skip
    return frames


@settings(max_examples=150, deadline=None)
@given(open_yes, open_no, open_yes, open_no, st.lists(events, min_size=10, max_size=80))
def test_state_from_emitted_events_equals_the_stream_books(
    yes_a: dict, no_a: dict, yes_b: dict, no_b: dict, evs: list[tuple[Any, ...]]
) -> None:
    stream = BookStream(emit=True)
    stream.sent(SUB)
    stream.handle(SUBSCRIBED)
    state = MarketState(TICKERS)
    opening = [("snap", "A", yes_a, no_a, 1), ("snap", "B", yes_b, no_b, 1)]
    for i, frame in enumerate(_frames(opening, evs)):
        stream.handle(frame, received_ns=i)
        for ev in stream.events:
            assert ev.available_ns == i
            state.apply(ev)
        stream.events.clear()
        for k, t in enumerate(TICKERS):
            stale = stream.is_stale(t)
            if stale:
                assert state.top(k) is None, (t, frame)  # never a price from a stale book
            else:
                assert state.brackets[k].book == stream.books[t], (t, frame)
                y, n = stream.books[t].best_bid_cc
                top = state.top(k)
                assert top is not None
                assert (top.bid_cc, top.ask_cc) == (
                    -1 if y is None else y,
                    -1 if n is None else 10_000 - n,
                )


def test_quotes_give_the_top_unless_crossed_or_a_book_is_known() -> None:
    s = MarketState(["A", "B"])
    assert s.top(0) is None and np.isnan(s.mids()).all()
    s.apply(Quote(1, 1, "A", 4000, 4400, 500, 700))
    top = s.top(0)
    assert top is not None and top.mid == pytest.approx(0.42)
    assert top.microprice == pytest.approx((0.40 * 700 + 0.44 * 500) / 1200)
    s.apply(Quote(2, 2, "A", 4500, 4400))  # crossed: flagged, no price
    assert s.top(0) is None and s.flags()["crossed"] == [True, False]
    s.apply(Quote(3, 3, "A", 4000, None))  # one-sided: a top without a mid
    top = s.top(0)
    assert top is not None and not top.two_sided and np.isnan(top.mid)
    # A book that goes stale is not replaced by quotes: no price until its snapshot.
    s.apply(BookSnapshot(4, 4, "B", ((3000, 100),), ((6000, 100),)))
    assert s.top(1) is not None and s.top(1).ask_cc == 4000  # type: ignore[union-attr]
    s.apply(BookStatus(5, 5, "B", True, "gap"))
    s.apply(Quote(6, 6, "B", 3000, 4000))
    assert s.top(1) is None and s.flags()["stale"] == [False, True]


def test_trades_volume_bins_candles_and_bad_input() -> None:
    s = MarketState(["A", "B"])
    s.apply(TradePrint(1, 1, "B", 5000, 250, "yes"))
    s.apply(TradePrint(2, 2, "B", 5100, 150, "no"))
    s.apply(Candle(3, 3, "A", 0, 10, 20, 5, 15, 100))
    vol, n = s.roll_bins()
    assert vol == [0.0, 4.0] and n == [0.0, 2.0]
    assert s.roll_bins()[0] == [0.0, 0.0]
    assert s.brackets[1].volume_centi == 400 and s.brackets[1].last_trade.yes_price_cc == 5100
    with pytest.raises(KeyError):
        s.apply(TradePrint(4, 4, "C", 5000, 1, "yes"))
    with pytest.raises(ValueError, match="distinct"):
        MarketState(["A", "A"])
