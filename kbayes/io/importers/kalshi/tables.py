"""Vectorised row checks for tabular sources (CSV, parquet): flag, report, keep the rest.

A tabular importer converts whole columns at once, flags each row's first failing field with
:class:`RowChecks`, reports every flagged row as an issue naming the file line/row, field and
value, and writes the rows that passed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from kbayes.io.importers.base import ImportContext
from kbayes.io.importers.kalshi.wire import TZ_SUFFIX_RE, city_for
from kbayes.market.cities import UnknownCityError
from kbayes.market.ladder import event_ticker_of


class RowChecks:
    """Row-validity bookkeeping for a frame: the first failing field per row, then issues.

    Args:
        ctx: import context receiving the issues.
        df: the frame being checked (rows addressed by position).
        label: ``label(i)`` names row ``i`` in an issue (e.g. ``"line 12:KXHIGHNY-..."``).
    """

    def __init__(self, ctx: ImportContext, df: pd.DataFrame, label: Callable[[int], str]) -> None:
        self.ctx, self.df, self.label = ctx, df, label
        self.field = np.full(len(df), None, dtype=object)
        self.message = np.full(len(df), None, dtype=object)
        self.value = np.full(len(df), None, dtype=object)

    def flag(self, mask: object, field: str, values: object, message: str) -> None:
        """Mark the rows in ``mask`` as failing ``field`` (a row keeps its first failure)."""
        mask = np.asarray(mask, dtype=bool)
        new = mask & pd.isna(self.field)
        self.field[new] = field
        self.message[new] = message
        self.value[new] = np.asarray(values, dtype=object)[new]

    def report(self, prefix: str = "row skipped") -> np.ndarray:
        """Issue every flagged row; returns the boolean mask of the rows to keep."""
        bad = ~pd.isna(self.field)
        for i in np.flatnonzero(bad):
            self.ctx.issue(
                self.label(i), self.field[i], self.value[i], f"{prefix}: {self.message[i]}"
            )
        return ~bad


def ticker_meta(
    tickers: pd.Series, rows: RowChecks, field: str = "market_ticker"
) -> tuple[pd.Series, pd.Series]:
    """Event ticker and city key per row; rows whose ticker is not a weather market flagged."""
    meta: dict[str, tuple[str | None, str | None]] = {}
    for t in tickers.dropna().unique():
        try:
            meta[t] = (event_ticker_of(t), city_for(t).key)
        except (ValueError, UnknownCityError):
            meta[t] = (None, None)
    ev = tickers.map(lambda t: meta.get(t, (None, None))[0])
    city = tickers.map(lambda t: meta.get(t, (None, None))[1])
    rows.flag(ev.isna().to_numpy(), field, tickers, "not a KXHIGH* market ticker")
    return ev, city


def localize_naive(values: pd.Series, tz: str) -> tuple[pd.Series, np.ndarray]:
    """Naive local wall times -> aware UTC; strings with an explicit offset are just converted.

    Returns:
        ``(utc, bad)`` with ``bad`` marking unparseable, nonexistent or ambiguous wall times.
    """
    s = values.astype("string")
    aware = s.str.contains(TZ_SUFFIX_RE, regex=True).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(s[aware], utc=True, format="ISO8601", errors="coerce")
    naive = ~aware
    if naive.any():
        local = pd.to_datetime(s[naive], format="ISO8601", errors="coerce")
        local = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        out[naive] = local.dt.tz_convert("UTC")
    return out, out.isna().to_numpy()
