"""The simulator end to end: schemas, store, determinism, ladders, book, trades, candles."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from kbayes.io.frames import conform
from kbayes.io.store import DuckDBStore
from kbayes.market.cities import CITIES
from kbayes.market.ladder import Ladder, event_date
from kbayes.sim import SimConfig, SimResult, simulate, simulate_to_store
from tests.sim.helpers import SMALL


def test_every_record_frame_conforms_exactly(small: SimResult) -> None:
    for rt, df in small.tables().items():
        assert len(df) > 0, rt.TABLE
        assert list(df.columns) == [f.name for f in dataclasses.fields(rt)]
        assert conform(rt, df).equals(df), rt.TABLE  # already in the exact schema
        for col in df.columns:
            if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                assert str(df[col].dt.tz) == "UTC"
    assert (small.trades["source"] == "sim").all()
    assert (small.events["outcome_source"] == "sim").all()
    assert (small.official_highs["source"] == "sim").all()


def test_simulate_to_store_loads_everything_and_is_idempotent(tmp_path) -> None:
    with DuckDBStore(tmp_path / "sim.duckdb") as store:
        res = simulate_to_store(store, SMALL)
        counts = {rt.TABLE: store.count(rt.TABLE) for rt in res.tables()}
        assert counts == {rt.TABLE: len(df) for rt, df in res.tables().items()}
        simulate_to_store(store, SMALL)  # same config again: replaced, not duplicated
        assert {t: store.count(t) for t in counts} == counts
        one = dataclasses.replace(SMALL, cities=("MIA",))
        simulate_to_store(store, one)  # another city: added next to the others
        assert store.count("events") == counts["events"] + SMALL.n_days
        back = store.read("trades", "ticker = ?", [res.trades["ticker"].iloc[0]])
        assert len(back) == (res.trades["ticker"] == res.trades["ticker"].iloc[0]).sum()


def test_same_seed_same_output_bit_for_bit(small: SimResult) -> None:
    again = simulate(SMALL)
    for name, df in small.frames().items():
        assert df.equals(getattr(again, name)), name


def test_different_seed_differs(small: SimResult) -> None:
    other = simulate(dataclasses.replace(SMALL, seed=SMALL.seed + 1))
    for name in ("trades", "weather_obs", "official_highs", "book_deltas", "forecast_daily"):
        assert not small.frames()[name].equals(other.frames()[name]), name


def test_adding_a_city_leaves_other_cities_unchanged(small: SimResult) -> None:
    ny = simulate(dataclasses.replace(SMALL, cities=("NY",)))
    for name, key in (
        ("trades", "city"),
        ("book_top", "city"),
        ("candles", "city"),
        ("markets", "city"),
        ("weather_obs", "station"),
        ("forecast_hourly", "city"),
        ("official_highs", "city"),
    ):
        value = "KNYC" if key == "station" else "NY"
        both = small.frames()[name]
        both = both[both[key] == value].reset_index(drop=True)
        assert both.equals(ny.frames()[name]), name
    d_both = small.book_deltas[small.book_deltas["ticker"].str.startswith("KXHIGHNY")]
    assert d_both.reset_index(drop=True).equals(ny.book_deltas)


def test_events_ladders_and_outcomes(small: SimResult) -> None:
    ev, mk = small.events, small.markets
    assert len(ev) == len(SMALL.cities) * SMALL.n_days and (ev["n_markets"] == 6).all()
    for e, g in mk.groupby("event_ticker"):
        ladder = Ladder.from_markets(str(e), g.to_dict("records"))  # tiles, labels agree
        row = ev.set_index("event_ticker").loc[e]
        assert ladder.bracket_of(int(row["outcome_f"])).ticker == row["outcome_ticker"]
        assert (g["result"] == "yes").sum() == 1
        assert g.loc[g["result"] == "yes", "ticker"].item() == row["outcome_ticker"]
        assert (g["expiration_value_f"] == row["outcome_f"]).all()
        assert event_date(str(e)) == row["climate_date"]
        assert str(e).startswith(CITIES[row["city"]].series + "-")
    et = ZoneInfo("America/New_York")
    for _, m in mk.iterrows():
        city = CITIES[m["city"]]
        start, end = city.climate_day_window(m["climate_date"])
        assert m["close_time"].to_pydatetime() == end - dt.timedelta(minutes=1)
        opened = m["open_time"].to_pydatetime().astimezone(et)
        assert opened.date() == m["climate_date"] - dt.timedelta(days=1)
        assert (opened.hour, opened.minute) == (10, 0)
    assert mk["open_time"].dt.hour.nunique() == 2  # DST moved the 10:00 ET open in UTC


def _replay(deltas: pd.DataFrame, levels: pd.DataFrame) -> dict:
    book: dict = {}
    for r in levels.itertuples():
        book[(r.ticker, r.side, r.price_cc)] = r.size_centi
    out = []
    for r in deltas.itertuples():
        key = (r.ticker, r.side, r.price_cc)
        book[key] = book.get(key, 0) + r.delta_centi
        assert book[key] >= 0, f"negative size at {key}"
        out.append(dict(book))
    return book


def test_book_snapshot_plus_deltas_rebuilds_the_tops(small: SimResult) -> None:
    e = small.events["event_ticker"].iloc[2]
    tickers = set(small.markets.loc[small.markets["event_ticker"] == e, "ticker"])
    lv = small.book_levels[small.book_levels["ticker"].isin(tickers)]
    dl = small.book_deltas[small.book_deltas["ticker"].isin(tickers)]
    assert (dl["seq"].to_numpy() == np.arange(1, len(dl) + 1)).all() and dl["sid"].nunique() == 1
    assert dl["ts"].is_monotonic_increasing
    assert (lv["ts"] == small.markets.loc[small.markets["event_ticker"] == e, "open_time"].iloc[0]).all()
    top = small.book_top[small.book_top["event_ticker"] == e]
    book = {(r.ticker, r.side, r.price_cc): r.size_centi for r in lv.itertuples()}
    checked = 0
    d_iter = iter(dl.itertuples())
    pending = next(d_iter, None)
    for r in top.sort_values("ts", kind="stable").itertuples():
        while pending is not None and pending.ts <= r.ts:
            key = (pending.ticker, pending.side, pending.price_cc)
            book[key] = book.get(key, 0) + pending.delta_centi
            assert book[key] >= 0
            pending = next(d_iter, None)
        yes = [p for (t, s, p), z in book.items() if t == r.ticker and s == "yes" and z > 0]
        no = [p for (t, s, p), z in book.items() if t == r.ticker and s == "no" and z > 0]
        if pending is not None and pending.ts == r.ts:
            continue  # several changes at one instant: compare after the last one only
        assert (max(yes) if yes else None) == (None if pd.isna(r.yes_bid_cc) else r.yes_bid_cc)
        assert (max(no) if no else None) == (None if pd.isna(r.no_bid_cc) else r.no_bid_cc)
        checked += 1
    assert checked > 100


def test_quotes_are_valid_prices(small: SimResult) -> None:
    top = small.book_top
    yb, nb = top["yes_bid_cc"].astype("Float64"), top["no_bid_cc"].astype("Float64")
    assert (yb.dropna() % 100 == 0).all() and (nb.dropna() % 100 == 0).all()
    assert yb.dropna().between(100, 9900).all() and nb.dropna().between(100, 9900).all()
    both = yb.notna() & nb.notna()
    assert ((yb + nb)[both] <= 9900).all()  # YES bid < YES ask: spread >= 1 cent
    assert (yb.notna() | nb.notna()).all()  # never an empty book
    assert yb.isna().any()  # ...but a missing side is NA, not a price of 0
    assert (top["yes_bid_size_centi"].isna() == yb.isna()).all()
    assert (top["yes_ask_size_centi"].isna() == nb.isna()).all()
    lv = small.book_levels
    assert (lv["size_centi"] > 0).all() and lv["side"].isin(["yes", "no"]).all()


def test_trades_are_inside_the_quote(small: SimResult) -> None:
    tr = small.trades.sort_values("ts", kind="stable")
    assert tr["trade_id"].is_unique
    assert (tr["count_centi"] > 0).all() and (tr["count_centi"] % 100 == 0).all()
    assert tr["taker_side"].isin(["yes", "no"]).all()
    top = small.book_top.sort_values("ts", kind="stable")[["ts", "ticker", "yes_bid_cc", "no_bid_cc"]]
    m = pd.merge_asof(tr, top, on="ts", by="ticker", allow_exact_matches=False)
    ask = 10_000 - m["no_bid_cc"]
    at_ask = (m["taker_side"] == "yes") & (m["yes_price_cc"] == ask)
    at_bid = (m["taker_side"] == "no") & (m["yes_price_cc"] == m["yes_bid_cc"])
    assert (at_ask | at_bid).fillna(False).all()  # a buy-YES lifts the ask, a buy-NO hits the bid
    mk = small.markets.set_index("ticker")
    assert (tr["ts"] >= mk.loc[tr["ticker"], "open_time"].to_numpy()).all()
    assert (tr["ts"] < mk.loc[tr["ticker"], "close_time"].to_numpy()).all()
    vol = tr.groupby("ticker")["count_centi"].sum()
    assert (mk.loc[vol.index, "volume_centi"] == vol).all()


def test_candles_summarise_the_trades(small: SimResult) -> None:
    tr = small.trades.copy()
    tr["start"] = tr["ts"].dt.floor("5min")
    g = tr.sort_values("ts", kind="stable").groupby(["ticker", "start"])
    exp = pd.DataFrame(
        {
            "open_cc": g["yes_price_cc"].first(),
            "high_cc": g["yes_price_cc"].max(),
            "low_cc": g["yes_price_cc"].min(),
            "close_cc": g["yes_price_cc"].last(),
            "volume_centi": g["count_centi"].sum(),
            "n_trades": g.size(),
        }
    )
    got = small.candles.set_index(["ticker", "start"])[exp.columns].sort_index()
    assert (small.candles["interval_s"] == 300).all()
    assert np.array_equal(got.to_numpy(float), exp.sort_index().to_numpy(float))


def test_trade_flow_is_bursty_and_busiest_late_in_the_day(small: SimResult) -> None:
    tr = small.trades.merge(small.events[["event_ticker", "window_start"]], on="event_ticker")
    hours = (tr["ts"] - tr["window_start"]).dt.total_seconds() / 3600
    afternoon = ((hours >= 12) & (hours < 18)).sum()
    night = ((hours >= 0) & (hours < 6)).sum()
    before = (hours < 0).sum() / 15  # per hour over ~15 h listed the day before
    assert afternoon / 6 > 3 * night / 6 and afternoon / 6 > 3 * before
    day = tr[(hours >= 8) & (hours < 20)]
    ratios = []
    for _, g in day.groupby("event_ticker"):
        c = np.bincount(((g["ts"] - g["window_start"]).dt.total_seconds() // 300).astype(int) - 96, minlength=144)
        ratios.append(c.var() / c.mean())
    assert np.median(ratios) > 1.5


def test_spreads_are_wider_when_illiquid(small: SimResult) -> None:
    top = small.book_top.merge(small.events[["event_ticker", "window_start"]], on="event_ticker")
    top = top[top["yes_bid_cc"].notna() & top["no_bid_cc"].notna()]
    spread = 10_000 - top["no_bid_cc"] - top["yes_bid_cc"]
    hours = (top["ts"] - top["window_start"]).dt.total_seconds() / 3600
    assert spread[(hours >= 13) & (hours < 17)].mean() + 100 < spread[(hours >= 1) & (hours < 5)].mean()


def test_config_validation() -> None:
    with pytest.raises(KeyError):
        SimConfig(cities=("NOPE",))
    with pytest.raises(ValueError):
        SimConfig(n_days=0)
    with pytest.raises(ValueError):
        SimConfig(knot_minutes=7)
