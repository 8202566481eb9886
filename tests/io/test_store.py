"""The DuckDB store: schema checks, idempotent writes, parquet export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from kbayes.io.frames import SchemaError, frame_to_records, records_to_frame
from kbayes.io.store import DuckDBStore, Store
from kbayes.market.records import RECORD_TYPES, TradeRecord, WeatherObsRecord

UTC = dt.UTC


def _trade(i: int, price_cc: int = 4300) -> TradeRecord:
    return TradeRecord(
        f"id{i}",
        "KXHIGHNY-24NOV10-T55",
        "KXHIGHNY-24NOV10",
        "NY",
        dt.datetime(2024, 11, 10, 19, 46, i, tzinfo=UTC),
        price_cc,
        1000,
        "yes",
        "test",
        "a.json",
    )


def test_store_satisfies_protocol_and_has_every_table(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        assert isinstance(store, Store)
        for rt in RECORD_TYPES:
            assert store.count(rt.TABLE) == 0


def test_rewriting_a_source_file_replaces_its_rows(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        store.write_records(TradeRecord, [_trade(i) for i in range(5)], "a.json")
        store.write_records(TradeRecord, [_trade(i) for i in range(5)], "a.json")
        store.write_records(TradeRecord, [_trade(9)], "b.json")
        assert store.count("trades") == 6
        store.write_records(TradeRecord, [_trade(1)], "a.json")
        assert store.count("trades") == 2


def test_roundtrip_is_exact(tmp_path: Path) -> None:
    recs = [_trade(i, price_cc=50 + i) for i in range(3)]
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        store.write_records(TradeRecord, recs, "a.json")
        back = frame_to_records(TradeRecord, store.read("trades").sort_values("trade_id"))
    assert back == recs
    assert back[0].ts.tzinfo is not None


def test_naive_timestamp_is_refused_naming_the_column() -> None:
    df = records_to_frame(TradeRecord, [_trade(0)])
    df["ts"] = "2024-11-10T19:46:00"
    with pytest.raises(SchemaError, match=r"trades: column ts .*time zone"):
        DuckDBStore().write(TradeRecord, df, "x")


def test_fractional_centi_cent_and_unknown_column_are_refused() -> None:
    df = records_to_frame(TradeRecord, [_trade(0)])
    df["yes_price_cc"] = 43.5
    with pytest.raises(SchemaError, match=r"yes_price_cc value 43\.5"):
        DuckDBStore().write(TradeRecord, df, "x")
    df2 = records_to_frame(TradeRecord, [_trade(0)]).assign(extra=1)
    with pytest.raises(SchemaError, match="unknown columns \\['extra'\\]"):
        DuckDBStore().write(TradeRecord, df2, "x")


def test_required_null_is_refused() -> None:
    df = records_to_frame(
        WeatherObsRecord,
        [
            WeatherObsRecord(
                "KNYC",
                dt.datetime(2025, 4, 1, 5, tzinfo=UTC),
                14.4,
                "tenths",
                13.3,
                "5-MIN",
                "t",
                "f",
            )
        ],
    )
    df["station"] = None
    with pytest.raises(SchemaError, match="station is null"):
        DuckDBStore().write(WeatherObsRecord, df, "f")


def test_parquet_export(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        store.write_records(TradeRecord, [_trade(i) for i in range(3)], "a.json")
        paths = store.export_parquet(tmp_path / "pq")
    trades = pd.read_parquet(tmp_path / "pq" / "trades.parquet")
    assert len(trades) == 3 and len(paths) == len(RECORD_TYPES) + 2
    assert str(trades["ts"].dt.tz) == "UTC"
