"""The simulator end to end: schemas, store, determinism, ladders, book, trades, candles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from kbayes.io.frames import conform
from kbayes.io.kalshi.seq import SeqTracker
from kbayes.io.store import DuckDBStore
from kbayes.market.book import OrderBook
from kbayes.market.cities import CITIES
from kbayes.market.ladder import Ladder, event_date
from kbayes.sim import SimConfig, SimResult, simulate, simulate_to_store
from tests.sim.helpers import SMALL

REPO = Path(__file__).resolve().parents[2]


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


def _digest(res: SimResult) -> str:
    h = hashlib.sha256()
    for name, df in res.frames().items():
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()


_DIGEST = """
from kbayes.sim import simulate
from tests.sim.helpers import SMALL
from tests.sim.test_simulate import _digest
print(_digest(simulate(SMALL)))
"""


def test_same_output_in_another_process_hash_seed_and_thread_count(small: SimResult) -> None:
    seed = "12345" if os.environ.get("PYTHONHASHSEED") != "12345" else "54321"
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # 1 thread
    out = subprocess.run(
        [sys.executable, "-c", _DIGEST], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == _digest(small)


def test_takers_lean_toward_the_oracle(small: SimResult) -> None:
    tr = small.trades.sort_values("ts", kind="stable")
    top = small.book_top.sort_values("ts", kind="stable")[
        ["ts", "ticker", "yes_bid_cc", "no_bid_cc"]
    ]
    m = pd.merge_asof(tr, top, on="ts", by="ticker", allow_exact_matches=False)
    fair = small.fair.sort_values("ts", kind="stable")[["ts", "ticker", "p"]]
    m = pd.merge_asof(m, fair, on="ts", by="ticker")
    mid = (
        m["yes_bid_cc"].astype("Float64").fillna(0)
        + 10_000
        - m["no_bid_cc"].astype("Float64").fillna(0)
    ) / 200
    edge = 100 * m["p"] - mid  # cents by which the oracle exceeds the mid
    buy_yes = m["taker_side"] == "yes"
    assert buy_yes[edge > 2].mean() > 0.65 > 0.35 > buy_yes[edge < -2].mean()


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
        _, end = city.climate_day_window(m["climate_date"])
        assert m["close_time"].to_pydatetime() == end - dt.timedelta(minutes=1)
        opened = m["open_time"].to_pydatetime().astimezone(et)
        assert opened.date() == m["climate_date"] - dt.timedelta(days=1)
        assert (opened.hour, opened.minute) == (10, 0)
    assert mk["open_time"].dt.hour.nunique() == 2  # DST moved the 10:00 ET open in UTC


def test_book_snapshot_plus_deltas_rebuilds_the_tops(small: SimResult) -> None:
    """Replay through the production :class:`OrderBook` (it rejects negative or crossed books)."""
    tracker = SeqTracker()
    checked = 0
    for e in small.events["event_ticker"]:
        mk = small.markets[small.markets["event_ticker"] == e]
        lv = small.book_levels[small.book_levels["ticker"].isin(set(mk["ticker"]))]
        assert (lv["ts"] == mk["open_time"].iloc[0]).all()
        books = {
            t: OrderBook(
                t,
                yes={int(r.price_cc): int(r.size_centi) for r in g.itertuples() if r.side == "yes"},
                no={int(r.price_cc): int(r.size_centi) for r in g.itertuples() if r.side == "no"},
            )
            for t, g in lv.groupby("ticker")
        }
        dl = small.book_deltas[small.book_deltas["ticker"].isin(set(mk["ticker"]))]
        assert dl["sid"].nunique() == 1 and dl["ts"].is_monotonic_increasing
        top = small.book_top[small.book_top["event_ticker"] == e]
        deltas = list(dl.itertuples())
        i = 0
        for r in top.itertuples():  # book_top is in time order per event
            while i < len(deltas) and deltas[i].ts <= r.ts:
                d = deltas[i]
                assert tracker.observe(int(d.sid), int(d.seq)).in_sync
                books[d.ticker].change(d.side, int(d.price_cc), int(d.delta_centi), seq=int(d.seq))
                i += 1
            if i < len(deltas) and deltas[i - 1].ts == r.ts == deltas[i].ts:
                continue
            book = books[r.ticker]
            yes, no = book.best_yes_bid, book.best_no_bid
            assert (yes.price_cc if yes else None) == (
                None if pd.isna(r.yes_bid_cc) else r.yes_bid_cc
            )
            assert (no.price_cc if no else None) == (None if pd.isna(r.no_bid_cc) else r.no_bid_cc)
            assert (yes.size_centi if yes else None) == (
                None if pd.isna(r.yes_bid_size_centi) else r.yes_bid_size_centi
            )
            assert not book.is_locked
            checked += 1
        assert i == len(deltas)
    assert tracker.gaps == 0 and checked > 1000


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
    top = small.book_top.sort_values("ts", kind="stable")[
        ["ts", "ticker", "yes_bid_cc", "no_bid_cc"]
    ]
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
        c = np.bincount(
            ((g["ts"] - g["window_start"]).dt.total_seconds() // 300).astype(int) - 96,
            minlength=144,
        )
        ratios.append(c.var() / c.mean())
    assert np.median(ratios) > 1.5


def test_spreads_are_wider_when_illiquid(small: SimResult) -> None:
    top = small.book_top.merge(small.events[["event_ticker", "window_start"]], on="event_ticker")
    top = top[top["yes_bid_cc"].notna() & top["no_bid_cc"].notna()]
    spread = 10_000 - top["no_bid_cc"] - top["yes_bid_cc"]
    hours = (top["ts"] - top["window_start"]).dt.total_seconds() / 3600
    assert (
        spread[(hours >= 13) & (hours < 17)].mean() + 100
        < spread[(hours >= 1) & (hours < 5)].mean()
    )


def test_config_validation() -> None:
    with pytest.raises(KeyError):
        SimConfig(cities=("NOPE",))
    with pytest.raises(ValueError):
        SimConfig(n_days=0)
    with pytest.raises(ValueError):
        SimConfig(knot_minutes=7)
