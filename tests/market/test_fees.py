"""Exact Kalshi fees: the documented examples, properties, and one account's real fills."""

from __future__ import annotations

import collections
import functools
import json
import lzma
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbayes.market.fees import (
    DIRECT_PRECISION_MICRO,
    MICRO_PER_CC,
    FeeAccumulator,
    FeeError,
    FeeSchedule,
    FeeType,
    fee_rounding_step,
    fill_fee,
    fill_fee_cc,
    schedule_for_series,
)
from kbayes.market.prices import dollars_to_cc, fp_to_centi

KXHIGH = schedule_for_series("KXHIGHNY")
MAKER_FEES = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES)
FILLS = Path("kalshi/protocol_captures/jackpetersen_kalshi_fills_complete.json.xz")


def _cents(x: str) -> int:
    return dollars_to_cc(x)


def _ceil_formula_cc(rate: Decimal, price_cc: int, count_centi: int) -> int:
    """Reference: ceil-to-cent of the formula computed independently in Decimal."""
    exact = rate * (Decimal(count_centi) / 100) * (Decimal(price_cc) / 10_000)
    exact *= 1 - Decimal(price_cc) / 10_000
    return int((exact * 100).to_integral_value(rounding=ROUND_CEILING)) * 100


# --- kalshi-api.md §9.3 worked examples, row by row -------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "price", "count", "is_taker", "fee"),
    [
        (KXHIGH, "0.50", "10", True, "0.18"),  # 0.175
        (KXHIGH, "0.44", "10", True, "0.18"),  # 0.17248
        (KXHIGH, "0.10", "100", True, "0.63"),  # exactly 0.63: floats would give 0.64
        (KXHIGH, "0.05", "1", True, "0.01"),  # 0.003325
        (KXHIGH, "0.05", "20", True, "0.07"),  # 0.0665, one order
        (KXHIGH, "0.50", "10", False, "0.00"),  # resting order on KXHIGH: M_maker = 0
        (MAKER_FEES, "0.50", "10", False, "0.05"),  # 0.0175 × 10 × 0.25 = 0.04375
    ],
)
def test_worked_examples(
    schedule: FeeSchedule, price: str, count: str, is_taker: bool, fee: str
) -> None:
    price_cc, count_centi = dollars_to_cc(price), fp_to_centi(count)
    assert fill_fee_cc(schedule, price_cc, count_centi, is_taker=is_taker) == _cents(fee)
    # The documented general path agrees on whole cents and whole contracts.
    general = fill_fee(schedule, price_cc, count_centi, is_taker=is_taker)
    assert general.net_fee_micro == _cents(fee) * MICRO_PER_CC


def test_worked_example_all_in_cost() -> None:
    # Buy 10 YES at $0.44: 4.40 + 0.18 = $4.58 for a contract paying $10 if YES.
    fee = fill_fee_cc(KXHIGH, 4400, 1000, is_taker=True)
    assert 4400 * 1000 // 100 + fee == _cents("4.58")


def test_worked_example_fractional_non_direct() -> None:
    # 2.50 @ $0.40 taker: trade fee 0.042 → 0.0420; 1.00 + 0.042 → balance −1.05; net $0.05.
    out = fill_fee(KXHIGH, 4000, 250, is_taker=True)
    assert out.trade_fee_micro == 42_000
    assert out.rounding_fee_micro == 8_000 and out.rebate_micro == 0
    assert out.net_fee_micro == 50_000 and out.net_fee_dollars == Decimal("0.05")
    assert out.balance_change_micro == -1_050_000
    # A direct member keeps $0.0001 precision: no rounding fee at all.
    direct = fill_fee(KXHIGH, 4000, 250, is_taker=True, precision_micro=DIRECT_PRECISION_MICRO)
    assert direct.net_fee_micro == 42_000


