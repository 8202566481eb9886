"""The incremental step builder equals the batch builder, feeds the live UKF, never looks ahead.

:func:`~models.bracket_pmf.steps.build_event_steps` is now a fold of
:func:`~models.bracket_pmf.incremental.step_builder` over the frames as clock-ordered
events. Oracle: :func:`reference_event_steps`, the vectorised pandas / ``searchsorted``
builder it replaced (kept here verbatim), compared field by field on hand-made cases, random
tapes, the simulator and every real event of the store with trades or book tops. Every field
is bit-identical except the price of a trade-priced row, within ``VWAP_ULPS`` units in the
last place: the builder rounds the exact integer VWAP ``sum(cc * n) / (CC * sum(n))`` once,
the oracle sums float products with pandas (one print's ``(p * n) / n`` need not return
``p``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from kbayes.market.events import Quote, Tick, TradePrint, utc_to_ns
from kbayes.market.prices import CC_PER_DOLLAR, CENTI_PER_CONTRACT
from models.bracket_pmf import StepConfig, build_event_steps, default_params, track, ukf_tracker
from models.bracket_pmf.incremental import (
    BuilderState,
    WeatherPMF,
    fold_steps,
    frame_events,
    step_builder,
)
from models.bracket_pmf.live import live_pmf, live_ukf
from models.bracket_pmf.model import BracketStep
from models.bracket_pmf.steps import (
    DEFAULT_STEP_CONFIG,
    NS_PER_HOUR,
    EventSteps,
    _to_ns,
    _weather_alr,
)
from tests.models.bracket_pmf.test_steps import CLOSE, DECISIONS, TICKERS, TRADES, _trades

VWAP_ULPS = 4
MODES = ("last", "fresh")
NS_MIN = 60 * 10**9
T0 = utc_to_ns(dt.datetime(2024, 1, 10, 12, tzinfo=dt.UTC))  # on the 10-minute grid


# --- the oracle: the vectorised builder that build_event_steps was before it became a fold --


def _ref_merged_trades(
    trades: pd.DataFrame, tickers: Sequence[str]
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per bracket: sorted unique times (ns), VWAP price of each time, summed contracts."""
    if trades is None or trades.empty:
        return {}
    unknown = sorted(set(trades["ticker"]) - set(tickers))
    if unknown:
        raise ValueError(f"trades of tickers outside the ladder: {unknown[:5]}")
    price = trades["yes_price_cc"].to_numpy(dtype=float) / CC_PER_DOLLAR
    if not np.all(np.isfinite(price)) or price.min() < 0.0 or price.max() > 1.0:
        raise ValueError("trade prices must be finite and within [0, $1]")
    count = trades["count_centi"].to_numpy(dtype=float) / CENTI_PER_CONTRACT
    if not np.all(np.isfinite(count)) or count.min() < 0:
        raise ValueError("trade counts must be finite and non-negative")
    df = pd.DataFrame(
        {
            "k": trades["ticker"].map({t: i for i, t in enumerate(tickers)}).to_numpy(),
            "ts": _to_ns(trades["ts"]),
            "pv": price * count,
            "p": price,
            "v": count,
            "n": 1.0,
        }
    )
    g = df.groupby(["k", "ts"], sort=True).sum()
    vwap = np.where(g["v"] > 0, g["pv"] / g["v"].where(g["v"] > 0, 1.0), g["p"] / g["n"])
    g = g.assign(price=vwap)
    out = {}
    for k, sub in g.groupby(level="k"):
        out[int(k)] = (
            sub.index.get_level_values("ts").to_numpy(),
            sub["price"].to_numpy(),
            sub["v"].to_numpy(),
        )
    return out


