"""Vectorised row checks for tabular sources (CSV, parquet): flag, report, keep the rest.

A tabular importer converts whole columns at once, flags each row's first failing field with
:class:`RowChecks`, reports every flagged row as an issue naming the file line/row, field and
value, and writes the rows that passed.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from kbayes.io.importers.base import ImportContext
from kbayes.io.kalshi_wire import TZ_SUFFIX_RE, city_for
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
    codes, uniques = pd.factorize(tickers)
    ev_u = np.full(len(uniques) + 1, None, dtype=object)  # last slot: missing ticker (code -1)
    city_u = np.full(len(uniques) + 1, None, dtype=object)
    for j, t in enumerate(uniques):
        # A ticker without event/city keeps None and is flagged below.
        with contextlib.suppress(ValueError, TypeError, AttributeError, UnknownCityError):
            ev_u[j], city_u[j] = event_ticker_of(t), city_for(t).key
    ev = pd.Series(ev_u[codes], index=tickers.index, dtype=object)
    city = pd.Series(city_u[codes], index=tickers.index, dtype=object)
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


_SKIPPED_LINE = re.compile(r"Skipping line (\d+): ([^\n]*)")


def read_csv_rows(path: object, ctx: ImportContext, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` that keeps every good row: a structurally bad line (more fields
    than the header) is an import issue with its line number (``line 12``), not the loss of
    the whole file. :func:`file_lines` gives each kept row's line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        df = pd.read_csv(path, on_bad_lines="warn", **kwargs)
    skipped: list[int] = []
    for w in caught:
        text = str(w.message)
        lines = (
            _SKIPPED_LINE.findall(text) if issubclass(w.category, pd.errors.ParserWarning) else []
        )
        for line, why in lines:
            ctx.issue(f"line {line}", "", "", f"row skipped: {why.strip()}")
            skipped.append(int(line))
        if not lines:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    numbers = np.arange(2, 2 + len(df) + len(skipped))  # line 1 is the header
    df.attrs["file_lines"] = numbers[~np.isin(numbers, skipped)]
    return df


def file_lines(df: pd.DataFrame) -> np.ndarray:
    """The file line of each row of a frame from :func:`read_csv_rows` (skipped lines left
    out, so issue labels name the right line)."""
    return df.attrs.get("file_lines", np.arange(2, 2 + len(df)))


def read_csv(path: object, ctx: ImportContext) -> pd.DataFrame:
    """A CSV with its text columns kept as text and numbers parsed by pandas.

    Only an empty field is missing (``"NA"`` or ``"null"`` stay text, and then fail the numeric
    checks visibly). A numeric column holding a stray non-number arrives as text, and the
    importer's exact conversion flags that row. A line with too many fields is reported and
    skipped (:func:`read_csv_rows`).
    """
    text = ("timestamp", "start", "market_ticker", "ticker", "market_id", "date")
    head = pd.read_csv(path, nrows=0)
    dtypes = {c: str for c in head.columns if c in text}
    return read_csv_rows(path, ctx, dtype=dtypes, keep_default_na=False, na_values=[""])
