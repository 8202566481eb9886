"""Exact Kalshi trading fees (no floats anywhere).

Kalshi fee schedule (https://kalshi.com/docs/kalshi-fee-schedule.pdf, effective 2026-07-07;
docs/kalshi-api.md §9):

* taker: ``fee = round_up(M × 0.07 × C × P × (1 − P))``
* maker: ``fee = round_up(M × 0.0175 × C × P × (1 − P))`` (``0.035`` on combo series)

with ``C`` the contracts of the fill, ``P`` its price in dollars (on either side: ``P(1 − P)`` is
symmetric) and ``M`` the series' ``fee_multiplier``. The API exposes the schedule as
``series.fee_type`` / ``series.fee_multiplier``, overridden per event by ``fee_type_override`` /
``fee_multiplier_override``. Every KXHIGH* series observed is ``quadratic`` with multiplier 1,
so on weather **makers pay nothing** and takers pay the 0.07 formula (§4.6). There is no
settlement fee and no fee on placing or cancelling orders.

Two rounding paths are provided:

* **Simple** (:func:`fill_fee_cc`, :meth:`FeeSchedule.fee_cc`): ceil the formula to the next whole
  cent on the *whole* fill quantity. This reproduces the schedule's published table and is exact
  for a single fill at a whole-cent price for whole contracts.
* **General** (:class:`FeeAccumulator`, :func:`fee_rounding_step`), after
  https://docs.kalshi.com/getting_started/fee_rounding: the trade fee is rounded up to $0.0001,
  the balance change ``revenue − trade_fee`` is floored to the member's balance precision ($0.01
  for non-direct members, $0.0001 for direct members) and the difference is a *rounding fee*; a
  per-order accumulator refunds overpaid rounding in $0.01 rebates so that many fills of one
  order converge to the single-fill fee. Use it for sub-cent prices, fractional counts and
  multi-fill orders.

Units: prices in centi-cents (``*_cc``, $1 = 10_000), counts in centi-contracts (``*_centi``),
and, in the general path, money in **micro-dollars** (``*_micro``, $1 = 1_000_000) because a
sub-cent price times a fractional count has six decimals (``$0.3301 × 0.03 = $0.009903``):
``price_cc × count_centi`` is exactly the notional in micro-dollars.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal, Inexact, localcontext
from enum import StrEnum

from kbayes.market.prices import CC_PER_DOLLAR, ceil_to_cent_cc

MICRO_PER_DOLLAR = 1_000_000
MICRO_PER_CC = MICRO_PER_DOLLAR // CC_PER_DOLLAR  # 100

#: Balance precision of a non-direct member ($0.01) and of a direct member ($0.0001).
NON_DIRECT_PRECISION_MICRO = 10_000
DIRECT_PRECISION_MICRO = 100
#: Rebates are always whole cents, whatever the balance precision.
REBATE_UNIT_MICRO = 10_000

TAKER_RATE = Decimal("0.07")
MAKER_RATE = Decimal("0.0175")  # 0.25 × taker
COMBO_MAKER_RATE = Decimal("0.035")  # 0.5 × taker


class FeeError(ValueError):
    """A fee cannot be computed: unknown fee type or series, or an invalid fill."""


class FeeType(StrEnum):
    """``series.fee_type`` values (OpenAPI ``Series.fee_type``)."""

    QUADRATIC = "quadratic"
    QUADRATIC_WITH_MAKER_FEES = "quadratic_with_maker_fees"
    QUADRATIC_WITH_COMBO_MAKER_FEES = "quadratic_with_combo_maker_fees"
    FLAT = "flat"


def _decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise FeeError(f"{field}={value!r}: expected a number")
    if isinstance(value, float):
        value = repr(value)  # shortest round-trip text, never the binary expansion
    try:
        d = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise FeeError(f"{field}={value!r}: not a decimal number") from exc
    if not d.is_finite() or d < 0:
        raise FeeError(f"{field}={value!r}: expected a finite number >= 0")
    return d


def _fee_type(value: object) -> FeeType:
    try:
        return FeeType(str(value))
    except ValueError as exc:
        raise FeeError(f"unknown fee_type {value!r}") from exc


def _check_fill(price_cc: int, count_centi: int) -> None:
    if not 0 <= price_cc <= CC_PER_DOLLAR:
        raise FeeError(f"price_cc={price_cc}: outside [0, {CC_PER_DOLLAR}]")
    if count_centi < 0:
        raise FeeError(f"count_centi={count_centi}: negative")


def quadratic_fee_dollars(rate: Decimal, price_cc: int, count_centi: int) -> Decimal:
    """The unrounded quadratic fee ``rate × C × P × (1 − P)`` in dollars, exactly.

    Args:
        rate: Coefficient including the multiplier (``M × 0.07`` for a taker).
        price_cc: Fill price on either side, in centi-cents.
        count_centi: Fill quantity in centi-contracts (the whole fill, not per contract).

    Returns:
        The exact fee as a Decimal (the product of finite decimals is a finite decimal).

    Raises:
        FeeError: On a price outside [0, $1] or a negative count.
    """
    _check_fill(price_cc, count_centi)
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.traps[Inexact] = True  # fail loudly rather than round silently
        p = Decimal(price_cc) / CC_PER_DOLLAR
        c = Decimal(count_centi) / 100
        return rate * c * p * (1 - p)


def _ceil_to_cc(amount_dollars: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return int((amount_dollars * CC_PER_DOLLAR).to_integral_value(rounding=ROUND_CEILING))


@dataclasses.dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A series' (or event's) fee type and multiplier.

    Attributes:
        fee_type: ``series.fee_type`` (event ``fee_type_override`` wins when set).
        multiplier: ``series.fee_multiplier``. Applied to both the taker and the maker formula:
            the docs only say it "is applied to the fee calculation" (kalshi-api.md §9.1,
            [inferred]); on KXHIGH* (``quadratic``) makers pay 0 either way.
    """

    fee_type: FeeType = FeeType.QUADRATIC
    multiplier: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        # Accept the raw API strings too; normalise so comparisons use the enum.
        object.__setattr__(self, "fee_type", _fee_type(self.fee_type))
        object.__setattr__(self, "multiplier", _decimal(self.multiplier, "fee_multiplier"))

    @classmethod
    def from_series(cls, series: Mapping[str, object]) -> FeeSchedule:
        """Build from a ``GET /series/{ticker}`` object (``fee_type``, ``fee_multiplier``).

        Raises:
            FeeError: When ``fee_type`` is missing or unknown.
        """
        if "fee_type" not in series:
            raise FeeError("series object has no fee_type")
        return cls(
            _fee_type(series["fee_type"]),
            _decimal(series.get("fee_multiplier", 1), "fee_multiplier"),
        )

    def with_override(
        self, fee_type_override: object = None, fee_multiplier_override: object = None
    ) -> FeeSchedule:
        """Apply an event's ``fee_type_override`` / ``fee_multiplier_override`` (null = keep)."""
        return FeeSchedule(
            self.fee_type if fee_type_override is None else _fee_type(fee_type_override),
            self.multiplier
            if fee_multiplier_override is None
            else _decimal(fee_multiplier_override, "fee_multiplier_override"),
        )

    def rate(self, *, is_taker: bool) -> Decimal:
        """The coefficient in front of ``C × P × (1 − P)``, multiplier included.

        Raises:
            FeeError: For ``flat`` series (the schedule's specific-fee table: not modelled).
        """
        if self.fee_type is FeeType.FLAT:
            raise FeeError("fee_type 'flat' uses the schedule's specific-fee table: not modelled")
        if is_taker:
            base = TAKER_RATE
        elif self.fee_type is FeeType.QUADRATIC:
            return Decimal(0)  # M_maker defaults to 0: resting orders trade free
        elif self.fee_type is FeeType.QUADRATIC_WITH_MAKER_FEES:
            base = MAKER_RATE
        else:
            base = COMBO_MAKER_RATE
        return base * self.multiplier

    def raw_fee_dollars(self, price_cc: int, count_centi: int, *, is_taker: bool) -> Decimal:
        """The unrounded fee of a fill in dollars (see :func:`quadratic_fee_dollars`)."""
        return quadratic_fee_dollars(self.rate(is_taker=is_taker), price_cc, count_centi)

    def fee_cc(self, price_cc: int, count_centi: int, *, is_taker: bool) -> int:
        """Simple path: the formula on the whole fill, ceiled to a whole cent, in centi-cents.

        Exact for one fill at a whole-cent price for whole contracts (§9.2); for sub-cent prices,
        fractional counts or several fills of one order use :class:`FeeAccumulator`.
        """
        return ceil_to_cent_cc(self.raw_fee_dollars(price_cc, count_centi, is_taker=is_taker))

    def trade_fee_cc(self, price_cc: int, count_centi: int, *, is_taker: bool) -> int:
        """General path, step 1: the "trade fee", the formula rounded **up** to $0.0001."""
        return _ceil_to_cc(self.raw_fee_dollars(price_cc, count_centi, is_taker=is_taker))


