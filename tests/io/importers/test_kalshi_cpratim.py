"""cpratim tar importers on hand-made tars: good rows land, every bad record is an issue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kbayes.io.store import DuckDBStore

from .kalshi_util import import_root, issues_of, ny_ladder, write_tar

EVENTS = "kalshi/cpratim_trades_5city/events_5city.tar.xz"
TRADES = "kalshi/cpratim_trades_5city/kxhighny_trades.tar.xz"


def _event(day: str, markets: list[dict]) -> dict:
    return {
        "event": {
            "event_ticker": f"KXHIGHNY-{day}",
            "series_ticker": "KXHIGHNY",
            "strike_date": "2024-11-11T04:59:00Z",
            "some_new_field": {"ignored": True},
        },
        "markets": markets,
    }


def _trade(tid: str, ticker: str, **kw: object) -> dict:
    t = {
        "trade_id": tid,
        "ticker": ticker,
        "count": 10,
        "created_time": "2024-11-10T19:46:00.341845Z",
        "yes_price": 40,
        "no_price": 60,
        "taker_side": "yes",
    }
    t.update(kw)
    return {k: v for k, v in t.items() if v is not None}


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A data root with an events tar and one trade tar full of deliberate defects."""
    unknown = ny_ladder("24NOV11")
    unknown[2]["strike_type"] = "functional_squared"  # not a Kalshi strike type
    naive = ny_ladder("24NOV12")
    naive[3]["close_time"] = "2024-11-13T04:59:00"  # no zone
    gap = [m for m in ny_ladder("24NOV13") if not m["ticker"].endswith("B57.5")]
    recovered = ny_ladder("24NOV15", winner="B57.5", expiration="58.00")
    for k in ("strike_type", "floor_strike", "cap_strike"):
        recovered[2].pop(k)  # as in the real Jan-Feb 2025 winners
    root = tmp_path / "data"
    write_tar(
        root / EVENTS,
        {
            "kxhighny/events/2024-11-10.json": _event(
                "24NOV10", ny_ladder("24NOV10", winner="B55.5", expiration="56.00")
            ),
            "kxhighny/events/2024-11-11.json": _event("24NOV11", unknown),
            "kxhighny/events/2024-11-12.json": _event("24NOV12", naive),
            "kxhighny/events/2024-11-13.json": _event("24NOV13", gap),
            "kxhighny/events/2024-11-14.json": '{"event": {"event_ticker": ',  # truncated JSON
            "kxhighny/events/2024-11-15.json": _event("24NOV15", recovered),
        },
    )
    t55 = "KXHIGHNY-24NOV10-T55"
    b555 = "KXHIGHNY-24NOV10-B55.5"
    old = [
        "HIGHNY-23DEC25-T40",
        "HIGHNY-23DEC25-B40.5",
        "HIGHNY-23DEC25-B42.5",
        "HIGHNY-23DEC25-B44.5",
        "HIGHNY-23DEC25-B46.5",
        "HIGHNY-23DEC25-T47",
    ]
    write_tar(
        root / TRADES,
        {
            "kxhighny/trades/2024-11-10.json": {
                t55: [
                    _trade("ok-legacy", t55),
                    _trade("naive", t55, created_time="2024-11-10T19:46:00"),
                    _trade("zero-price", t55, yes_price=0),
                    _trade("extra", t55, brand_new_field=[1, 2]),
                ],
                b555: [
                    _trade(
                        "ok-dollars",
                        b555,
                        yes_price=None,
                        count=None,
                        taker_side=None,
                        yes_price_dollars="0.4350",
                        count_fp="2.50",
                        taker_outcome_side="no",
                    ),
                    _trade(None, b555),  # no trade_id
                    _trade("mismatch", b555, yes_price=41, yes_price_dollars="0.4000"),
                ],
            },
            "kxhighny/trades/2023-12-25.json": {t: [_trade(f"old-{t}", t)] for t in old},
            "kxhighny/trades/2023-12-26.json": {
                "HIGHNY-23DEC26-B46.5": [_trade("partial", "HIGHNY-23DEC26-B46.5")]
            },
            "kxhighny/trades/2023-12-27.json": b"\x00not json",
        },
    )
    return root


