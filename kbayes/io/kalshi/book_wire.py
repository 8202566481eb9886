"""Kalshi order-book payloads to :class:`~kbayes.market.book.OrderBook`: snapshots and deltas.

The domain book (:mod:`kbayes.market.book`) knows integer prices and sizes only; this module
reads the exchange's shapes (docs/kalshi-api.md §5.4, §7.5, §11):

* REST ``{"orderbook_fp": {"yes_dollars": [[price, count_fp], …], "no_dollars": …}}`` (or the
  inner object); legacy REST ``{"orderbook": {"yes": [[cents, n]], …, "yes_dollars": …}}``;
* WS ``orderbook_snapshot`` ``msg`` with ``yes_dollars_fp`` / ``no_dollars_fp`` (a key is absent
  when that side is empty); legacy ``{"yes": [[8, 300]], "no": …}`` in integer cents;
* WS ``orderbook_delta`` ``msg`` with ``price_dollars``, ``delta_fp`` (signed change), ``side``;
  legacy ``price`` (cents) / ``delta`` (integer count).

Prices become centi-cents and counts centi-contracts exactly (strings or JSON numbers). With the
subscription's ``use_yes_price`` flag the wire gives NO levels as YES-leg prices (``1 − q``);
they are stored by the NO bid's own price. Pure functions, no I/O: the stream
(:mod:`kbayes.io.kalshi.stream`) and the REST client feed the decoded payloads in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kbayes.market.book import BookError, OrderBook, Side, check_price
from kbayes.market.prices import (
    CC_PER_DOLLAR,
    PriceFormatError,
    cc_to_dollars,
    cents_to_cc,
    dollars_to_cc,
    fp_to_centi,
)

_MEMO_MAX = 1 << 16  # distinct wire strings remembered per unit (prices: < 10_000 exist)


def _fixed_point(places: int, exact: Callable[[object, str], int]) -> Callable[[object, str], int]:
    """A reader of fixed-point wire values (``"0.4500"``, ``"-12.00"``) into integer units.

    The 2026 API writes prices with four decimals and counts with two: such a string is read
    by integer arithmetic (``"0.4500"`` → ``int("04500")`` = 4500 cc), and remembered, since a
    day's stream repeats a few thousand distinct strings. Anything else (JSON numbers,
    exponents, blanks, more decimals, garbage) goes to ``exact`` (the Decimal reader of
    :mod:`kbayes.market.prices`), so the values, and the errors naming the field and value,
    are the ones it gives.
    """
    memo: dict[str, int] = {}

    def read(value: object, field: str) -> int:
        if value.__class__ is str:
            got = memo.get(value)  # type: ignore[call-overload]
            if got is not None:
                return got
            whole, dot, frac = value.partition(".")  # type: ignore[attr-defined]
            digits = whole[1:] if whole[:1] == "-" else whole
            if (
                digits.isascii()
                and digits.isdigit()
                and len(frac) <= places
                and (not dot or (frac.isascii() and frac.isdigit()))
            ):
                got = int(whole + frac.ljust(places, "0"))
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[value] = got  # type: ignore[index]
                return got
        return exact(value, field)

    return read


read_price_cc = _fixed_point(4, dollars_to_cc)  # "0.4500" -> 4500 centi-cents
read_centi = _fixed_point(2, fp_to_centi)  # "-12.50" -> -1250 centi-contracts


def _levels(
    raw: object, side: Side, cents: bool, use_yes_price: bool, where: str
) -> dict[int, int]:
    if raw is None:
        return {}
    if not isinstance(raw, list | tuple):
        raise BookError(f"{where}: {side} levels must be a list, got {type(raw).__name__}")
    out: dict[int, int] = {}
    for level in raw:
        if not isinstance(level, list | tuple) or len(level) != 2:
            raise BookError(f"{where}: {side} level {level!r} is not [price, size]")
        price, size = level
        try:
            cc = cents_to_cc(price) if cents else read_price_cc(price, "price_dollars")
            centi = read_centi(size, "count_fp")
        except PriceFormatError as exc:
            raise BookError(f"{where}: {side} level {level!r}: {exc}") from exc
        if side is Side.NO and use_yes_price:
            cc = CC_PER_DOLLAR - cc  # wire gave the YES-leg price; store the NO bid's own price
        check_price(cc, where)
        if centi < 0:
            raise BookError(f"{where}: {side} {cc_to_dollars(cc):.4f} has negative size {size!r}")
        if cc in out:
            raise BookError(f"{where}: {side} price {cc_to_dollars(cc):.4f} listed twice")
        if centi:
            out[cc] = centi
    return out


def parse_snapshot(
    payload: Mapping[str, object], *, use_yes_price: bool = False, where: str = "snapshot"
) -> tuple[dict[int, int], dict[int, int]]:
    """Parse any snapshot shape into ``(yes_bids, no_bids)``: ``{price_cc: size_centi}``.

    Args:
        payload: A REST response (``orderbook_fp`` or legacy ``orderbook`` wrapper, or the inner
            object), or a WS ``orderbook_snapshot`` ``msg`` (current or legacy).
        use_yes_price: The WS subscription's ``use_yes_price`` flag: NO levels on the wire are
            then YES-leg prices (``1 − no_price``). Never true for REST.
        where: Context for error messages (ticker, seq).

    Returns:
        YES bids and NO bids, each keyed by its own price.

    Raises:
        BookError: On a malformed level, a price outside (0, 1), a negative size or a duplicate.
    """
    inner: Mapping[str, object] = payload
    for wrapper in ("orderbook_fp", "orderbook"):
        candidate = payload.get(wrapper)
        if isinstance(candidate, Mapping):
            inner = candidate
            break
    sides: list[dict[int, int]] = []
    for side in (Side.YES, Side.NO):
        # Newest field first: *_dollars_fp (WS), *_dollars (REST; legacy with integer counts),
        # then the legacy integer-cent field. A missing key means an empty side.
        for key, cents in ((f"{side}_dollars_fp", False), (f"{side}_dollars", False), (side, True)):
            if inner.get(key) is not None:
                sides.append(_levels(inner[key], side, cents, use_yes_price, where))
                break
        else:
            sides.append({})
    return sides[0], sides[1]


def _delta_fields(msg: Mapping[str, object], use_yes_price: bool) -> tuple[str, int, int]:
    """``(side, own price_cc, delta_centi)`` of a delta ``msg``; :class:`PriceFormatError`.

    The one decoder of deltas (live, recorder checks, replay): ``side`` is the plain string
    ``"yes"``/``"no"`` (any case and :class:`Side` accepted).
    """
    side = msg.get("side")
    if side != "yes" and side != "no":
        side = str(side).lower()
        if side != "yes" and side != "no":
            raise PriceFormatError(f"side={msg.get('side')!r}, expected 'yes' or 'no'")
    price = msg.get("price_dollars")
    if price is not None:
        price = read_price_cc(price, "price_dollars")
    else:
        price = cents_to_cc(msg.get("price"), "price")
    delta = msg.get("delta_fp")
    if delta is not None:
        delta = read_centi(delta, "delta_fp")
    else:
        delta = fp_to_centi(msg.get("delta"), "delta")
    if use_yes_price and side == "no":
        price = CC_PER_DOLLAR - price  # wire gave the YES-leg price; store the NO bid's own
    return str(side), price, delta


def parse_delta(
    msg: Mapping[str, object], *, use_yes_price: bool = False, where: str = "delta"
) -> tuple[str, int, int]:
    """One ``orderbook_delta`` ``msg`` as ``(side, own price_cc, signed delta_centi)``.

    Args:
        msg: ``{"price_dollars", "delta_fp", "side", …}`` or legacy ``{"price", "delta", …}``.
        use_yes_price: The subscription's ``use_yes_price`` flag (NO prices are YES-leg).
        where: Context for error messages (ticker, seq).

    Returns:
        ``side`` as ``"yes"``/``"no"`` (equal to :class:`Side` members), the price in cc
        and the signed change in centi-contracts.

    Raises:
        BookError: On a bad side, price or size field.
    """
    try:
        return _delta_fields(msg, use_yes_price)
    except PriceFormatError as exc:
        raise BookError(f"{where}: {exc}") from exc


def _check_ticker(book: OrderBook, payload: Mapping[str, object], where: str) -> None:
    named = payload.get("market_ticker")
    if named is not None and named != book.ticker:
        raise BookError(f"{book.ticker}: {where} is for {named!r}")


def book_from_snapshot(
    payload: Mapping[str, object],
    *,
    ticker: str | None = None,
    seq: int | None = None,
    use_yes_price: bool = False,
) -> OrderBook:
    """Build a book from any snapshot shape (see :func:`parse_snapshot`).

    Args:
        payload: REST response or WS ``msg``.
        ticker: Required when the payload does not name its market (REST responses).
        seq: The frame's ``seq``, for error messages and :attr:`OrderBook.last_seq`.
        use_yes_price: The WS subscription's ``use_yes_price`` flag.

    Raises:
        BookError: On a malformed payload, a ticker mismatch or a crossed book.
    """
    named = payload.get("market_ticker") or payload.get("ticker")
    if ticker is None and not isinstance(named, str):
        raise BookError("snapshot names no market_ticker: pass ticker=")
    if ticker is not None and named is not None and named != ticker:
        raise BookError(f"snapshot for {named!r} given as {ticker!r}")
    book = OrderBook(ticker or str(named))
    apply_snapshot(book, payload, seq=seq, use_yes_price=use_yes_price)
    return book


def apply_snapshot(
    book: OrderBook,
    payload: Mapping[str, object],
    *,
    seq: int | None = None,
    use_yes_price: bool = False,
) -> None:
    """Replace the whole book with a snapshot (a repeated snapshot replaces, §7.5); atomic."""
    where = f"snapshot (seq {seq})"
    _check_ticker(book, payload, where)
    yes, no = parse_snapshot(payload, use_yes_price=use_yes_price, where=f"{book.ticker} {where}")
    book.replace(yes, no, seq=seq, where=where)


def apply_delta(
    book: OrderBook,
    msg: Mapping[str, object],
    *,
    seq: int | None = None,
    use_yes_price: bool = False,
) -> tuple[str, int, int]:
    """Apply one ``orderbook_delta`` ``msg`` (current or legacy fields) to ``book``.

    Args:
        book: The market's book.
        msg: See :func:`parse_delta`.
        seq: The frame's ``seq``, named in errors and kept as :attr:`OrderBook.last_seq`.
        use_yes_price: The subscription's ``use_yes_price`` flag (NO prices are YES-leg).

    Returns:
        The applied ``(side, price_cc, delta_centi)`` (the NO price is the NO bid's own).

    Raises:
        BookError: On a negative resulting size, a crossed book, or a malformed message; the
            book is left unchanged.
    """
    named = msg.get("market_ticker")
    if named is not None and named != book.ticker:
        raise BookError(f"{book.ticker}: delta (seq {seq}) is for {named!r}")
    try:
        side, price, delta = _delta_fields(msg, use_yes_price)
    except PriceFormatError as exc:  # the context is built only when there is an error
        raise BookError(f"{book.ticker} delta (seq {seq}): {exc}") from exc
    book.change(side, price, delta, seq=seq)
    return side, price, delta