@pytest.mark.parametrize(
    ("price", "fee_1", "fee_100"),
    [("0.01", "0.01", "0.07"), ("0.25", "0.02", "1.32"), ("0.50", "0.02", "1.75")],
)
def test_published_table_rows(price: str, fee_1: str, fee_100: str) -> None:
    """§9.2: rows of the schedule's General Trading Fees Table (1 and 100 contracts)."""
    p = dollars_to_cc(price)
    assert fill_fee_cc(KXHIGH, p, 100, is_taker=True) == _cents(fee_1)
    assert fill_fee_cc(KXHIGH, p, 10_000, is_taker=True) == _cents(fee_100)


# --- docs "Fee Rounding" worked examples (their trade fees are given, not from 0.07) ----------


@pytest.mark.parametrize(
    ("revenue_micro", "trade_fee_cc", "rows"),
    [
        # Buy 3 @ $0.055 as three 1-lot fills: (rounding, accumulator, rebate, net) per fill.
        (
            -55_000,
            85,
            [(6_500, 6_500, 0, 15_000), (6_500, 3_000, 10_000, 5_000), (6_500, 9_500, 0, 15_000)],
        ),
        # Buy 0.90 @ $0.50 as three 0.30-lot fills.
        (
            -150_000,
            41,
            [(5_900, 5_900, 0, 10_000), (5_900, 1_800, 10_000, 0), (5_900, 7_700, 0, 10_000)],
        ),
        # Buy 0.09 @ $0.3301 as three 0.03-lot fills: six-decimal intermediates.
        (
            -9_903,
            5,
            [(9_597, 9_597, 0, 10_097), (9_597, 9_194, 10_000, 97), (9_597, 8_791, 10_000, 97)],
        ),
    ],
)
def test_fee_rounding_doc_examples(
    revenue_micro: int, trade_fee_cc: int, rows: list[tuple[int, int, int, int]]
) -> None:
    acc = FeeAccumulator(KXHIGH)
    for rounding, accumulator, rebate, net in rows:
        out = acc.apply(revenue_micro, trade_fee_cc)
        assert (out.rounding_fee_micro, out.accumulator_micro) == (rounding, accumulator)
        assert (out.rebate_micro, out.net_fee_micro) == (rebate, net)


def test_trade_fee_is_ceiled_to_centicent() -> None:
    # The combined doc example: 0.07 × 0.03 × 0.3301 × 0.6699 = 0.000464… → $0.0005.
    assert KXHIGH.trade_fee_cc(3301, 3, is_taker=True) == 5


# --- schedules ---------------------------------------------------------------------------------


def test_series_lookup() -> None:
    for ticker in ("KXHIGHNY", "KXHIGHCHI-26AUG24", "KXHIGHTDAL-26FEB25-T80", "kxhighmia"):
        assert schedule_for_series(ticker) == FeeSchedule(FeeType.QUADRATIC, Decimal(1))
    with pytest.raises(FeeError, match="KXBTC"):
        schedule_for_series("KXBTC-25APR30")


def test_schedule_from_api_and_overrides() -> None:
    s = FeeSchedule.from_series(
        {"ticker": "KXHIGHNY", "fee_type": "quadratic", "fee_multiplier": 1}
    )
    assert s == KXHIGH and s.rate(is_taker=False) == 0
    combo = s.with_override("quadratic_with_combo_maker_fees", 0.5)
    assert combo.fee_type is FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES
    assert combo.rate(is_taker=True) == Decimal("0.035") and combo.rate(is_taker=False) == Decimal(
        "0.0175"
    )
    assert s.with_override(None, None) == s
    with pytest.raises(FeeError, match="nonsense"):
        FeeSchedule("nonsense")  # type: ignore[arg-type]
    with pytest.raises(FeeError, match="flat"):
        FeeSchedule(FeeType.FLAT).fee_cc(5000, 100, is_taker=True)
    with pytest.raises(FeeError, match="fee_type"):
        FeeSchedule.from_series({"fee_multiplier": 1})
    with pytest.raises(FeeError, match="price_cc"):
        KXHIGH.fee_cc(10_001, 100, is_taker=True)


# --- properties --------------------------------------------------------------------------------

prices = st.integers(min_value=0, max_value=10_000)
counts = st.integers(min_value=0, max_value=10_000_000)
schedules = st.sampled_from(
    [KXHIGH, MAKER_FEES, FeeSchedule(FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, Decimal("1.5"))]
)