def test_events_tar_keeps_good_rows_and_reports_each_defect(root: Path) -> None:
    store, report = import_root(root)
    assert not report.failed
    events = store.read("events", "source = 'cpratim_events'").set_index("event_ticker")
    # Only the tiling ladders become events (NOV10, and NOV15 with a recovered winner).
    assert sorted(events.index) == ["KXHIGHNY-24NOV10", "KXHIGHNY-24NOV15"]
    nov10 = events.loc["KXHIGHNY-24NOV10"]
    assert (nov10.outcome_f, nov10.outcome_ticker) == (56, "KXHIGHNY-24NOV10-B55.5")
    assert nov10.outcome_source == "kalshi_result"
    assert nov10.window_start == dt.datetime(2024, 11, 10, 5, tzinfo=dt.UTC)
    assert events.loc["KXHIGHNY-24NOV15"].outcome_f == 58

    markets = store.read("markets", "source = 'cpratim_events'").set_index("ticker")
    # Markets of non-tiling ladders are kept; the unknown-strike and naive-time markets are not.
    assert "KXHIGHNY-24NOV13-B55.5" in markets.index
    assert "KXHIGHNY-24NOV11-B57.5" not in markets.index
    assert "KXHIGHNY-24NOV12-B59.5" not in markets.index
    rec = markets.loc["KXHIGHNY-24NOV15-B57.5"]
    assert (rec.strike_type, rec.lo_f, rec.hi_f) == ("between", 57, 58)
    assert rec.volume_centi == 1000

    text = "\n".join(issues_of(report, "events_5city"))
    assert "kxhighny/events/2024-11-11.json:KXHIGHNY-24NOV11-B57.5 field strike_type=" in text
    assert "functional_squared" in text
    assert "kxhighny/events/2024-11-12.json:KXHIGHNY-24NOV12-B59.5 field close_time=" in text
    assert "naive timestamp" in text
    assert "KXHIGHNY-24NOV13 field ladder=" in text and "gap 57..58°" in text
    assert "kxhighny/events/2024-11-14.json" in text and "malformed JSON" in text
    assert "KXHIGHNY-24NOV15-B57.5 field strike_type=" in text and "read from the label" in text


def test_trade_tar_parses_both_generations_and_reports_bad_trades(root: Path) -> None:
    store, report = import_root(root)
    trades = store.read("trades").set_index("trade_id")
    legacy, dollars = trades.loc["ok-legacy"], trades.loc["ok-dollars"]
    assert (legacy.yes_price_cc, legacy.count_centi, legacy.taker_side) == (4000, 1000, "yes")
    assert (dollars.yes_price_cc, dollars.count_centi, dollars.taker_side) == (4350, 250, "no")
    assert legacy.ts == dt.datetime(2024, 11, 10, 19, 46, 0, 341845, tzinfo=dt.UTC)
    assert "extra" in trades.index  # unknown fields are tolerated
    for bad in ("naive", "zero-price", "mismatch"):
        assert bad not in trades.index
    text = "\n".join(issues_of(report, "kxhighny_trades"))
    member = "kxhighny/trades/2024-11-10.json"
    assert f"{member}:KXHIGHNY-24NOV10-T55:naive field created_time=" in text
    assert f"{member}:KXHIGHNY-24NOV10-T55:zero-price field yes_price=" in text
    assert f"{member}:KXHIGHNY-24NOV10-B55.5:None field trade_id=" in text
    assert f"{member}:KXHIGHNY-24NOV10-B55.5:mismatch field yes_price=" in text
    assert "kxhighny/trades/2023-12-27.json" in text and "malformed JSON" in text


def test_ticker_ladders_only_for_days_without_event_file(root: Path) -> None:
    store, report = import_root(root)
    derived = store.read("events", "source = 'cpratim_ticker'")
    assert list(derived.event_ticker) == ["HIGHNY-23DEC25"]
    assert derived.outcome_f.isna().all() and derived.close_time.isna().all()
    markets = store.read("markets", "source = 'cpratim_ticker'").set_index("ticker")
    assert markets.loc["HIGHNY-23DEC25-T40", ["lo_f", "hi_f"]].tolist()[1] == 39
    assert markets.loc["HIGHNY-23DEC25-T47", "lo_f"] == 48
    assert "HIGHNY-23DEC26-B46.5" in markets.index  # kept although its ladder is partial
    # Days with an event file never get a ticker-derived event: one row per event ticker.
    counts = store.query("SELECT event_ticker, count(*) n FROM events GROUP BY 1")
    assert (counts.n == 1).all()
    assert any("HIGHNY-23DEC26" in s and "no lower tail" in s for s in issues_of(report))


def test_reimport_is_idempotent(root: Path, tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "kb.duckdb")
    tables = ("markets", "events", "trades")
    _, first = import_root(root, store)
    counts = {t: store.count(t) for t in tables}
    _, second = import_root(root, store)
    assert {t: store.count(t) for t in tables} == counts
    assert len(first.issues) == len(second.issues)
    assert counts["trades"] > 0
    n_issues = store.count("import_issues")
    _, third = import_root(root, store)
    assert store.count("import_issues") == n_issues and len(third.issues) == len(first.issues)