#: Fee schedules by series-ticker prefix (longest prefix wins). KXHIGH* (incl. KXHIGHT*):
#: ``quadratic``, multiplier 1, from captured ``GET /series`` bodies of 2026-07-27 (§4.6).
SERIES_FEE_SCHEDULES: Mapping[str, FeeSchedule] = {
    "KXHIGH": FeeSchedule(FeeType.QUADRATIC, Decimal(1)),
}


def schedule_for_series(ticker: str) -> FeeSchedule:
    """Look up the fee schedule of a series (a market or event ticker works too).

    Args:
        ticker: ``KXHIGHNY``, ``KXHIGHNY-26AUG24`` or ``KXHIGHNY-26AUG24-B82.5``.

    Returns:
        The schedule of the longest matching prefix in :data:`SERIES_FEE_SCHEDULES`.

    Raises:
        FeeError: For a series with no known schedule (never guess a fee).
    """
    series = ticker.split("-", 1)[0].upper()
    matches = [p for p in SERIES_FEE_SCHEDULES if series.startswith(p)]
    if not matches:
        raise FeeError(f"no fee schedule known for series {series!r}; read GET /series first")
    return SERIES_FEE_SCHEDULES[max(matches, key=len)]


def fill_fee_cc(schedule: FeeSchedule, price_cc: int, count_centi: int, *, is_taker: bool) -> int:
    """The fee of one fill (whole-cent path), in centi-cents.

    Args:
        schedule: The market's fee schedule, e.g. ``schedule_for_series(ticker)``.
        price_cc: Fill price (either side), in centi-cents.
        count_centi: Fill quantity, in centi-contracts.
        is_taker: True when the order matched on arrival; False for a resting (maker) order.

    Returns:
        ``ceil_to_cent(rate × C × P × (1 − P))`` in centi-cents (a multiple of 100).
    """
    return schedule.fee_cc(price_cc, count_centi, is_taker=is_taker)


