"""Events with validated ladders and known outcomes, loaded from a store for an experiment.

Outcome of an event (its realised bracket), in order of preference:

1. the market whose Kalshi ``result`` is ``yes`` (checked against ``expiration_value``);
2. the event's ``outcome_f`` recorded at import;
3. the official daily high from ``official_highs`` (CLI first, then ACIS, NCEI, GHCN-D ...),
   mapped onto the ladder.

Outcomes are labels only: no model may read them before the event's close (DESIGN 4).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field

import pandas as pd

from kbayes.io.store import Store
from kbayes.market.bracket import Bracket
from kbayes.market.cities import city_of
from kbayes.market.ladder import Ladder, LadderError

# Lower is better. Unknown sources sort after these, alphabetically.
OFFICIAL_SOURCE_PRIORITY = (
    "cli_iem",
    "cli",
    "cli_text",
    "acis",
    "cf6",
    "ncei",
    "ghcnd",
    "ghcnd_cdo",
    "ghcnd_sameeres",
    "ncei_daily",
    "nws_log_actual",
    "cli_text_prelim",
    "sim",
)
MARKET_SOURCE_PRIORITY = ("cpratim_events", "cpratim", "kalshi_api", "tmer234")


@dataclass(frozen=True)
class EventDay:
    """One scorable event: ladder, realised bracket and split."""

    event_ticker: str
    city: str
    date: dt.date
    ladder: Ladder
    outcome: int
    outcome_f: int | None
    outcome_source: str
    split: str


@dataclass
class ExperimentData:
    """The events of an experiment and access to the rest of the store."""

    store: Store
    events: list[EventDay]
    skipped: dict[str, str] = field(default_factory=dict)

    def tickers(self) -> list[str]:
        return [t for e in self.events for t in e.ladder.tickers]

    def trades(self) -> pd.DataFrame:
        """Trades of the experiment's markets, sorted by (ticker, ts)."""
        if not self.events:
            return pd.DataFrame(columns=["trade_id", "ticker", "ts", "yes_price_cc", "count_centi"])
        events = sorted({e.event_ticker for e in self.events})
        df = self.store.query(
            "SELECT DISTINCT ON (trade_id) trade_id, ticker, event_ticker, ts, yes_price_cc, "
            "count_centi FROM trades WHERE event_ticker IN (SELECT unnest(?::VARCHAR[])) ",
            [events],
        )
        # Prints sharing a timestamp are ordered by trade_id so "last trade" is reproducible.
        return df.sort_values(["ticker", "ts", "trade_id"]).reset_index(drop=True)


def _priority(source: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(source) if source in order else len(order), source)


def best_official_highs(highs: pd.DataFrame) -> pd.DataFrame:
    """One row per ``(station, date)`` of an ``official_highs`` frame: the best source's.

    Sources rank as in :data:`OFFICIAL_SOURCE_PRIORITY` (CLI first), unknown ones after them
    alphabetically; rows of one source keep their order (a stable sort), so the result is in
    rank order.
    """
    key = [_priority(s, OFFICIAL_SOURCE_PRIORITY) for s in highs["source"]]
    highs = highs.assign(_r=[k[0] for k in key], _s=[k[1] for k in key])
    highs = highs.sort_values(["_r", "_s"], kind="mergesort")
    return highs.drop_duplicates(["station", "date"]).drop(columns=["_r", "_s"])


def load_events(
    store: Store,
    train_end: dt.date,
    test_start: dt.date,
    cities: tuple[str, ...] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ExperimentData:
    """Events in the date/city window whose ladder tiles and whose outcome is known."""
    markets = store.read("markets")
    if markets.empty:
        return ExperimentData(store, [], {})
    if cities:
        markets = markets[markets["city"].isin(cities)]
    if start:
        markets = markets[markets["climate_date"] >= start]
    if end:
        markets = markets[markets["climate_date"] <= end]
    markets = markets.assign(
        _prio=[_priority(s, MARKET_SOURCE_PRIORITY)[0] for s in markets["source"]],
        _has_result=markets["result"].isin(["yes", "no"]),
    ).sort_values(["ticker", "_has_result", "_prio"], ascending=[True, False, True])
    markets = markets.drop_duplicates("ticker", keep="first")

    highs = store.read("official_highs")
    best_high: dict[tuple[str, dt.date], tuple[int, str]] = {}
    if not highs.empty:
        for row in best_official_highs(highs).itertuples(index=False):
            best_high[(row.station, row.date)] = (int(row.tmax_f), str(row.source))

    events_meta = store.read("events")
    event_outcome = {
        r.event_ticker: int(r.outcome_f)
        for r in events_meta.itertuples(index=False)
        if r.outcome_f is not None and not pd.isna(r.outcome_f)
    }

    out: list[EventDay] = []
    skipped: dict[str, str] = {}
    for ev, group in markets.groupby("event_ticker", sort=True):
        row0 = group.iloc[0]
        city = str(row0["city"])
        date = row0["climate_date"]
        try:
            brackets = tuple(
                Bracket(_opt_int(r.lo_f), _opt_int(r.hi_f), r.ticker, r.yes_sub_title or "")
                for r in group.itertuples(index=False)
            )
            ladder = Ladder(str(ev), brackets)
        except (LadderError, ValueError) as exc:
            skipped[str(ev)] = f"ladder: {exc}"
            continue
        official = best_high.get((city_of(city).station, date))
        outcome, outcome_f, source = _outcome(ladder, group, event_outcome.get(str(ev)), official)
        if outcome_f is None and official is not None and ladder.index_of(official[0]) == outcome:
            # Bracket-only labels (no expiration_value) get the numeric high when it agrees.
            outcome_f = official[0]
        if outcome is None:
            skipped[str(ev)] = "no known outcome"
            continue
        split = "train" if date <= train_end else ("test" if date >= test_start else "gap")
        out.append(EventDay(str(ev), city, date, ladder, outcome, outcome_f, source, split))
    return ExperimentData(store, out, skipped)


def _opt_int(x: object) -> int | None:
    return None if x is None or pd.isna(x) else int(x)


def _outcome(
    ladder: Ladder,
    group: pd.DataFrame,
    event_outcome_f: int | None,
    official: tuple[int, str] | None,
) -> tuple[int | None, int | None, str]:
    yes = group[group["result"] == "yes"]
    if len(yes) == 1:
        idx = ladder.index_of_ticker(str(yes.iloc[0]["ticker"]))
        val = yes.iloc[0]["expiration_value_f"]
        val = None if pd.isna(val) else int(val)
        if val is not None and ladder.index_of(val) != idx:
            warnings.warn(
                f"{ladder.event_ticker}: result=yes on {yes.iloc[0]['ticker']} but "
                f"expiration_value {val} falls in {ladder.bracket_of(val).ticker}; using result",
                stacklevel=2,
            )
        return idx, val, "kalshi_result"
    if len(yes) > 1:
        return None, None, "ambiguous: several markets settled yes"
    if event_outcome_f is not None:
        return ladder.index_of(event_outcome_f), event_outcome_f, "event_outcome"
    if official is not None:
        return ladder.index_of(official[0]), official[0], f"official:{official[1]}"
    return None, None, ""
