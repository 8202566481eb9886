"""Every non-cpratim Kalshi importer on a tiny hand-made file with deliberate defects."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from .kalshi_util import import_root, issues_of, write_tar, write_text

K = "kalshi"
BBO = f"{K}/jetpackjules_nyc_bbo"
SAM = f"{K}/sameeres_nyc_chi"
PC = f"{K}/protocol_captures"
UTC = dt.UTC


def _issues(report, part: str) -> str:
    return "\n".join(issues_of(report, part))


def test_bbo_log_localizes_pacific_and_keeps_empty_sides_missing(tmp_path: Path) -> None:
    header = "timestamp,market_ticker,best_yes_bid,best_no_bid,implied_no_ask,implied_yes_ask\n"
    rows = [
        "2025-12-13T07:35:53.666204,KXHIGHNY-25DEC14-B38.5,5,63,95,37",  # PST: +8 h
        "2025-07-01T07:00:00.000000,KXHIGHNY-25JUL02-B88.5,40,55,60,45",  # PDT: +7 h
        "2025-12-14T20:01:34.030123,KXHIGHNY-25DEC14-B38.5,0,0,100,100",  # book emptied
        "2025-12-13T08:00:00,KXHIGHNY-25DEC14-B38.5,30,50,70,49",  # implied ask corrupt
        "2025-12-13T08:00:01,KXHIGHNY-25DEC14-B38.5,x,50,100,50",  # not a price
        "2025-03-09T02:30:00,KXHIGHNY-25MAR09-B38.5,30,50,70,50",  # no such Pacific time
        "2025-12-13T08:00:02,KXHIGHNY-25DEC14-B38.5,60,45,40,55",  # crossed: kept, reported
    ]
    write_text(
        tmp_path / BBO / "market_data_KXHIGHNY-25DEC14.csv.xz", header + "\n".join(rows), True
    )
    store, report = import_root(tmp_path)
    df = store.read("book_top").sort_values("ts").reset_index(drop=True)
    assert len(df) == 4
    first = df[df.yes_bid_cc == 500].iloc[0]
    assert first.ts == dt.datetime(2025, 12, 13, 15, 35, 53, 666204, tzinfo=UTC)
    assert (first.no_bid_cc, first.city, first.event_ticker) == (6300, "NY", "KXHIGHNY-25DEC14")
    assert df[df.yes_bid_cc == 4000].iloc[0].ts == dt.datetime(2025, 7, 1, 14, tzinfo=UTC)
    empty = df[df.ts == dt.datetime(2025, 12, 15, 4, 1, 34, 30123, tzinfo=UTC)].iloc[0]
    assert pd.isna(empty.yes_bid_cc) and pd.isna(empty.no_bid_cc)
    text = _issues(report, "market_data")
    assert "line 5:KXHIGHNY-25DEC14-B38.5 field implied_yes_ask='49'" in text
    assert "line 6:KXHIGHNY-25DEC14-B38.5 field best_yes_bid='x'" in text
    assert "line 7:KXHIGHNY-25MAR09-B38.5 field timestamp='2025-03-09T02:30:00'" in text
    assert "line 8:KXHIGHNY-25DEC14-B38.5" in text and "crossed book" in text


def test_rest_polls_and_microstructure(tmp_path: Path) -> None:
    write_text(
        tmp_path / BBO / "kalshi_market_history.csv",
        "timestamp,ticker,yes_bid,yes_ask,no_bid,no_ask,last_price,open_interest,volume,liquidity\n"
        "2025-11-24T23:05:38.527224+00:00,KXHIGHNY-25NOV25-T59,5,8,92,95,3,214,227,181972\n"
        "2025-11-24T23:05:38.527224+00:00,KXHIGHNY-25NOV25-T52,0,100,0,100,0,0,0,0\n"
        "2025-11-24T23:06:38,KXHIGHNY-25NOV25-T52,1,3,97,99,1,219,219,130310\n",
    )
    snap = pd.DataFrame(
        {
            "snapshot_ts": ["2026-03-31T23:42:12.211404+00:00"] * 2,
            "market_ticker": ["KXHIGHCHI-26APR01-B40.5", "KXHIGHCHI-26APR01-T40"],
            "market_yes_bid_cents": [6.0, 0.0],
            "market_yes_bid_size": [12.0, 0.0],
            "market_no_bid_cents": [93.0, 97.0],
            "market_yes_ask_size": [34.0, 5.0],
            "last_price_cents": [6.0, 0.0],
            "volume_contracts": [786.0, 10.0],
            "open_interest_contracts": [646.0, 10.0],
        }
    )
    (tmp_path / SAM).mkdir(parents=True)
    snap.to_parquet(tmp_path / SAM / "kalshi_market_microstructure_snapshots.parquet")
    store, report = import_root(tmp_path)
    polls = store.read("book_top", "source = 'jetpackjules_rest_poll'").set_index("ticker")
    assert len(polls) == 2
    assert polls.loc["KXHIGHNY-25NOV25-T59", "volume_centi"] == 22700
    empty = polls.loc["KXHIGHNY-25NOV25-T52"]
    assert pd.isna(empty.yes_bid_cc) and pd.isna(empty.no_bid_cc) and pd.isna(empty.last_price_cc)
    assert "line 4:KXHIGHNY-25NOV25-T52 field timestamp=" in _issues(report, "market_history")
    micro = store.read("book_top", "source = 'sameeres_rest_poll'").set_index("ticker")
    b = micro.loc["KXHIGHCHI-26APR01-B40.5"]
    assert (b.yes_bid_cc, b.no_bid_cc, b.yes_bid_size_centi, b.yes_ask_size_centi) == (
        600,
        9300,
        1200,
        3400,
    )
    t = micro.loc["KXHIGHCHI-26APR01-T40"]
    assert pd.isna(t.yes_bid_cc) and pd.isna(t.yes_bid_size_centi) and t.no_bid_cc == 9700


def test_candles_all_formats(tmp_path: Path) -> None:
    write_text(
        tmp_path / BBO / "KXHIGHNY_candles_5m.csv.xz",
        "market_id,ticker,start,open,high,low,close,count\n"
        "KXHIGHNY-25AUG09-B85.5,KXHIGHNY-25AUG09-B85.5,2025-08-10T00:55:00+00:00,99.0,99.0,99.0,99.0,1\n"
        "KXHIGHNY-25AUG09-B85.5,KXHIGHNY-25AUG09-B85.5,2025-08-10T01:00:00,99.0,99.0,99.0,99.0,1\n",
        True,
    )
    (tmp_path / SAM).mkdir(parents=True)
    hourly = pd.DataFrame(
        {
            "market_ticker": ["KXHIGHCHI-25DEC01-B27.5"] * 2,
            "city_key": ["chicago", "chicago"],
            "candle_ts": ["2025-11-30T16:00:00+00:00", "2025-11-30T17:00:00+00:00"],
            "open": [15.0, 7.5],
            "high": [13.0, 6.0],  # high < open: the documented quality problem, kept as is
            "low": [6.0, 5.0],
            "close": [12.0, 5.5],
            "volume": [84.0, 0.0],
            "interval": ["1h", "1h"],
        }
    )
    hourly.to_parquet(tmp_path / SAM / "kalshi_candles.parquet")
    chunk = hourly.iloc[:1].assign(open=None, high=None, low=None, close=None, volume=None)
    chunk_path = tmp_path / "chunk.parquet"
    chunk.astype(object).to_parquet(chunk_path)
    write_tar(
        tmp_path / SAM / "kalshi_history_chunks_KXHIGHNY_x_1h_candles.tar",
        {"candles__a.parquet": chunk_path.read_bytes(), "notes.txt": "hello"},
        mode="w",
    )
    body = {
        "ticker": "KXHIGHNY-26JUL10-T87",
        "candlesticks": [
            {
                "end_period_ts": 1783674000,
                "price": {
                    "open_dollars": "0.6200",
                    "high_dollars": "0.6200",
                    "low_dollars": "0.5700",
                    "close_dollars": "0.6000",
                },
                "volume_fp": "83.70",
            },
            {
                "end_period_ts": 1783677600,
                "price": {"open": 60, "high": 63, "low": 59, "close": 63},
                "volume": 166,
            },
            {
                "end_period_ts": 1783681200,
                "price": {"open": None, "close": None},
                "volume_fp": "0.00",
            },
            {"end_period_ts": 1783684800, "price": {"open_dollars": "abc"}},
        ],
    }
    write_text(tmp_path / PC / "tmer234_candlesticks_trimmed.json", json.dumps(body))
    store, report = import_root(tmp_path)
    c = store.read("candles")
    five = c[c.source == "jetpackjules_candles_5m"]
    assert len(five) == 1 and five.iloc[0].n_trades == 1 and five.iloc[0].close_cc == 9900
    assert "line 3:KXHIGHNY-25AUG09-B85.5 field start=" in _issues(report, "candles_5m")
    hr = c[c.source_file.str.endswith("kalshi_candles.parquet")].sort_values("start")
    assert hr.iloc[0].start == dt.datetime(2025, 11, 30, 15, tzinfo=UTC)  # candle_ts is the end
    assert (hr.iloc[0].high_cc, hr.iloc[1].open_cc, hr.iloc[0].volume_centi) == (1300, 750, 8400)
    chunks = c[c.source_file.str.endswith("_candles.tar")]
    assert len(chunks) == 1 and chunks.open_cc.isna().all()  # all-null chunk hour kept
    assert "notes.txt" in _issues(report, "history_chunks")
    rest = c[c.source == "kalshi_rest_candles"].sort_values("start").reset_index(drop=True)
    assert len(rest) == 3 and (rest.interval_s == 3600).all()
    assert rest.start[0] == dt.datetime(2026, 7, 10, 8, tzinfo=UTC)
    assert (rest.open_cc[0], rest.close_cc[1], rest.volume_centi[1]) == (6200, 6300, 16600)
    assert pd.isna(rest.open_cc[2])
    assert "candlesticks[3] field open_dollars='abc'" in _issues(report, "tmer234")


def _ws_frames() -> list[dict]:
    snap = {
        "type": "orderbook_snapshot",
        "sid": 1,
        "seq": 1,
        "msg": {
            "market_ticker": "KXHIGHNY-26AUG07-B80.5",
            "yes_dollars_fp": [["0.0100", "966425.00"], ["0.4200", "13.00"]],
            "no_dollars_fp": [["0.5600", "17.50"]],
        },
    }
    legacy = {
        "type": "orderbook_snapshot",
        "sid": 1,
        "seq": 2,
        "msg": {
            "market_ticker": "KXHIGHNY-26AUG07-B82.5",
            "yes": [[8, 300], [22, 333]],
            "yes_dollars": [["0.080", 300], ["0.220", 333]],
        },
    }
    delta = {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": 3,
        "msg": {
            "market_ticker": "KXHIGHNY-26AUG07-B80.5",
            "price_dollars": "0.4200",
            "delta_fp": "-3.25",
            "side": "yes",
            "ts": "2026-08-07T06:46:28.97871Z",
            "ts_ms": 1786085188978,
        },
    }
    old_delta = {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": 5,  # seq 4 is missing: a gap
        "msg": {
            "market_ticker": "KXHIGHNY-26AUG07-B82.5",
            "price": 22,
            "delta": -33,
            "side": "yes",
        },
    }
    bad = {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": 6,
        "msg": {"market_ticker": "KXHIGHNY-26AUG07-B82.5", "side": "maybe"},
    }
    return [
        {
            "received_ms": 1786085188416,
            "frame": {
                "type": "subscribed",
                "id": 2,
                "msg": {"channel": "orderbook_delta", "sid": 1},
            },
        },
        {"received_ms": 1786085188416, "frame": snap},
        {"received_ms": 1786085188417, "frame": legacy},
        {"received_ms": 1786085189148, "frame": delta},
        {"received_ms": 1786085189149, "frame": old_delta},
        {"received_ms": 1786085189150, "frame": bad},
    ]


def test_ws_capture_snapshots_deltas_and_raw_frames(tmp_path: Path) -> None:
    doc = {
        "captured_ms": 1786085247825,
        "note": "x",
        "counts": {"subscribed": 1},
        "frames": _ws_frames(),
    }
    write_text(tmp_path / PC / "cockpit_ws_orderbook_stream.json", json.dumps(doc))
    store, report = import_root(tmp_path)
    raw = store.read("raw_messages")
    assert len(raw) == 7 and set(raw.line_no) == set(range(7))
    levels = store.read("book_levels").sort_values(["ticker", "side", "price_cc"])
    assert len(levels) == 5
    top = levels[(levels.ticker == "KXHIGHNY-26AUG07-B80.5") & (levels.side == "yes")]
    assert top.price_cc.tolist() == [100, 4200] and top.size_centi.tolist() == [96642500, 1300]
    assert (levels.snapshot_id == "sid1:seq2").sum() == 2
    assert levels.ts.min() == dt.datetime(2026, 8, 7, 6, 46, 28, 416000, tzinfo=UTC)
    deltas = store.read("book_deltas").sort_values("seq")
    assert deltas.delta_centi.tolist() == [-325, -3300] and deltas.price_cc.tolist() == [4200, 2200]
    assert deltas.ts.iloc[0] == dt.datetime(2026, 8, 7, 6, 46, 28, 978000, tzinfo=UTC)
    text = _issues(report, "cockpit")
    assert "sequence gap on sid 1" in text
    assert "frame 6:orderbook_delta:KXHIGHNY-26AUG07-B82.5 field side='maybe'" in text
    assert "field counts=" in text  # the capture's own counts disagree with the frames


def test_ws_jsonl_trades_both_generations_and_malformed_lines(tmp_path: Path) -> None:
    chi = "KXHIGHCHI-25OCT02-B80.5"
    both = {"yes_price": 27, "no_price": 73, "yes_price_dollars": "0.2700", "count": 7}
    frames = [
        # Weather trade in the transition format (both generations, consistent).
        {
            "type": "trade",
            "sid": 1,
            "seq": 16,
            "msg": {
                "trade_id": "5b02",
                "market_ticker": chi,
                **both,
                "taker_side": "yes",
                "ts": 1759350609,
            },
        },
        # Current format only.
        {
            "type": "trade",
            "sid": 1,
            "seq": 17,
            "msg": {
                "trade_id": "5b03",
                "market_ticker": chi,
                "yes_price_dollars": "0.2750",
                "count_fp": "1.50",
                "taker_outcome_side": "no",
                "ts": 1759350610,
            },
        },
        {
            "type": "trade",
            "sid": 2,
            "seq": 10,
            "msg": {
                "trade_id": "f851",
                "market_ticker": "KXSOLD-26FEB1217-T79.9999",
                "yes_price": 77,
                "count": 75,
                "taker_side": "yes",
                "ts": 1770897981,
            },
        },
        # Cents and dollars disagree.
        {
            "type": "trade",
            "sid": 1,
            "seq": 18,
            "msg": {
                "trade_id": "5b04",
                "market_ticker": chi,
                "yes_price": 27,
                "yes_price_dollars": "0.2800",
                "count": 1,
                "taker_side": "yes",
                "ts": 1759350611,
            },
        },
        None,
        {
            "type": "ticker",
            "sid": 1,
            "msg": {
                "market_ticker": chi,
                "price": 41,
                "yes_bid": 0,
                "yes_ask": 42,
                "yes_bid_dollars": "0.0000",
                "yes_ask_dollars": "0.4200",
                "volume": 108,
                "volume_fp": "108.00",
                "yes_ask_size_fp": "333.00",
                "ts": 1770897976,
            },
        },
    ]
    lines = [
        '{"type":"trade", "sid": 1, "seq"' if f is None else json.dumps(f, separators=(",", ":"))
        for f in frames
    ]
    write_text(tmp_path / PC / "ssmd_kalshi_trade.jsonl", "\n".join(lines) + "\n")
    store, report = import_root(tmp_path)
    trades = store.read("trades").set_index("trade_id")
    assert sorted(trades.index) == ["5b02", "5b03"]
    assert (trades.loc["5b02"].yes_price_cc, trades.loc["5b02"].count_centi) == (2700, 700)
    assert (trades.loc["5b03"].yes_price_cc, trades.loc["5b03"].count_centi) == (2750, 150)
    assert trades.loc["5b03"].taker_side == "no" and trades.loc["5b02"].city == "CHI"
    assert trades.loc["5b02"].ts == dt.datetime.fromtimestamp(1759350609, UTC)
    top = store.read("book_top").iloc[0]
    assert pd.isna(top.yes_bid_cc) and top.no_bid_cc == 5800 and top.last_price_cc == 4100
    raw = store.read("raw_messages")
    assert len(raw) == 5 and raw.payload.iloc[0] == lines[0]  # verbatim line
    text = _issues(report, "ssmd")
    assert "line 5" in text and "malformed JSON" in text
    assert "frame 4:trade:KXHIGHCHI-25OCT02-B80.5 field yes_price='27'" in text
    assert "1 trade frame(s) are for non-KXHIGH markets" in text


def test_rest_orderbook_fills_and_raw_bodies(tmp_path: Path) -> None:
    env = {
        "cycle_id": "C1",
        "depth": 20,
        "event_ticker": "KXHIGHNY-26AUG24",
        "fetched_at": "2026-08-24T05:43:23.896000+00:00",
    }
    lines = [
        {
            **env,
            "ticker": "KXHIGHNY-26AUG24-T85",
            "payload": {"orderbook_fp": {"no_dollars": [["0.9900", "6006.00"]], "yes_dollars": []}},
        },
        {
            **env,
            "ticker": "KXHIGHNY-26AUG24-T78",
            "payload": {
                "orderbook": {
                    "yes": [[15, 100]],
                    "no": [[44, 29]],
                    "yes_dollars": [["0.1500", 100]],
                    "no_dollars": [["0.4400", 29]],
                }
            },
        },
        {
            **env,
            "ticker": "KXHIGHNY-26AUG24-B80.5",
            "fetched_at": "2026-08-24T05:43:23",
            "payload": {"orderbook_fp": {}},
        },
    ]
    write_text(
        tmp_path / K / "ericzzhang_l2_sample" / "x.jsonl",
        "\n".join(json.dumps(x) for x in lines) + "\nnot json\n",
    )
    fill = {
        "action": "sell",
        "count": 1,
        "count_fp": "1.00",
        "created_time": "2026-02-25T02:06:49.150343Z",
        "fee_cost": "0.0100",
        "fill_id": "d8e4",
        "is_taker": True,
        "market_ticker": "KXHIGHNY-26FEB25-T39",
        "no_price": 91,
        "no_price_fixed": "0.9100",
        "side": "no",
        "ticker": "KXHIGHNY-26FEB25-T39",
        "yes_price": 9,
        "yes_price_fixed": "0.0900",
    }
    fills = [fill, {**fill, "fill_id": "bad", "fee_cost": "0.00001"}, {**fill, "fill_id": "d8e4"}]
    write_text(
        tmp_path / PC / "jackpetersen_kalshi_fills_complete.json.xz", json.dumps(fills), True
    )
    settled = {
        "captured_at": "2026-08-08T23:30:25.768002+00:00",
        "queries": [
            {"status": "settled", "returned": 1},
            {"status": "finalized", "error": "HTTP 400 ..."},
        ],
        "markets": [{"ticker": "KXMLBGAME-X-Y", "result": "yes"}],
    }
    write_text(tmp_path / PC / "cockpit_markets_settled.json", json.dumps(settled))
    store, report = import_root(tmp_path)
    lv = store.read("book_levels").sort_values(["ticker", "side"])
    assert lv[["ticker", "side", "price_cc", "size_centi"]].values.tolist() == [
        ["KXHIGHNY-26AUG24-T78", "no", 4400, 2900],
        ["KXHIGHNY-26AUG24-T78", "yes", 1500, 10000],
        ["KXHIGHNY-26AUG24-T85", "no", 9900, 600600],
    ]
    assert set(lv.snapshot_id) == {"C1:KXHIGHNY-26AUG24-T78", "C1:KXHIGHNY-26AUG24-T85"}
    text = _issues(report, "ericzzhang")
    assert "line 3:KXHIGHNY-26AUG24-B80.5 field fetched_at=" in text and "line 4" in text
    f = store.read("fills")
    assert len(f) == 1 and (f.fee_cc[0], f.yes_price_cc[0], f.count_centi[0]) == (100, 900, 100)
    text = _issues(report, "fills")
    assert "fills[1]:bad field fee_cost='0.00001'" in text and "duplicate fill" in text
    raw = store.read("raw_messages").sort_values("line_no")
    assert raw.msg_type.tolist() == ["capture_meta", "rest_query", "http_error", "rest_market"]


def test_market_tables_settlements_and_daily_highs(tmp_path: Path) -> None:
    (tmp_path / SAM).mkdir(parents=True)
    rows = [
        ("HIGHNY-21AUG06", "HIGHNY-21AUG06-T86", ">86°", None, None, None),
        ("HIGHNY-22APR28", "HIGHNY-22APR28-B55.5", "55-56°", None, None, None),
        ("HIGHNY-22APR28", "HIGHNY-22APR28-B57.5", "57-58°", None, None, None),
        ("HIGHNY-22APR28", "HIGHNY-22APR28-T55", "<55°", None, None, None),
        ("HIGHNY-22APR28", "HIGHNY-22APR28-T58", ">58º", None, None, None),
        ("KXHIGHNY-25JAN26", "KXHIGHNY-25JAN26-T42", "43° or above", None, None, None),
        ("KXHIGHNY-25JAN26", "KXHIGHNY-25JAN26-T35", "34° or below", "less", None, 35.0),
        ("KXHIGHNY-25JAN26", "KXHIGHNY-25JAN26-B35.5", "35° to 36°", "between", 35.0, 36.0),
        ("KXHIGHNY-25JAN26", "KXHIGHNY-25JAN26-B37.5", "37° to 38°", "between", 37.0, 38.0),
        ("KXHIGHNY-25JAN26", "KXHIGHNY-25JAN26-B39.5", "39° to 40°", "between", 39.0, 40.0),
        ("KXHIGHNY-25JAN26", "KXHIGHNY-25JAN26-B41.5", "41° to 42°", "wobbly", 41.0, 42.0),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "event_ticker",
            "market_ticker",
            "market_subtitle",
            "strike_type",
            "floor_strike",
            "cap_strike",
        ],
    )
    df["city_key"], df["series_ticker"], df["status"] = "nyc", "KXHIGHNY", "finalized"
    df["close_time"] = "2022-04-29T03:59:00Z"
    df.to_parquet(tmp_path / SAM / "kalshi_markets.parquet")
    hist = (
        "event_ticker,event_title,market_ticker,subtitle,status,result,last_price,volume,close_time,category\n"
        + "".join(
            f"KXHIGHNY-25AUG02,t,KXHIGHNY-25AUG02-{s},{lab},finalized,{r},1,5,2025-08-03T03:59:00Z,c\n"
            for s, lab, r in [
                ("T77", "76° or below", "no"),
                ("B77.5", "77° to 78°", "no"),
                ("B79.5", "79° to 80°", "yes"),
                ("B81.5", "81° to 82°", "no"),
                ("B83.5", "83° to 84°", "no"),
                ("T84", "85° or above", "no"),
            ]
        )
    )
    write_text(tmp_path / "weather" / "kalshi_results" / "kxhighny_markets_history_2025.csv", hist)
    write_text(
        tmp_path / BBO / "kalshi_settlement_vs_actual_weather.csv",
        "date,kalshi_settlement_temp,winning_market,synoptic_temp\n"
        "2025-08-02,79.5,79° to 80°,80.1\n"
        "2025-08-01,70.0,73° to 74°,73\n"
        "2025-07-31,1,warm,2\n",
    )
    daily = pd.DataFrame(
        {
            "station_id": ["KNYC", "KNYC", "KMDW", "KMDW"],
            "city_key": ["nyc", "nyc", "chicago", "nyc"],
            "obs_date": ["2025-01-01", "2025-01-02", "2025-01-01", "2025-01-02"],
            "tmax_c": [2.5, 2.2, -1.1, 0.0],
            "tmax_f": [36.5, 35.96, 30.02, 32.0],
        }
    )
    daily.to_parquet(tmp_path / SAM / "weather_daily.parquet")
    store, report = import_root(tmp_path)
    ev = store.read("events").set_index("event_ticker")
    assert sorted(ev.index) == ["HIGHNY-22APR28", "KXHIGHNY-25AUG02"]
    assert ev.loc["KXHIGHNY-25AUG02", "outcome_ticker"] == "KXHIGHNY-25AUG02-B79.5"
    assert pd.isna(ev.loc["KXHIGHNY-25AUG02", "outcome_f"])  # the CSV has no expiration value
    mk = store.read("markets", "source = 'sameeres_markets'").set_index("ticker")
    assert mk.loc["HIGHNY-22APR28-T58", ["strike_type", "lo_f"]].tolist() == ["greater", 59]
    assert mk.loc["KXHIGHNY-25JAN26-T42", "lo_f"] == 43
    assert "KXHIGHNY-25JAN26-B41.5" not in mk.index
    text = _issues(report, "kalshi_markets")
    assert "HIGHNY-21AUG06 field ladder=" in text and "no lower tail" in text
    assert "row 10:KXHIGHNY-25JAN26-B41.5 field strike_type='wobbly'" in text
    assert "KXHIGHNY-25JAN26 field ladder=" in text
    out = store.read("bracket_outcomes").set_index("climate_date")
    assert out.loc[dt.date(2025, 8, 2), ["event_ticker", "lo_f", "hi_f"]].tolist() == [
        "KXHIGHNY-25AUG02",
        79,
        80,
    ]
    text = _issues(report, "settlement")
    assert "line 3:2025-08-01 field kalshi_settlement_temp='70.0'" in text
    assert "line 4:2025-07-31 field winning_market='warm'" in text
    hi = store.read("official_highs").sort_values(["station", "date"])
    got = {(r.station, str(r.date)): r.tmax_f for r in hi.itertuples()}
    assert got == {
        ("KMDW", "2025-01-01"): 30,
        ("KNYC", "2025-01-01"): 37,
        ("KNYC", "2025-01-02"): 36,
    }
    assert "row 3:KMDW:2025-01-02 field station_id='KMDW'" in _issues(report, "weather_daily")


@pytest.mark.parametrize("name", ["server_market_logs_manifest.json"])
def test_manifest_reports_logs_not_staged(tmp_path: Path, name: str) -> None:
    doc = {
        "last_updated": "2026-01-03T15:25:13.841696",
        "files": ["market_data_KXHIGHNY-25DEC05.csv", "market_data_KXHIGHNY-25DEC09.csv"],
    }
    write_text(tmp_path / BBO / name, json.dumps(doc))
    header = "timestamp,market_ticker,best_yes_bid,best_no_bid,implied_no_ask,implied_yes_ask\n"
    write_text(tmp_path / BBO / "market_data_KXHIGHNY-25DEC05.csv.xz", header, True)
    store, report = import_root(tmp_path)
    raw = store.read("raw_messages").iloc[0]
    assert raw.received_ts == dt.datetime(2026, 1, 3, 23, 25, 13, 841696, tzinfo=UTC)
    text = _issues(report, "manifest")
    assert "market_data_KXHIGHNY-25DEC09.csv" in text and "DEC05" not in text