@dataclasses.dataclass(frozen=True, slots=True)
class FillFee:
    """The fee components of one fill (general path), in micro-dollars.

    Attributes:
        revenue_micro: Signed cash of the trade itself (negative for a buyer).
        trade_fee_micro: The formula rounded up to $0.0001.
        rounding_fee_micro: ``(revenue − trade_fee) − floor_to_precision(revenue − trade_fee)``.
        rebate_micro: Whole-cent refund of accumulated rounding overpayment.
        accumulator_micro: The order's accumulator after this fill.
    """

    revenue_micro: int
    trade_fee_micro: int
    rounding_fee_micro: int
    rebate_micro: int
    accumulator_micro: int

    @property
    def net_fee_micro(self) -> int:
        """Net fee = trade fee + rounding fee − rebate (what the API reports as ``fee_cost``)."""
        return self.trade_fee_micro + self.rounding_fee_micro - self.rebate_micro

    @property
    def balance_change_micro(self) -> int:
        """What the member's balance moves by: revenue minus the net fee."""
        return self.revenue_micro - self.net_fee_micro

    @property
    def net_fee_dollars(self) -> Decimal:
        """The net fee as exact dollars (compare with ``Decimal(fill["fee_cost"])``)."""
        return Decimal(self.net_fee_micro) / MICRO_PER_DOLLAR


