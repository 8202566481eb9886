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

from collections.abc import Mapping

from kbayes.market.book import BookError, OrderBook, Side, check_price, parse_side
from kbayes.market.prices import (
    CC_PER_DOLLAR,
    PriceFormatError,
    cc_to_dollars,
    cents_to_cc,
    dollars_to_cc,
    fp_to_centi,
)


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
            cc = cents_to_cc(price) if cents else dollars_to_cc(price)
            centi = fp_to_centi(size)
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


def parse_delta(
    msg: Mapping[str, object], *, use_yes_price: bool = False, where: str = "delta"
) -> tuple[Side, int, int]:
    """One ``orderbook_delta`` ``msg`` as ``(side, own price_cc, signed delta_centi)``.

    Args:
        msg: ``{"price_dollars", "delta_fp", "side", …}`` or legacy ``{"price", "delta", …}``.
        use_yes_price: The subscription's ``use_yes_price`` flag (NO prices are YES-leg).
        where: Context for error messages (ticker, seq).

    Raises:
        BookError: On a bad side, price or size field.
    """
    side = parse_side(msg.get("side"), where)
    try:
        if msg.get("price_dollars") is not None:
            price = dollars_to_cc(msg["price_dollars"], "price_dollars")
        else:
            price = cents_to_cc(msg.get("price"), "price")
        if msg.get("delta_fp") is not None:
            delta = fp_to_centi(msg["delta_fp"], "delta_fp")
        else:
            delta = fp_to_centi(msg.get("delta"), "delta")
    except PriceFormatError as exc:
        raise BookError(f"{where}: {exc}") from exc
    if side is Side.NO and use_yes_price:
        price = CC_PER_DOLLAR - price
    return side, price, delta


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
) -> None:
    """Apply one ``orderbook_delta`` ``msg`` (current or legacy fields) to ``book``.

    Args:
        book: The market's book.
        msg: See :func:`parse_delta`.
        seq: The frame's ``seq``, named in errors and kept as :attr:`OrderBook.last_seq`.
        use_yes_price: The subscription's ``use_yes_price`` flag (NO prices are YES-leg).

    Raises:
        BookError: On a negative resulting size, a crossed book, or a malformed message; the
            book is left unchanged.
    """
    _check_ticker(book, msg, f"delta (seq {seq})")
    side, price, delta = parse_delta(
        msg, use_yes_price=use_yes_price, where=f"{book.ticker} delta (seq {seq})"
    )
    book.change(side, price, delta, seq=seq)