@given(schedules, prices, counts, counts, st.booleans())
def test_simple_path_properties(
    schedule: FeeSchedule, p: int, c1: int, c2: int, is_taker: bool
) -> None:
    fee = fill_fee_cc(schedule, p, c1, is_taker=is_taker)
    rate = schedule.rate(is_taker=is_taker)
    assert fee >= 0 and fee % 100 == 0
    assert fee == fill_fee_cc(schedule, 10_000 - p, c1, is_taker=is_taker)  # P ↔ 1 − P
    lo, hi = sorted((c1, c2))
    assert fill_fee_cc(schedule, p, lo, is_taker=is_taker) <= fill_fee_cc(
        schedule, p, hi, is_taker=is_taker
    )
    assert fee <= _ceil_formula_cc(rate, p, c1) + 100


@given(schedules, prices, counts, st.booleans(), st.booleans())
def test_general_single_fill_properties(
    schedule: FeeSchedule, p: int, c: int, is_taker: bool, is_buy: bool
) -> None:
    out = fill_fee(schedule, p, c, is_taker=is_taker, is_buy=is_buy)
    rate = schedule.rate(is_taker=is_taker)
    exact_micro = rate * p * c * (10_000 - p) / 10_000  # formula, in micro-dollars
    assert out.net_fee_micro >= 0 and out.net_fee_micro >= exact_micro
    assert out.net_fee_micro <= (_ceil_formula_cc(rate, p, c) + 100) * MICRO_PER_CC
    assert out.balance_change_micro % 10_000 == 0  # cent-aligned balance
    assert out.trade_fee_micro == schedule.trade_fee_cc(10_000 - p, c, is_taker=is_taker) * 100


