"""Field-level parsing of Kalshi payloads, both wire generations, into exact units.

Kalshi changed its wire format in 2025-2026 (kalshi-api.md 4.3, 5.6, 7.5; kalshi-samples.md):

* legacy: integer cents (``yes_price: 43``, ``last_price``, ``yes_bid``) and integer counts
  (``count``, ``volume``);
* current: fixed-point dollar strings (``yes_price_dollars: "0.4300"``; fills use ``*_fixed``)
  and fixed-point count strings (``count_fp: "9.64"``).

Frames of the transition carry both; then they must agree. Every helper here returns exact
integers (centi-cents, centi-contracts) or raises :class:`WireError` naming the field, so an
importer can turn the error into an issue for that one record and go on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from kbayes.market.cities import City, UnknownCityError, city_of, city_of_ticker
from kbayes.market.prices import (
    CC_PER_DOLLAR,
    CENTI_PER_CONTRACT,
    PriceFormatError,
    cents_to_cc,
    dollars_to_cc,
    fp_to_centi,
)

# An explicit UTC designator or numeric offset at the end of an ISO-8601 string.
TZ_SUFFIX_RE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"
_TZ_SUFFIX = re.compile(TZ_SUFFIX_RE)


class WireError(ValueError):
    """A field of a Kalshi payload that is missing or cannot be parsed exactly.

    Attributes:
        field: the offending field name.
        value: the raw value (``None`` when missing).
    """

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(f"{field}={value!r}: {message}")
        self.field = field
        self.value = value
        self.reason = message


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def require(obj: Mapping[str, Any], field: str) -> Any:
    """``obj[field]``, raising :class:`WireError` when absent, null or empty."""
    value = obj.get(field)
    if _missing(value):
        raise WireError(field, value, "required field is missing")
    return value


def parse_utc(value: object, field: str) -> dt.datetime:
    """An aware UTC instant from an RFC 3339 string, a Unix time (s or ms) or a datetime.

    Raises:
        WireError: missing, unparseable, or a naive timestamp (kbayes never guesses a zone for
            a Kalshi timestamp; the few naive sources are localised explicitly by their importer).
    """
    if _missing(value):
        raise WireError(field, value, "required timestamp is missing")
    if isinstance(value, bool):
        raise WireError(field, value, "not a timestamp")
    if isinstance(value, int | float | np.integer | np.floating):
        secs = float(value)
        # Unix ms are > 1e11 for any date after 1973; Kalshi uses both (ts, ts_ms, received_ms).
        if secs > 1e11:
            secs /= 1000.0
        return dt.datetime.fromtimestamp(secs, tz=dt.UTC)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise WireError(field, value, "naive timestamp (no time zone)")
        return value.astimezone(dt.UTC)
    text = str(value).strip()
    if not _TZ_SUFFIX.search(text):
        raise WireError(field, value, "naive timestamp (no time zone); expected RFC 3339 with Z")
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise WireError(field, value, f"unparseable timestamp ({exc})") from exc
    return ts.tz_convert("UTC").to_pydatetime()


def parse_utc_opt(value: object, field: str) -> dt.datetime | None:
    """Like :func:`parse_utc` but ``None`` for a missing value."""
    return None if _missing(value) else parse_utc(value, field)


def utc_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`parse_utc` for RFC 3339 strings.

    Returns:
        ``(timestamps, bad)``: aware UTC timestamps (NaT where bad) and a boolean mask of the
        rows that are missing, naive or unparseable.
    """
    s = values.astype("string")
    aware = s.str.contains(TZ_SUFFIX_RE, regex=True).fillna(False).astype(bool)
    ts = pd.to_datetime(s.where(aware), utc=True, format="ISO8601", errors="coerce")
    bad = ts.isna().to_numpy()
    return ts, pd.Series(bad, index=values.index)


