"""Conversion between typed records and column frames, with schema validation.

Bulk data moves as pandas frames whose columns are exactly a record type's fields; this module
is the single gate that checks a frame against its record type before it reaches the store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import pandas as pd

from kbayes.market.records import columns


class SchemaError(ValueError):
    """A frame that does not match its record type (names the table, column and value)."""


def records_to_frame(record_type: type, records: Iterable[object]) -> pd.DataFrame:
    """Frame with the record type's columns from an iterable of records."""
    rows = [dataclasses.astuple(r) for r in records]
    df = pd.DataFrame(rows, columns=list(columns(record_type)))
    return conform(record_type, df)


def frame_to_records(record_type: type, df: pd.DataFrame) -> list[object]:
    """Records from a frame (timestamps become aware ``datetime``, NA becomes ``None``)."""
    cols = columns(record_type)
    out = []
    for row in df[list(cols)].itertuples(index=False, name=None):
        vals = []
        for (tp, _), v in zip(cols.values(), row, strict=True):
            if v is None or v is pd.NaT or (not isinstance(v, str) and pd.isna(v)):
                vals.append(None)
            elif tp is dt.datetime:
                vals.append(pd.Timestamp(v).to_pydatetime())
            elif tp is dt.date:
                vals.append(pd.Timestamp(v).date() if not isinstance(v, dt.date) else v)
            elif tp is int:
                vals.append(int(v))
            elif tp is float:
                vals.append(float(v))
            elif tp is bool:
                vals.append(bool(v))
            else:
                vals.append(v)
        out.append(record_type(*vals))
    return out


def conform(record_type: type, df: pd.DataFrame) -> pd.DataFrame:
    """Check and cast a frame to a record type's schema.

    Raises:
        SchemaError: missing or unknown column, naive timestamp, null in a required column, or
            a value that cannot be cast exactly (e.g. a fractional centi-cent price).
    """
    table = record_type.TABLE
    cols = columns(record_type)
    missing = [c for c in cols if c not in df.columns]
    extra = [c for c in df.columns if c not in cols]
    if missing or extra:
        raise SchemaError(f"table {table}: missing columns {missing}, unknown columns {extra}")
    out = {}
    for name, (tp, nullable) in cols.items():
        s = df[name]
        if tp is dt.datetime:
            if not isinstance(s.dtype, pd.DatetimeTZDtype):
                if len(s) and s.notna().any():
                    sample = s[s.notna()].iloc[0]
                    if isinstance(sample, str) or getattr(sample, "tzinfo", None) is None:
                        try:
                            s = pd.to_datetime(s, utc=False, format="ISO8601")
                        except (ValueError, TypeError) as exc:
                            raise SchemaError(f"table {table}: column {name}: {exc}") from exc
                        if not isinstance(s.dtype, pd.DatetimeTZDtype):
                            raise SchemaError(
                                f"table {table}: column {name} has timestamps without a time "
                                f"zone (first: {sample!r}); kbayes stores aware UTC only"
                            )
                    else:
                        s = pd.to_datetime(s, utc=True)
                else:
                    s = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
            s = s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        elif tp is dt.date:
            s = pd.to_datetime(s).dt.date if len(s) and not _all_dates(s) else s.astype(object)
        elif tp is int:
            num = pd.to_numeric(s, errors="coerce")
            bad = num.notna() & (num != num.round())
            if bad.any():
                raise SchemaError(
                    f"table {table}: column {name} value {s[bad].iloc[0]} is not an integer"
                )
            s = num.astype("Int64")
        elif tp is float:
            s = pd.to_numeric(s, errors="raise").astype("Float64")
        elif tp is bool:
            s = s.astype("boolean")
        else:
            s = s.astype("string")
        if not nullable and s.isna().any():
            row = int(s.isna().to_numpy().nonzero()[0][0])
            raise SchemaError(f"table {table}: column {name} is null in row {row} (required)")
        out[name] = s
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def _all_dates(s: pd.Series) -> bool:
    return all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in s.dropna())