def fee_rounding_step(
    accumulator_micro: int,
    revenue_micro: int,
    trade_fee_cc: int,
    precision_micro: int = NON_DIRECT_PRECISION_MICRO,
) -> FillFee:
    """One fill through Kalshi's fee rounding (docs "Fee Rounding"), as a pure function.

    1. ``balance_change = revenue − trade_fee`` (the trade fee is already ceiled to $0.0001);
    2. floor it toward −∞ to the member's balance precision;
    3. the difference is the rounding fee, added to the order's accumulator;
    4. while the accumulator holds at least $0.01, refund $0.01 and take it off the accumulator.

    The docs say a rebate is issued once the accumulator "exceeds" $0.01, but real fills show it
    at exactly $0.0100 too (e.g. two fills of 3 @ $0.31: $0.05 then $0.04), so ``>=`` is used.
    The docs also state net fee >= 0 always; a rebate that would break that (possible only with
    sub-cent revenue on a fee-free fill) is kept in the accumulator for a later fill [inferred].

    Args:
        accumulator_micro: The order's accumulator before this fill (0 for the first fill).
        revenue_micro: Signed trade cash, ``∓ price_cc × count_centi`` (negative for a buyer).
        trade_fee_cc: Trade fee in centi-cents (ceiled to $0.0001).
        precision_micro: Balance precision: :data:`NON_DIRECT_PRECISION_MICRO` ($0.01) or
            :data:`DIRECT_PRECISION_MICRO` ($0.0001).

    Returns:
        The fill's fee components and the accumulator after it.
    """
    if trade_fee_cc < 0 or accumulator_micro < 0 or precision_micro <= 0:
        raise FeeError("trade fee, accumulator and precision must be non-negative")
    trade_fee_micro = trade_fee_cc * MICRO_PER_CC
    change = revenue_micro - trade_fee_micro
    floored = (change // precision_micro) * precision_micro  # // floors toward -inf
    rounding = change - floored
    acc = accumulator_micro + rounding
    units = min(acc // REBATE_UNIT_MICRO, (trade_fee_micro + rounding) // REBATE_UNIT_MICRO)
    rebate = units * REBATE_UNIT_MICRO
    return FillFee(revenue_micro, trade_fee_micro, rounding, rebate, acc - rebate)


class FeeAccumulator:
    """The per-order fee accumulator (general path); feed it one order's fills in order.

    The accumulator is kept per order across taker *and* maker fills (an order that first takes
    and then rests carries its rounding over). Summed over an order, the net fees equal
    ``ceil_to_precision(Σ trade_fee)`` whatever the fill order; the split between fills depends
    on the execution order.

    Example:
        >>> acc = FeeAccumulator(schedule_for_series("KXHIGHNY"))
        >>> [acc.fill(400, 400, is_taker=True).net_fee_micro,
        ...  acc.fill(400, 100, is_taker=True).net_fee_micro]
        [20000, 0]
    """

    def __init__(
        self, schedule: FeeSchedule, *, precision_micro: int = NON_DIRECT_PRECISION_MICRO
    ) -> None:
        """Start an order with an empty accumulator.

        Args:
            schedule: The market's fee schedule.
            precision_micro: The member's balance precision in micro-dollars.
        """
        self.schedule = schedule
        self.precision_micro = precision_micro
        self.accumulator_micro = 0

    def fill(
        self, price_cc: int, count_centi: int, *, is_taker: bool, is_buy: bool = True
    ) -> FillFee:
        """Charge one fill of this order.

        Args:
            price_cc: Price of the contract side traded, in centi-cents.
            count_centi: Fill quantity in centi-contracts.
            is_taker: Whether this fill took liquidity.
            is_buy: True when the member paid ``price × count`` (revenue negative).

        Returns:
            The fill's fee components.
        """
        trade_fee_cc = self.schedule.trade_fee_cc(price_cc, count_centi, is_taker=is_taker)
        notional = price_cc * count_centi  # cc × centi = micro-dollars
        return self.apply(-notional if is_buy else notional, trade_fee_cc)

    def apply(self, revenue_micro: int, trade_fee_cc: int) -> FillFee:
        """Charge a fill whose revenue and trade fee are known (see :func:`fee_rounding_step`)."""
        out = fee_rounding_step(
            self.accumulator_micro, revenue_micro, trade_fee_cc, self.precision_micro
        )
        self.accumulator_micro = out.accumulator_micro
        return out


def fill_fee(
    schedule: FeeSchedule,
    price_cc: int,
    count_centi: int,
    *,
    is_taker: bool,
    is_buy: bool = True,
    precision_micro: int = NON_DIRECT_PRECISION_MICRO,
) -> FillFee:
    """General path for a single fill (an order filled at once), with all fee components."""
    acc = FeeAccumulator(schedule, precision_micro=precision_micro)
    return acc.fill(price_cc, count_centi, is_taker=is_taker, is_buy=is_buy)
