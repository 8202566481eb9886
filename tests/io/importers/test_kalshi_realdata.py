"""The Kalshi importers on the real files under ``shared/data`` (one import per module).

Everything Kalshi (``kalshi/`` and ``weather/kalshi_results/``) is imported once into a DuckDB
file in a temporary directory; the tests then check what PROVENANCE promises.
"""

from __future__ import annotations

import datetime as dt
import re
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from kbayes.io.ingest import ImportReport, unclaimed_files
from kbayes.io.store import DuckDBStore

from .kalshi_util import import_root

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CPRATIM = "kalshi/cpratim_trades_5city"


@pytest.fixture(scope="module")
def imported(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[DuckDBStore, ImportReport]:
    store = DuckDBStore(tmp_path_factory.mktemp("kalshi") / "kb.duckdb")
    store, report = import_root(shared_data, store)
    yield store, report
    store.close()


def _issues(report: ImportReport, file_part: str, message_part: str = "") -> list[str]:
    return [
        str(i) for i in report.issues if file_part in i.source_file and message_part in i.message
    ]


def test_every_kalshi_file_is_claimed_and_imports(
    shared_data: Path, imported: tuple[DuckDBStore, ImportReport]
) -> None:
    store, report = imported
    assert not report.failed, report.failed
    kalshi = [
        u for u in unclaimed_files(shared_data) if u.startswith(("kalshi/", "weather/kalshi_"))
    ]
    assert kalshi == [], f"files no Kalshi importer claims: {kalshi}"
    for table in ("markets", "events", "trades", "book_top", "book_levels", "book_deltas"):
        assert store.count(table) > 0, table
    for table in ("candles", "fills", "raw_messages", "bracket_outcomes", "official_highs"):
        assert store.count(table) > 0, table


def test_every_cpratim_event_with_metadata_tiles(
    shared_data: Path, imported: tuple[DuckDBStore, ImportReport]
) -> None:
    store, report = imported
    with tarfile.open(shared_data / CPRATIM / "events_5city.tar.xz", "r:xz") as tar:
        n_files = sum(1 for m in tar.getmembers() if m.isfile())
    failures = _issues(report, "events_5city", "event skipped") + _issues(
        report, "events_5city", "market skipped"
    )
    events = store.read("events", "source = 'cpratim_events'")
    assert not failures, "\n".join(failures)
    assert len(events) == n_files
    assert (events.n_markets == 6).all()
    # Settled events carry the official high inside the winning bracket.
    settled = events.dropna(subset=["outcome_f"])
    assert len(settled) >= 0.95 * len(events)
    winners = store.read("markets", "result = 'yes' AND source = 'cpratim_events'")
    lo = winners.set_index("ticker").lo_f.reindex(settled.outcome_ticker).fillna(-999).to_numpy()
    hi = winners.set_index("ticker").hi_f.reindex(settled.outcome_ticker).fillna(999).to_numpy()
    assert ((settled.outcome_f.to_numpy() >= lo) & (settled.outcome_f.to_numpy() <= hi)).all()


def test_trade_counts_equal_market_volume(imported: tuple[DuckDBStore, ImportReport]) -> None:
    store, _ = imported
    d = store.query(
        """SELECT m.ticker, m.volume_centi, coalesce(t.n, 0) AS traded
           FROM markets m LEFT JOIN (SELECT ticker, sum(count_centi) n FROM trades GROUP BY 1) t
           USING (ticker) WHERE m.source = 'cpratim_events'"""
    )
    bad = d[d.volume_centi != d.traded]
    assert len(d) > 5000
    assert len(bad) <= 0.005 * len(d), f"{len(bad)} of {len(d)} differ:\n{bad.to_string()}"
    if len(bad):
        print(f"volume mismatches ({len(bad)} of {len(d)}):\n{bad.to_string()}")
    orphans = store.query(
        "SELECT count(*) n FROM trades t LEFT JOIN markets m USING (ticker) WHERE m.ticker IS NULL"
    )
    assert orphans.n[0] == 0  # every print belongs to a market from the events or the tickers


def test_early_days_get_ticker_ladders_and_no_duplicate_events(
    imported: tuple[DuckDBStore, ImportReport],
) -> None:
    store, report = imported
    derived = store.read("events", "source = 'cpratim_ticker'")
    per_city = derived.groupby("city").size().to_dict()
    assert per_city == {"CHI": 235, "MIA": 235, "NY": 235}
    assert derived.event_ticker.str.match(r"^HIGH(NY|CHI|MIA)-2[34]").all()
    dup = store.query(
        "SELECT event_ticker, count(*) n FROM events WHERE source LIKE 'cpratim%' "
        "GROUP BY 1 HAVING count(*) > 1"
    )
    assert dup.empty, dup
    assert not _issues(report, "_trades.tar.xz"), _issues(report, "_trades.tar.xz")[:10]


def test_both_wire_generations_parse(imported: tuple[DuckDBStore, ImportReport]) -> None:
    store, _ = imported
    rest = store.read("markets", "source = 'kalshi_rest'").set_index("ticker")
    assert rest.loc["KXHIGHNY-26JUL12-T89", "volume_centi"] == 194425  # "1944.25"
    assert rest.loc["KXHIGHNY-26JUL10-T87", ["result", "expiration_value_f"]].tolist() == [
        "yes",
        85,
    ]
    legacy = store.read("markets", "ticker = 'KXHIGHNY-24NOV10-T55'").iloc[0]
    assert (legacy.volume_centi, legacy.hi_f) == (240900, 54)
    candles = store.read("candles", "source = 'kalshi_rest_candles'").sort_values("start")
    assert candles.volume_centi.tolist() == [8370, 16595, 15491]
    fills = store.read("fills")
    assert len(fills) == 1766 and fills.fee_cc.min() >= 0 and (fills.fee_cc % 100 == 0).all()
    deltas = store.read("book_deltas")
    assert len(deltas) == 245 and (deltas.seq.diff().dropna() == 1).all()
    levels = store.read("book_levels", "source = 'kalshi_rest_orderbook'")
    assert len(levels) == 169 and (levels.size_centi % 1 == 0).all()
    assert 964 in set(levels.size_centi)  # the fractional "9.64" contracts


def test_bbo_times_land_in_plausible_utc(imported: tuple[DuckDBStore, ImportReport]) -> None:
    store, _ = imported
    d = store.query(
        """SELECT source_file, event_ticker, min(ts) AS first, max(ts) AS last, count(*) AS n,
                  count(yes_bid_cc) AS yes, count(no_bid_cc) AS no
           FROM book_top WHERE source = 'jetpackjules_ws_bbo' GROUP BY 1, 2"""
    )
    assert len(d) == 24 and d.n.sum() == 910_778 + 6_653
    opens_at_15z = 0
    for r in d.itertuples():
        m = re.search(r"-(\d{2})([A-Z]{3})(\d{2})$", r.event_ticker)
        day = dt.datetime.strptime("".join(m.groups()), "%y%b%d").replace(tzinfo=dt.UTC)
        # Markets list at 15:00 UTC the day before (10:00 EST); logs run into the event day.
        assert day - dt.timedelta(hours=9) <= r.first < day + dt.timedelta(days=1), r
        assert r.last <= day + dt.timedelta(days=2), r  # some logs ran past the close
        opens_at_15z += r.first.hour == 15 and r.first.date() == (day - dt.timedelta(1)).date()
    # Read as UTC instead of Pacific, most files would start at 07:00, before any market opens.
    assert opens_at_15z >= 18, d.to_string()


def test_sameeres_ladders_that_do_not_tile_are_listed(
    imported: tuple[DuckDBStore, ImportReport],
) -> None:
    store, report = imported
    src = "kalshi/sameeres_nyc_chi/kalshi_markets_KXHIGHNY_2021-2026_v4424bd0.parquet"
    markets = store.read("markets", "source_file = ?", [src])
    events = set(store.read("events", "source_file = ?", [src]).event_ticker)
    skipped = {
        re.search(r"event (\S+):", i).group(1) for i in _issues(report, "v4424bd0", "event skipped")
    }
    assert set(markets.event_ticker) <= events | skipped  # no event silently lost
    assert not events & skipped
    assert {"HIGHNY-21AUG06", "HIGHNY-22MAY02"} <= skipped
    assert all(t.startswith("HIGHNY-2") for t in skipped)
    assert len(events) >= 1300
    print(f"{len(skipped)} sameeres NYC events do not tile: {sorted(skipped)}")
    # Every market without strike fields either got a label-derived bracket or was reported.
    recovered = _issues(report, "v4424bd0", "strike fields missing")
    refused = _issues(report, "v4424bd0", "market skipped")
    assert len(recovered) + len(refused) == 1418


def test_outcome_sources_agree(imported: tuple[DuckDBStore, ImportReport]) -> None:
    store, _ = imported
    pairs = store.query(
        """SELECT o.event_ticker, o.lo_f AS o_lo, o.hi_f AS o_hi, m.lo_f, m.hi_f
           FROM bracket_outcomes o JOIN markets m
           ON m.event_ticker = o.event_ticker AND m.result = 'yes'
           AND m.source = 'jetpackjules_markets'
           WHERE o.source_file LIKE 'weather/%'"""
    )
    assert len(pairs) == 85
    assert ((pairs.o_lo == pairs.lo_f) & (pairs.o_hi == pairs.hi_f)).all()
    ghcnd = store.query(
        """SELECT e.event_ticker, e.outcome_f, o.tmax_f FROM events e JOIN official_highs o
           ON o.station = e.station AND o.date = e.climate_date
           WHERE e.outcome_f IS NOT NULL"""
    )
    diff = (ghcnd.outcome_f - ghcnd.tmax_f).abs()
    assert len(ghcnd) > 300 and (diff <= 1).all() and (diff == 0).mean() > 0.95
    counts = Counter(store.read("bracket_outcomes").source_file)
    assert set(counts.values()) == {85}