def _ref_book_by_bracket(
    book: pd.DataFrame | None, tickers: Sequence[str]
) -> dict[int, pd.DataFrame]:
    if book is None or book.empty:
        return {}
    book = book[book["ticker"].isin(tickers)]
    cols = ["yes_bid_cc", "no_bid_cc", "yes_bid_size_centi", "yes_ask_size_centi"]
    cols = [c for c in cols if c in book.columns]
    b = book.assign(_ts=_to_ns(book["ts"]))[["ticker", "_ts", *cols]]
    # Stable sort: snapshots with equal timestamps keep their tape order; the last one wins.
    b = b.sort_values("_ts", kind="mergesort").drop_duplicates(["ticker", "_ts"], keep="last")
    return {i: g for i, t in enumerate(tickers) if not (g := b[b["ticker"] == t]).empty}


def reference_event_steps(
    tickers: Sequence[str],
    trades: pd.DataFrame | None,
    decision_instants: Sequence[pd.Timestamp],
    close: pd.Timestamp,
    config: StepConfig = DEFAULT_STEP_CONFIG,
    book: pd.DataFrame | None = None,
    weather: np.ndarray | None = None,
) -> EventSteps:
    """The batch builder by searchsorted over pandas groupbys (same contract, frames only)."""
    k_num = len(tickers)
    w = config.bin_minutes * 60 * 10**9
    decisions = _to_ns(list(decision_instants)) if len(decision_instants) else np.zeros(0, int)
    by_k = _ref_merged_trades(trades, tickers)
    books = _ref_book_by_bracket(book, tickers)

    ends = [decisions]
    ends += [(ts // w + 1) * w for ts, _, _ in by_k.values()]
    ends += [(b["_ts"].to_numpy() // w + 1) * w for b in books.values()]
    times = np.unique(np.concatenate(ends)).astype(np.int64)
    if decisions.size:
        times = times[times <= decisions.max()]
    t_num = times.size

    price = np.full((t_num, k_num), np.nan)
    half = np.zeros((t_num, k_num))
    stale = np.full((t_num, k_num), float(config.max_staleness_h))
    vol = np.zeros((t_num, k_num))
    for k in range(k_num):
        if k in by_k:
            ts, px, cnt = by_k[k]
            last = np.searchsorted(ts, times, side="left") - 1
            before_bin = np.searchsorted(ts, times - w, side="left") - 1
            cum = np.concatenate([[0.0], np.cumsum(cnt)])
            traded = last >= 0
            vol[:, k] = cum[last + 1] - cum[before_bin + 1]
            age = (times - ts[np.maximum(last, 0)]) / NS_PER_HOUR
            stale[:, k] = np.where(traded, np.minimum(age, config.max_staleness_h), stale[:, k])
            use = traded if config.observe == "last" else traded & (last > before_bin)
            price[:, k] = np.where(use, px[np.maximum(last, 0)], np.nan)
            half[:, k] = np.where(use, config.trade_half_spread, 0.0)
        if k in books:
            b = books[k]
            j = np.searchsorted(b["_ts"].to_numpy(), times, side="left") - 1
            ok = j >= 0
            jj = np.maximum(j, 0)
            bid = b["yes_bid_cc"].to_numpy(dtype=float)[jj] / CC_PER_DOLLAR
            ask = 1.0 - b["no_bid_cc"].to_numpy(dtype=float)[jj] / CC_PER_DOLLAR
            two_sided = ok & np.isfinite(bid) & np.isfinite(ask) & (ask >= bid)
            depth = np.zeros(t_num)
            for col in ("yes_bid_size_centi", "yes_ask_size_centi"):
                if col in b.columns:
                    depth += 0.5 * np.nan_to_num(
                        b[col].to_numpy(dtype=float)[jj] / CENTI_PER_CONTRACT
                    )
            price[:, k] = np.where(two_sided, 0.5 * (bid + ask), price[:, k])
            half[:, k] = np.where(two_sided, 0.5 * (ask - bid), half[:, k])
            vol[:, k] = np.where(two_sided, vol[:, k] + depth, vol[:, k])

    wx = np.full((t_num, max(k_num - 1, 0)), np.nan)
    decision_index = np.searchsorted(times, decisions)
    if weather is not None:
        weather = np.asarray(weather, dtype=float)
        if weather.shape != (decisions.size, k_num):
            raise ValueError(f"weather must have shape {(decisions.size, k_num)}")
        for i, row in zip(decision_index, weather, strict=True):
            if np.all(np.isfinite(row)) and k_num > 1:
                wx[i] = _weather_alr(row)
    close_ns = _to_ns([close])[0]
    dt = np.diff(times, prepend=times[:1]) / NS_PER_HOUR if t_num else np.zeros(0)
    steps = BracketStep(
        dt=dt,
        price=price,
        half_spread=half,
        staleness_h=stale,
        volume=vol,
        weather_alr=wx,
        weather_hours_left=(close_ns - times) / NS_PER_HOUR,
    )
    return EventSteps(steps, times.astype("datetime64[ns]"), decision_index)


def assert_same_steps(a: EventSteps, b: EventSteps) -> int:
    """Batch ``a`` equals fold ``b`` (prices within ``VWAP_ULPS``); the number of rows."""
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.decision_index, b.decision_index)
    for name, x, y in zip(a.steps._fields, a.steps, b.steps, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, name
        if name == "price":
            assert np.array_equal(np.isnan(x), np.isnan(y)), name
            ok = np.isnan(x) | (np.abs(x - y) <= VWAP_ULPS * np.spacing(np.abs(x)))
            assert ok.all(), (name, x[~ok], y[~ok])
        else:
            assert np.array_equal(x, y, equal_nan=True), name
    return int(a.times.size)


def _both(tickers, trades, decisions, close, config, book=None, weather=None) -> int:
    """The oracle and build_event_steps (the fold) agree; the number of steps."""
    a = reference_event_steps(tickers, trades, decisions, close, config, book, weather)
    b = build_event_steps(tickers, trades, decisions, close, config, book=book, weather=weather)
    return assert_same_steps(a, b)


BOOK = pd.DataFrame(
    {
        "ts": pd.to_datetime(
            ["2024-01-10T12:05Z", "2024-01-10T12:05Z"] + ["2024-01-10T12:06Z"] * 2
        ),
        "ticker": [TICKERS[0], TICKERS[1], TICKERS[2], TICKERS[2]],
        "yes_bid_cc": [1800, 5000, None, 3000],
        "no_bid_cc": [7800, None, 6000, 6000],
        "yes_bid_size_centi": [1000, 100, 100, 400],
        "yes_ask_size_centi": [3000, 100, 100, 600],
    }
)


@pytest.mark.parametrize("observe", MODES)
def test_fold_equals_batch_on_the_step_tests_cases(observe: str) -> None:
    cfg = StepConfig(observe=observe)
    dup = _trades([(1, "12:12:00", 40, 1), (1, "12:12:00", 60, 3), (2, "12:40:00", 30, 0)])
    trades = pd.concat([TRADES, dup]).iloc[::-1].reset_index(drop=True)
    wx = np.array([[0.1, 0.2, 0.3, 0.4], [np.nan] * 4])
    _both(TICKERS, TRADES, DECISIONS, CLOSE, cfg)
    _both(TICKERS, trades, DECISIONS, CLOSE, cfg, book=BOOK, weather=wx)
    _both(TICKERS, trades, DECISIONS[::-1] + DECISIONS[:1], CLOSE, cfg, book=BOOK)
    _both(TICKERS, trades, [], CLOSE, cfg, book=BOOK)  # no decision: every bin is kept
    _both(TICKERS, None, DECISIONS, CLOSE, cfg)
    _both(["only"], None, DECISIONS, CLOSE, cfg)
    _both(TICKERS, trades, DECISIONS, CLOSE, cfg._replace(bin_minutes=5, max_staleness_h=0.2))


def _random_tape(rng: np.random.Generator, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trades and tops over 16 h with ties: same-time prints, prints and tops on bin ends."""
    start = pd.Timestamp(T0, tz="UTC")
    sec = rng.integers(0, 16 * 3600, n)
    on_grid = rng.uniform(size=n) < 0.2  # exactly on bin ends (and decision instants)
    sec[on_grid] = sec[on_grid] // 300 * 300
    ts = start + pd.to_timedelta(np.r_[sec, sec[: n // 4]], unit="s")  # same-time prints
    trades = pd.DataFrame(
        {
            "ticker": [TICKERS[i] for i in rng.integers(0, len(TICKERS), len(ts))],
            "ts": ts,
            "yes_price_cc": rng.integers(0, 101, len(ts)) * 100,
            "count_centi": rng.integers(0, 40, len(ts)) * 100,
        }
    ).sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
    bts = start + pd.to_timedelta(np.sort(rng.integers(0, 16 * 3600, n // 2)) // 300 * 300, "s")
    bid = rng.integers(0, 70, len(bts)) * 100
    top = pd.DataFrame(
        {
            "ts": bts,
            "ticker": [TICKERS[i] for i in rng.integers(0, len(TICKERS), len(bts))],
            "yes_bid_cc": pd.array(bid, dtype="Int64"),
            "no_bid_cc": pd.array(rng.integers(0, 70, len(bts)) * 100, dtype="Int64"),
            "yes_bid_size_centi": pd.array(rng.integers(0, 90, len(bts)) * 100, dtype="Int64"),
            "yes_ask_size_centi": pd.array(rng.integers(0, 90, len(bts)) * 100, dtype="Int64"),
        }
    )
    for col in top.columns[2:]:  # missing sides and sizes
        top.loc[rng.uniform(size=len(top)) < 0.1, col] = pd.NA
    return trades, top


@pytest.mark.parametrize("seed", range(6))
def test_fold_equals_batch_on_random_tapes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    trades, top = _random_tape(rng)
    start = pd.Timestamp(T0, tz="UTC")
    decisions = [start + pd.Timedelta(minutes=int(m)) for m in (0, 60, 300, 600, 630, 1020)]
    wx = rng.dirichlet(np.ones(len(TICKERS)), len(decisions))
    wx[1] = np.nan
    for observe in MODES:
        cfg = StepConfig(observe=observe, bin_minutes=(5, 10, 30)[seed % 3])
        assert _both(TICKERS, trades, decisions, CLOSE, cfg, book=top, weather=wx) > 20
        _both(TICKERS, trades, decisions, CLOSE, cfg)


def test_merged_print_is_the_exact_vwap_rounded_once() -> None:
    """Oracle: the exact rational VWAP (and the plain mean when every count is 0)."""
    rng = np.random.default_rng(7)
    b = step_builder(["a"], T0 + 600 * NS_MIN, [T0 + 10 * NS_MIN])
    for m in range(1, 30):
        cc = rng.integers(0, CC_PER_DOLLAR + 1, m).tolist()
        n = (rng.integers(0, 3, m) * rng.integers(1, 10**6, m)).tolist()
        state = b.init(None)
        for c, k in zip(cc, n, strict=True):
            state, _ = b.update(state, TradePrint(T0, T0, "a", c, k, "yes"), None)
        want = (
            Fraction(sum(c * k for c, k in zip(cc, n, strict=True)), CC_PER_DOLLAR * sum(n))
            if sum(n)
            else Fraction(sum(cc), CC_PER_DOLLAR * m)
        )
        assert state.brackets[0].price == float(want)
        _, info = b.update(state, Tick(T0 + 10 * NS_MIN, T0 + 10 * NS_MIN), None)
        assert info.steps[0].step.volume[0] == sum(n) / 100  # exact, also for centi counts


def _sim_event() -> tuple[list[str], pd.DataFrame, pd.DataFrame, list[pd.Timestamp], object]:
    from kbayes.sim import SimConfig, simulate

    res = simulate(SimConfig(n_days=2, cities=("NY", "MIA"), n_mc=16, n_prior_years=0, seed=5))
    out = []
    for e in res.events.itertuples():
        tickers = res.markets.loc[res.markets.event_ticker == e.event_ticker, "ticker"].tolist()
        tr = res.trades[res.trades.event_ticker == e.event_ticker]
        # same-time prints: copy a fifth of the trades with other prices and sizes
        extra = tr.iloc[::5].assign(yes_price_cc=lambda d: (d.yes_price_cc + 300).clip(0, 9900))
        tr = pd.concat([tr, extra.assign(count_centi=extra.count_centi * 3)])
        top = res.book_top[res.book_top.event_ticker == e.event_ticker]
        start = pd.Timestamp(e.window_start)
        decisions = [start + pd.Timedelta(hours=h) for h in (-4, 3, 8, 11, 14, 17)]
        out.append((tickers, tr, top, decisions, pd.Timestamp(e.window_end)))
    return out


@pytest.fixture(scope="module")
def sim_events() -> list:
    return _sim_event()


def test_fold_equals_batch_on_simulator_events(sim_events: list) -> None:
    rows = 0
    for tickers, tr, top, decisions, close in sim_events:
        for observe in MODES:
            rows += _both(tickers, tr, decisions, close, StepConfig(observe=observe), book=top)
            rows += _both(tickers, tr, decisions, close, StepConfig(observe=observe))
    assert len(sim_events) == 4 and rows > 1000


def _live_matches_track(tickers, trades, decisions, close, book=None, weather=None) -> int:
    """Steps emitted one event at a time into the packed UKF == ``track`` over the batch."""
    k = len(tickers)
    params = default_params(q_day1=1.0, q_day2=0.5)
    use_wx = weather is not None
    batch = build_event_steps(tickers, trades, decisions, close, book=book, weather=weather)
    _, info = track(
        ukf_tracker(params, k, use_wx), jax.tree_util.tree_map(jnp.asarray, batch.steps)
    )
    dec_ns = [utc_to_ns(d.to_pydatetime()) for d in decisions]
    builder = step_builder(tickers, utc_to_ns(close.to_pydatetime()), dec_ns)
    live = live_ukf(params, k, use_wx)
    carry, state, t = live.init, builder.init(None), 0
    for ev in frame_events(tickers, trades, book, dec_ns, weather):
        state, out = builder.update(state, ev, None)
        for timed in out.steps:
            if t == batch.times.size:  # after the last decision: the batch stops there
                break
            assert timed.time_ns == batch.times[t].astype(np.int64)
            carry = live.update(carry, live.pack_obs(timed.step))
            pmf, ll = live_pmf(live, carry)
            np.testing.assert_allclose(pmf, info.pmf[t], rtol=0, atol=1e-12)
            np.testing.assert_allclose(ll, info.log_likelihood[t], rtol=0, atol=1e-9)
            t += 1
    assert t == batch.times.size
    return t


@pytest.mark.slow  # two XLA compilations: about 20 s on a busy 2-core machine
def test_live_ukf_on_built_steps_equals_track_on_simulator(sim_events: list) -> None:
    tickers, tr, top, decisions, close = sim_events[0]
    wx = np.random.default_rng(1).dirichlet(np.ones(len(tickers)), len(decisions))
    assert _live_matches_track(tickers, tr, decisions, close, book=top, weather=wx) > 50


# --- no look-ahead -------------------------------------------------------------------------


def _step_at(events: list, decisions: list[int], s: int) -> object:
    builder = step_builder(TICKERS, T0 + 24 * 60 * NS_MIN, decisions)
    steps = {ts.time_ns: ts for ts in fold_steps(builder, events)}
    return steps[s]


@pytest.mark.parametrize("with_tick", [True, False])
def test_a_trade_stamped_at_a_decision_instant_is_not_in_its_step(with_tick: bool) -> None:
    t = T0 + 60 * NS_MIN
    before = TradePrint(t - 1, t - 1, TICKERS[1], 2000, 300, "yes")
    at = TradePrint(t, t, TICKERS[1], 9000, 5000, "yes")
    events = [
        before,
        *([Tick(t, t)] if with_tick else []),
        at,
        Tick(t + 60 * NS_MIN, t + 60 * NS_MIN),
    ]
    step = _step_at(events, [t, t + 60 * NS_MIN], t)
    assert step.decision
    assert step.step.price[1] == 0.2 and step.step.volume[1] == 3.0
    assert step.step.staleness_h[1] == 1 / 3.6e12
    nxt = _step_at(events, [t, t + 60 * NS_MIN], t + 10 * NS_MIN)  # the next bin has it
    assert nxt.step.price[1] == 0.9 and nxt.step.volume[1] == 50.0


def test_a_quote_at_a_bin_end_belongs_to_the_next_bin() -> None:
    s = T0 + 10 * NS_MIN
    events = [
        Quote(s - 1, s - 1, TICKERS[0], 2000, 2400, 100, 300),
        Quote(s, s, TICKERS[0], 5000, 5200),
        Tick(s + 10 * NS_MIN, s + 10 * NS_MIN),
    ]
    steps = fold_steps(step_builder(TICKERS, s + 600 * NS_MIN), events)
    assert [x.time_ns for x in steps] == [s, s + 10 * NS_MIN]
    first, second = (x.step for x in steps)
    assert first.price[0] == 0.22 and first.volume[0] == 2.0
    assert second.price[0] == 0.51 and second.volume[0] == 0.0


def test_steps_come_out_when_the_clock_reaches_them() -> None:
    b = step_builder(TICKERS, T0 + 600 * NS_MIN, [T0 + 30 * NS_MIN, T0 + 60 * NS_MIN])
    state = b.init(None)
    state, info = b.update(state, TradePrint(T0 + 1, T0 + 1, TICKERS[0], 100, 100, "no"), None)
    assert info.steps == ()
    end = T0 + 10 * NS_MIN
    state, info = b.update(state, Quote(end - 1, end - 1, "OTHER-EVENT", 1, 2), None)
    assert info.steps == ()  # another event's quote: ignored, and its bin is not active
    # one event past both decisions completes the bin end and the two decision steps
    state, info = b.update(state, Tick(T0 + 65 * NS_MIN, T0 + 65 * NS_MIN), None)
    assert [(x.time_ns - T0) // NS_MIN for x in info.steps] == [10, 30, 60]
    assert [x.decision for x in info.steps] == [False, True, True]
    np.testing.assert_allclose([float(x.step.dt) for x in info.steps], [0.0, 1 / 3, 0.5])
    assert isinstance(state, BuilderState) and state.due_ns == 2**63 - 1


def test_weather_pmf_is_observed_once_at_the_next_decision() -> None:
    d1, d2 = T0 + 30 * NS_MIN, T0 + 60 * NS_MIN
    pmf = (0.1, 0.2, 0.3, 0.4)
    events = [WeatherPMF(T0, T0, pmf), TradePrint(d1 + 1, d1 + 1, TICKERS[0], 1, 1, "yes")]
    steps = fold_steps(step_builder(TICKERS, d2, [d1, d2]), [*events, Tick(d2, d2)])
    assert [x.time_ns for x in steps] == [d1, d1 + 10 * NS_MIN, d2]
    np.testing.assert_allclose(steps[0].step.weather_alr, np.log([0.25, 0.5, 0.75]))
    assert np.isnan(steps[1].step.weather_alr).all() and np.isnan(steps[2].step.weather_alr).all()


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (TradePrint(T0, T0, "E-OTHER", 100, 100, "yes"), "outside the ladder"),
        (TradePrint(T0, T0, TICKERS[0], 10_001, 100, "yes"), "yes_price_cc=10001"),
        (TradePrint(T0, T0, TICKERS[0], 100, -1, "yes"), "count_centi=-1"),
        (Quote(T0, T0, TICKERS[0], -5, 200), "yes_bid_cc=-5"),
        (Quote(T0, T0, TICKERS[0], 100, 200, None, -1), "yes_ask_size_centi=-1"),
        (WeatherPMF(T0, T0, (0.5, 0.5)), r"shape \(2,\)"),
        (WeatherPMF(T0, T0, (0.5, float("nan"), 0.2, 0.3)), "finite"),
        (Tick(T0 - 1, T0 - 1), "before the builder's clock"),
    ],
)
def test_bad_events_raise(event: object, match: str) -> None:
    b = step_builder(TICKERS, T0 + 600 * NS_MIN, [T0 + 60 * NS_MIN])
    state, _ = b.update(b.init(None), Tick(T0, T0), None)
    with pytest.raises(ValueError, match=match):
        b.update(state, event, None)


def test_bad_builder_arguments_raise() -> None:
    with pytest.raises(ValueError, match="grid"):
        step_builder(TICKERS, T0, [T0 + 5 * NS_MIN])
    with pytest.raises(ValueError, match="distinct"):
        step_builder(["a", "a"], T0)
    with pytest.raises(ValueError, match="observe"):
        step_builder(TICKERS, T0, config=StepConfig(observe="mid"))


# --- every real event ----------------------------------------------------------------------


def _real_events(store) -> list:
    """Per event of the store with trades or book tops: ladder, trades, tops, decisions."""
    trades = store.query("SELECT event_ticker, ticker, ts, yes_price_cc, count_centi FROM trades")
    top = store.query(
        "SELECT event_ticker, ts, ticker, yes_bid_cc, no_bid_cc, yes_bid_size_centi, "
        "yes_ask_size_centi FROM book_top"
    )
    markets = store.query("SELECT event_ticker, ticker FROM markets ORDER BY event_ticker, ticker")
    close = dict(store.query("SELECT event_ticker, window_end FROM events").itertuples(index=False))
    by_trades, by_top = (
        dict(iter(trades.groupby("event_ticker"))),
        dict(iter(top.groupby("event_ticker"))),
    )
    ladders = {e: list(dict.fromkeys(g["ticker"])) for e, g in markets.groupby("event_ticker")}
    h3 = 3 * 3600 * 10**9
    out = []
    for e in sorted(set(by_trades) | set(by_top)):
        tr, bk = by_trades.get(e), by_top.get(e)
        frames = [f for f in (tr, bk) if f is not None]
        tickers = ladders.get(e, [])
        tickers += sorted(set().union(*(set(f["ticker"]) for f in frames)) - set(tickers))
        ts = pd.concat([f["ts"] for f in frames])
        lo, hi = ts.min().value // h3 * h3, (ts.max().value // h3 + 2) * h3
        decisions = [pd.Timestamp(x, tz="UTC") for x in range(lo, hi, h3)]
        out.append((e, tickers, tr, bk, decisions, pd.Timestamp(close.get(e, ts.max()))))
    return out


@pytest.fixture(scope="module")
def real_events(real_store) -> list:
    return _real_events(real_store)


@pytest.mark.realdata
@pytest.mark.slow
def test_fold_equals_batch_on_every_real_event(real_events: list, real_store) -> None:
    n_trade = real_store.query("SELECT count(DISTINCT event_ticker) AS n FROM trades")["n"][0]
    n_top = real_store.query("SELECT count(DISTINCT event_ticker) AS n FROM book_top")["n"][0]
    assert len(real_events) >= max(n_trade, n_top) > 0
    rows = 0
    for e, tickers, tr, bk, decisions, close in real_events:
        for observe in MODES:
            try:
                rows += _both(tickers, tr, decisions, close, StepConfig(observe=observe), book=bk)
            except AssertionError as exc:
                raise AssertionError(f"{e} observe={observe}: {exc}") from exc
    assert rows > 100_000


@pytest.mark.realdata
@pytest.mark.slow
def test_live_ukf_on_built_steps_equals_track_on_a_real_event(real_events: list) -> None:
    busiest = max((ev for ev in real_events if ev[2] is not None), key=lambda ev: len(ev[2]))
    _, tickers, tr, bk, decisions, close = busiest
    assert _live_matches_track(tickers, tr, decisions, close, book=bk) > 100