def price_cc(obj: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    """Price ``name`` in centi-cents from ``name_dollars``/``name_fixed`` or legacy ``name``.

    A legacy bare ``name`` is integer cents, except that a string there (historical-tier
    candles) is a dollar amount. When both generations are present they must agree.
    """
    new = None
    for suffix in ("_dollars", "_fixed"):
        raw = obj.get(name + suffix)
        if not _missing(raw):
            try:
                new = dollars_to_cc(raw, name + suffix)
            except PriceFormatError as exc:
                raise WireError(name + suffix, raw, str(exc)) from exc
            break
    legacy = None
    raw = obj.get(name)
    if not _missing(raw):
        try:
            # A string in the bare field is a dollar amount (historical-tier candles).
            legacy = dollars_to_cc(raw, name) if isinstance(raw, str) else cents_to_cc(raw, name)
        except PriceFormatError as exc:
            raise WireError(name, raw, str(exc)) from exc
    if new is not None and legacy is not None and new != legacy:
        raise WireError(name, raw, f"legacy cents disagree with {name}_dollars ({new} cc)")
    out = new if new is not None else legacy
    if out is None and required:
        raise WireError(name, None, f"required price is missing ({name} or {name}_dollars)")
    return out


def count_centi(obj: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    """Count ``name`` in centi-contracts from ``name_fp`` or legacy integer ``name``."""
    new = None
    raw_fp = obj.get(name + "_fp")
    if not _missing(raw_fp):
        try:
            new = fp_to_centi(raw_fp, name + "_fp")
        except PriceFormatError as exc:
            raise WireError(name + "_fp", raw_fp, str(exc)) from exc
    legacy = None
    raw = obj.get(name)
    if not _missing(raw):
        try:
            legacy = fp_to_centi(raw, name)
        except PriceFormatError as exc:
            raise WireError(name, raw, str(exc)) from exc
    if new is not None and legacy is not None and new != legacy:
        raise WireError(name, raw, f"legacy count disagrees with {name}_fp ({new} centi)")
    out = new if new is not None else legacy
    if out is None and required:
        raise WireError(name, None, f"required count is missing ({name} or {name}_fp)")
    return out


def bid_cc(value_cc: int | None) -> int | None:
    """A best bid with Kalshi's empty-side sentinel removed: a 0 bid means no bid (DESIGN 1)."""
    if value_cc is None or value_cc <= 0:
        return None
    return value_cc


SIDES = ("yes", "no")


def taker_side(msg: Mapping[str, Any]) -> str:
    """The outcome a trade's taker bought: ``taker_outcome_side``, else the deprecated
    ``taker_side`` (``"yes"`` or ``"no"``; anything else is a :class:`WireError`)."""
    side = msg.get("taker_outcome_side") or msg.get("taker_side")
    if side not in SIDES:
        raise WireError("taker_side", side, "expected 'yes' or 'no'")
    return side


class TickerTop(NamedTuple):
    """The top of book a ``ticker`` message carries, empty-side sentinels removed.

    A 0 YES bid is no bid, a YES ask at $1 (or above) is no ask, a 0 last price is no trade
    yet: ``None``, never a price at $0 or $1.
    """

    yes_bid_cc: int | None
    yes_ask_cc: int | None
    yes_bid_size_centi: int | None
    yes_ask_size_centi: int | None
    last_price_cc: int | None
    volume_centi: int | None
    open_interest_centi: int | None


def ticker_top(msg: Mapping[str, Any]) -> TickerTop:
    """:class:`TickerTop` of a ``ticker`` message (current or legacy fields)."""
    yes_ask = price_cc(msg, "yes_ask", required=False)
    last = price_cc(msg, "price", required=False)
    return TickerTop(
        bid_cc(price_cc(msg, "yes_bid", required=False)),
        None if yes_ask is None or yes_ask >= CC_PER_DOLLAR else yes_ask,
        count_centi(msg, "yes_bid_size", required=False),
        count_centi(msg, "yes_ask_size", required=False),
        last if last else None,
        count_centi(msg, "volume", required=False),
        count_centi(msg, "open_interest", required=False),
    )


def cents_series_to_cc(values: pd.Series, field: str) -> tuple[pd.Series, pd.Series]:
    """Vectorised cents (int or float like ``7.5``) to centi-cents.

    Returns:
        ``(cc, bad)``: nullable Int64 centi-cents and a mask of values that are present but not
        numbers on the 0.01-cent grid (missing values are neither bad nor converted).
    """
    num = pd.to_numeric(values, errors="coerce").astype("float64")
    present = values.notna().to_numpy()
    scaled = np.round(num.to_numpy() * 100.0, 6)
    ok = np.isfinite(scaled) & (scaled == np.round(scaled))
    bad = present & ~ok
    cc = pd.Series(np.where(ok, scaled, np.nan), index=values.index).astype("Int64")
    return cc, pd.Series(bad, index=values.index, name=field)


def contracts_series_to_centi(values: pd.Series, field: str) -> tuple[pd.Series, pd.Series]:
    """Vectorised contract counts (int or float) to centi-contracts, like the price version."""
    num = pd.to_numeric(values, errors="coerce").astype("float64")
    present = values.notna().to_numpy()
    scaled = np.round(num.to_numpy() * CENTI_PER_CONTRACT, 6)
    ok = np.isfinite(scaled) & (scaled == np.round(scaled))
    bad = present & ~ok
    out = pd.Series(np.where(ok, scaled, np.nan), index=values.index).astype("Int64")
    return out, pd.Series(bad, index=values.index, name=field)


def city_for(ticker: str, series: str | None = None) -> City:
    """The settlement city of a ticker, accepting legacy prefixes the city table lacks.

    ``HIGHAUS-24AUG16`` exists in the cpratim data (series ``KXHIGHAUS``) although the city
    table has no legacy prefix for Austin, so an unknown ``HIGH*`` prefix is retried with
    ``KX`` prepended, then the payload's ``series_ticker``.

    Raises:
        UnknownCityError: when neither resolves.
    """
    try:
        return city_of_ticker(ticker)
    except UnknownCityError:
        prefix = str(ticker).split("-", 1)[0]
        if prefix.upper().startswith("HIGH"):
            try:
                return city_of("KX" + prefix)
            except UnknownCityError:
                pass
        if series:
            return city_of(series)
        raise