@given(
    st.lists(
        st.tuples(st.integers(1, 99), st.integers(1, 500), st.booleans(), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_order_total_is_order_independent(fills: list[tuple[int, int, bool, bool]]) -> None:
    """Whole cents: an order's net fees sum to ceil_cent(Σ trade fees), in any fill order."""
    expected_cc = sum(KXHIGH.trade_fee_cc(p * 100, n * 100, is_taker=t) for p, n, t, _ in fills)
    expected_micro = -(-expected_cc // 100) * 100 * MICRO_PER_CC
    for seq in (fills, fills[::-1]):
        acc = FeeAccumulator(KXHIGH)
        outs = [acc.fill(p * 100, n * 100, is_taker=t, is_buy=b) for p, n, t, b in seq]
        assert sum(o.net_fee_micro for o in outs) == expected_micro
        assert all(o.net_fee_micro >= 0 for o in outs)


# --- real fills: one account's GET /portfolio/fills on KXHIGH*, Feb 2026 -----------------------


def _fill_inputs(f: dict[str, Any]) -> tuple[int, int, bool, bool, int]:
    """(price of the side traded, count, is_taker, is_buy, observed fee), all exact."""
    side_price = f["yes_price_fixed"] if f["side"] == "yes" else f["no_price_fixed"]
    return (
        dollars_to_cc(side_price, "price"),
        fp_to_centi(f["count_fp"]),
        bool(f["is_taker"]),
        f["action"] == "buy",
        dollars_to_cc(f["fee_cost"], "fee_cost"),
    )


def _reproducible(fills: Sequence[dict[str, Any]]) -> bool:
    """Is there an execution order (consistent with ``created_time``) that reproduces every fill?

    Fills of one matching event share a ``created_time``, and the API does not say in which
    order they were charged: try every order within a timestamp (memoised on the accumulator).
    """
    schedule = schedule_for_series(fills[0]["market_ticker"])
    by_time: dict[str, list[tuple[int, int, bool, bool, int]]] = collections.defaultdict(list)
    for f in fills:
        by_time[f["created_time"]].append(_fill_inputs(f))
    # One multiset of distinct fills per timestamp, oldest first.
    kinds = [sorted(set(group)) for _, group in sorted(by_time.items())]
    start = [
        tuple(group.count(k) for k in ks)
        for ks, (_, group) in zip(kinds, sorted(by_time.items()), strict=True)
    ]

    @functools.cache
    def go(gi: int, acc: int, left: tuple[int, ...]) -> bool:
        if not any(left):
            return gi + 1 == len(kinds) or go(gi + 1, acc, start[gi + 1])
        for j, (p, c, taker, buy, observed) in enumerate(kinds[gi]):
            if left[j]:
                trade_fee = schedule.trade_fee_cc(p, c, is_taker=taker)
                out = fee_rounding_step(acc, -p * c if buy else p * c, trade_fee)
                rest = (*left[:j], left[j] - 1, *left[j + 1 :])
                if out.net_fee_micro == observed * MICRO_PER_CC and go(
                    gi, out.accumulator_micro, rest
                ):
                    return True
        return False

    return go(0, 0, start[0])


@pytest.mark.realdata
def test_real_fills_reproduce_fee_cost(shared_data: Path) -> None:
    with lzma.open(shared_data / FILLS) as fh:
        fills: list[dict[str, Any]] = json.load(fh)
    assert len(fills) == 1766
    orders: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for f in fills:
        orders[f["order_id"]].append(f)

    # 1. Simple path, fill by fill (no accumulator): exact except where a rebate was paid.
    simple_miss = []
    for f in fills:
        p, c, taker, _, observed = _fill_inputs(f)
        predicted = fill_fee_cc(schedule_for_series(f["market_ticker"]), p, c, is_taker=taker)
        if predicted != observed:
            simple_miss.append((f, predicted, observed))
    print(f"simple path: {len(fills) - len(simple_miss)}/{len(fills)} fills exact")
    assert len(fills) - len(simple_miss) == 1566
    # Every miss is a later fill of a multi-fill order charged exactly one cent less: the
    # per-order accumulator's $0.01 rebate.
    assert all(pred - obs == 100 and len(orders[f["order_id"]]) > 1 for f, pred, obs in simple_miss)

    # 2. General path, order by order: totals are independent of fill order, so all must match.
    total_miss = []
    for oid, fs in orders.items():
        acc = FeeAccumulator(schedule_for_series(fs[0]["market_ticker"]))
        predicted = 0
        for f in fs:
            p, c, taker, buy, _ = _fill_inputs(f)
            predicted += acc.fill(p, c, is_taker=taker, is_buy=buy).net_fee_micro
        observed = sum(_fill_inputs(f)[4] for f in fs) * MICRO_PER_CC
        if predicted != observed:
            total_miss.append((oid, predicted, observed))
    print(f"order totals: {len(orders) - len(total_miss)}/{len(orders)} orders exact", total_miss)
    assert len(orders) == 1239 and total_miss == []

    # 3. General path fill by fill, in the capture's order (API lists newest first, and ties in
    # created_time by descending trade_id; replay oldest first). Ties hide the true execution
    # order, so some fills of tied multi-fill orders get the rebate on a different fill.
    ordered_hits, ordered_miss = 0, []
    for fs in orders.values():
        acc = FeeAccumulator(schedule_for_series(fs[0]["market_ticker"]))
        for f in reversed(fs):
            p, c, taker, buy, observed = _fill_inputs(f)
            got = acc.fill(p, c, is_taker=taker, is_buy=buy).net_fee_micro
            if got == observed * MICRO_PER_CC:
                ordered_hits += 1
            else:
                ordered_miss.append((f["order_id"][:8], f["created_time"], f["count_fp"], got))
    print(f"accumulator in capture order: {ordered_hits}/{len(fills)} fills exact")
    for miss in ordered_miss:
        print("  order-dependent:", *miss)
    assert ordered_hits == 1594
    tied = {oid[:8] for oid, fs in orders.items() if len({f["created_time"] for f in fs}) < len(fs)}
    assert {m[0] for m in ordered_miss} <= tied

    # 4. ... and every order has an execution order that reproduces each of its fills exactly.
    bad = [oid for oid, fs in orders.items() if not _reproducible(fs)]
    print(f"accumulator, some tie order: {len(orders) - len(bad)}/{len(orders)} orders exact")
    assert bad == []
