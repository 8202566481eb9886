"""The bracket UKF's step inputs, built one event at a time (replay and live share it).

:func:`step_builder` builds the :class:`BracketStep`\\ s of one event from the clock's
ordered stream of typed events (:mod:`kbayes.market.events`);
:func:`~models.bracket_pmf.steps.build_event_steps` (whole-day frames, for research and the
experiment kinds) is its fold (:func:`fold_event_steps` over :func:`frame_events`), so the
live UKF step (:func:`~models.bracket_pmf.live.live_ukf`) is fed exactly what replay feeds
it. It follows the house step contract::

    builder = step_builder(tickers, close_ns, decisions_ns, config)
    state = builder.init(None)
    state, info = builder.update(state, event, None)  # info.steps: the steps now complete

**Time.** An event's time is its ``available_ns`` (when it became knowable: the clock's
order), so a step at ``s`` holds exactly the events the clock released before ``s``. For a
store replay with no publication lag that is the row's ``ts``. Time is cut into bins of
``w = bin_minutes`` aligned on the UTC epoch; bin ``[s - w, s)`` ends at the grid point
``s``. An event stamped exactly at ``s`` belongs to the *next* bin (a decision at ``s``
sees data stamped strictly before ``s``). Events must come in non-decreasing time; an
earlier one raises (its bin's step may already be out).

**When a step is emitted.** At the end ``s`` of every bin in which something happened (a
trade or a quote of a ladder bracket) and at every decision instant (which must lie on the
grid). A step at ``s`` is complete as soon as the clock reaches ``s``: the first event (a
:class:`~kbayes.market.events.Tick` or anything else) with time ``>= s`` emits it *before*
being applied. One event can complete several steps (the active bin's end, then the
decision instants it jumped over); they come out in time order. Unlike the batch builder,
steps after the last decision instant are still emitted (live has no "last" instant);
:func:`fold_event_steps` drops them to match the batch.

**A step at ``s``, bracket ``k``** (the batch's semantics, :mod:`models.bracket_pmf.steps`):

* trades of one bracket with the same time are one print at their volume-weighted price
  ``sum(p_i n_i) / sum(n_i)`` (the plain mean when every count is 0), computed from the
  exact integers (centi-cents times centi-contracts) and rounded once;
* book: the last :class:`~kbayes.market.events.Quote` of ``k`` before ``s`` wins ("last
  snapshot wins"); when it is two-sided and not crossed (``ask >= bid``) the price is its
  mid ``(bid + ask) / 2``, the half-spread ``(ask - bid) / 2``, and the top depth
  ``(bid_size + ask_size) / 2`` (a missing size counts 0) is added to the volume;
* otherwise the last print before ``s`` with half-spread ``trade_half_spread``: always
  (``observe="last"``), or only if it lies in ``[s - w, s)`` (``observe="fresh"``);
* missing (``NaN``, half-spread 0) when there is neither;
* ``staleness_h = min((s - t_last) / 1 h, max_staleness_h)`` (the cap when never traded),
  ``volume`` = contracts traded in ``[s - w, s)`` (plus depth, above),
  ``dt`` = hours since the previous step (0 for the first),
  ``weather_hours_left = (close - s) / 1 h``;
* ``weather_alr``: at a decision step, the alr of the last :class:`WeatherPMF` received since
  the previous decision step (floored and renormalised as in the batch); ``NaN`` otherwise.

Bad input raises ``ValueError`` naming the field and value: a trade of a ticker outside the
ladder, a price outside ``[0, $1]``, a negative count or size, a weather PMF of the wrong
length or not finite, an event earlier than the clock, decision instants off the grid.
A quote of a ticker outside the ladder is ignored (the batch filters the book the same way);
event types the builder does not read (L2 snapshots and deltas, candles, lifecycle, weather
reports, forecasts) only advance its clock: the market state turns L2 books into quotes.

Cost: a trade or quote is two NamedTuple constructions and a tuple splice (about 6.6 µs of
CPU per event measured on a busy shared 2-core machine where one 10-field NamedTuple costs
0.9 µs; steps emitted included); emitting a step builds seven small NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from jaxtyping import Float

from kbayes.market.events import Quote, Tick, TradePrint
from kbayes.market.prices import CC_PER_DOLLAR, CENTI_PER_CONTRACT
from kbayes.step import StepAlgorithm
from models.bracket_pmf.model import BracketStep
from models.bracket_pmf.steps import (
    DEFAULT_STEP_CONFIG,
    NS_PER_HOUR,
    OBSERVE_MODES,
    EventSteps,
    StepConfig,
    _to_ns,
    _weather_alr,
)

NEVER = -(2**63)  # the clock before the first event
NONE = 2**63 - 1  # no step instant pending
NAN = float("nan")


class WeatherPMF(NamedTuple):
    """A weather PMF over the ladder, observed at the next decision step.

    Attributes:
        available_ns, ts_ns: see :mod:`kbayes.market.events`.
        pmf: ``K`` probabilities in bracket order (finite; floored and renormalised).
    """

    available_ns: int
    ts_ns: int
    pmf: tuple[float, ...]


class BracketState(NamedTuple):
    """What one bracket carries from event to event.

    Attributes:
        last_ns: time of its last (merged) print, ``NEVER`` before the first.
        price: the merged print's price (probability units), ``NaN`` before the first.
        pv: ``sum(price_cc * count_centi)`` of the prints at ``last_ns`` (exact).
        v: ``sum(count_centi)`` of the prints at ``last_ns``.
        p: ``sum(price_cc)`` of the prints at ``last_ns``.
        n: number of prints at ``last_ns``.
        bin_centi: centi-contracts traded in the open bin.
        mid: mid of the last quote when two-sided and not crossed, else ``NaN``.
        half: its half-spread (0 when ``mid`` is ``NaN``).
        depth: its top depth ``(bid_size + ask_size) / 2`` in contracts.
    """

    last_ns: int
    price: float
    pv: int
    v: int
    p: int
    n: int
    bin_centi: int
    mid: float
    half: float
    depth: float


EMPTY_BRACKET = BracketState(NEVER, NAN, 0, 0, 0, 0, 0, NAN, 0.0, 0.0)


class BuilderState(NamedTuple):
    """The builder's state (tickers, close, decisions and config are bound, not stored).

    Attributes:
        clock_ns: time of the last event absorbed (``NEVER`` before the first).
        open_end_ns: end of the bin that holds unemitted activity, ``NONE`` when none.
        next_decision: index of the first decision instant not yet emitted.
        due_ns: the next step instant (``min(open_end_ns, next decision)``, ``NONE`` when
            none): the first event at or after it completes that step.
        prev_step_ns: time of the last emitted step (``NEVER`` before the first).
        weather_alr: the pending weather row for the next decision step, or ``None``.
        brackets: one :class:`BracketState` per bracket.
    """

    clock_ns: int
    open_end_ns: int
    next_decision: int
    due_ns: int
    prev_step_ns: int
    weather_alr: tuple[float, ...] | None
    brackets: tuple[BracketState, ...]


class TimedStep(NamedTuple):
    """One emitted step.

    Attributes:
        time_ns: the step instant ``s`` (a grid point).
        decision: whether ``s`` is a decision instant.
        step: the :class:`BracketStep` (NumPy: 0-d ``dt``/``weather_hours_left``, ``(K,)``
            rows, ``(K-1,)`` weather row), ready for ``live.pack_obs``.
    """

    time_ns: int
    decision: bool
    step: BracketStep


class BuilderInfo(NamedTuple):
    """What one event completed.

    Attributes:
        steps: the steps the event completed, in time order (usually none).
    """

    steps: tuple[TimedStep, ...]


NO_STEPS = BuilderInfo(())


def _check_config(config: StepConfig) -> int:
    if config.observe not in OBSERVE_MODES:
        raise ValueError(f"observe={config.observe!r}: one of {OBSERVE_MODES}")
    if config.bin_minutes <= 0:
        raise ValueError(f"bin_minutes={config.bin_minutes} must be positive")
    return config.bin_minutes * 60 * 10**9


def step_builder(
    tickers: Sequence[str],
    close_ns: int,
    decisions_ns: Sequence[int] = (),
    config: StepConfig = DEFAULT_STEP_CONFIG,
) -> StepAlgorithm[BuilderState, BuilderInfo]:
    """The incremental step builder of one event (see the module docstring).

    Args:
        tickers: the ladder's tickers in bracket order (``K``, distinct).
        close_ns: end of the climate day (int ns, UTC), for ``weather_hours_left``.
        decisions_ns: decision instants (int ns, on the bin grid; any order, repeats merge).
        config: binning and feature options (the batch builder's :class:`StepConfig`).

    Returns:
        ``StepAlgorithm(init, update)``: ``init(key) -> BuilderState``,
        ``update(state, event, key) -> (BuilderState, BuilderInfo)``.
    """
    w = _check_config(config)
    tickers = tuple(tickers)
    k_num = len(tickers)
    if k_num < 1 or len(set(tickers)) != k_num:
        raise ValueError(f"tickers must be non-empty and distinct, got {list(tickers)}")
    decisions = tuple(sorted({int(d) for d in decisions_ns}))
    off = [d for d in decisions if d % w]
    if off:
        raise ValueError(
            f"decision instants must lie on the {config.bin_minutes}-minute grid (UTC epoch), "
            f"got decisions_ns={off[0]}"
        )
    index = {t: i for i, t in enumerate(tickers)}
    close_ns = int(close_ns)
    half_trade = float(config.trade_half_spread)
    cap = float(config.max_staleness_h)
    fresh_only = config.observe == "fresh"
    n_dec = len(decisions)
    no_weather = np.full(max(k_num - 1, 0), np.nan)

    def due(open_end: int, next_decision: int) -> int:
        return min(open_end, decisions[next_decision] if next_decision < n_dec else NONE)

    def emit(state: BuilderState, s: int, decision: bool) -> tuple[BuilderState, TimedStep]:
        """The step at grid point ``s`` from the state (every event in it is before ``s``)."""
        with_bin = s == state.open_end_ns
        start = s - w
        price, half, stale, vol = [], [], [], []
        for b in state.brackets:
            traded = b.last_ns != NEVER
            v = b.bin_centi / CENTI_PER_CONTRACT if with_bin else 0.0
            if traded and (not fresh_only or b.last_ns >= start):
                px, hs = b.price, half_trade
            else:
                px, hs = NAN, 0.0
            if b.mid == b.mid:  # a two-sided book overrides the trade price
                px, hs, v = b.mid, b.half, v + b.depth
            price.append(px)
            half.append(hs)
            vol.append(v)
            stale.append(min((s - b.last_ns) / NS_PER_HOUR, cap) if traded else cap)
        wx = no_weather
        if decision and state.weather_alr is not None:
            wx = np.array(state.weather_alr)
        dt = 0.0 if state.prev_step_ns == NEVER else (s - state.prev_step_ns) / NS_PER_HOUR
        step = BracketStep(
            dt=np.asarray(dt),
            price=np.array(price),
            half_spread=np.array(half),
            staleness_h=np.array(stale),
            volume=np.array(vol),
            weather_alr=wx,
            weather_hours_left=np.asarray((close_ns - s) / NS_PER_HOUR),
        )
        brackets, open_end = state.brackets, state.open_end_ns
        if with_bin:  # the bin's volume is spent
            brackets = tuple(b._replace(bin_centi=0) for b in brackets)
            open_end = NONE
        nd = state.next_decision + (1 if decision else 0)
        new = BuilderState(
            state.clock_ns,
            open_end,
            nd,
            due(open_end, nd),
            s,
            None if decision else state.weather_alr,
            brackets,
        )
        return new, TimedStep(s, decision, step)

    def advance(state: BuilderState, t: int) -> tuple[BuilderState, BuilderInfo]:
        """Emit every step due at or before ``t`` (its data all lies before ``t``)."""
        out = []
        while state.due_ns <= t:
            s = state.due_ns
            nd = state.next_decision
            state, timed = emit(state, s, nd < n_dec and decisions[nd] == s)
            out.append(timed)
        return state, BuilderInfo(tuple(out))

    def init(key: Any = None) -> BuilderState:
        del key  # deterministic
        return BuilderState(NEVER, NONE, 0, due(NONE, 0), NEVER, None, (EMPTY_BRACKET,) * k_num)

    def update(
        state: BuilderState, event: Any, key: Any = None
    ) -> tuple[BuilderState, BuilderInfo]:
        del key
        t = event.available_ns
        if t < state.clock_ns:
            raise ValueError(
                f"{type(event).__name__} available_ns={t} is before the builder's clock "
                f"({state.clock_ns}): events must come in clock order"
            )
        info = NO_STEPS
        if t >= state.due_ns:  # the clock reached a step instant: it is complete
            state, info = advance(state, t)
        kind = type(event)
        if kind is TradePrint:
            k = index.get(event.ticker)
            if k is None:
                raise ValueError(f"trade of ticker={event.ticker!r} outside the ladder {tickers}")
            cc, n = event.yes_price_cc, event.count_centi
            if not 0 <= cc <= CC_PER_DOLLAR:
                raise ValueError(f"trade yes_price_cc={cc} outside [0, {CC_PER_DOLLAR}]")
            if n < 0:
                raise ValueError(f"trade count_centi={n} is negative")
            b = state.brackets[k]
            if b.last_ns == t:  # same time: one print at the volume-weighted price
                pv, v, p, m = b.pv + cc * n, b.v + n, b.p + cc, b.n + 1
            else:
                pv, v, p, m = cc * n, n, cc, 1
            # exact integers, rounded once (int / int is correctly rounded)
            px = pv / (v * CC_PER_DOLLAR) if v > 0 else p / (m * CC_PER_DOLLAR)
            b = BracketState(t, px, pv, v, p, m, b.bin_centi + n, b.mid, b.half, b.depth)
        elif kind is Quote:
            k = index.get(event.ticker)
            if k is None:  # another event's market: the batch filters the book the same way
                return _at(state, t, state.weather_alr), info
            b = _quoted(state.brackets[k], event)
        elif kind is WeatherPMF:
            return _at(state, t, _alr_row(event.pmf, k_num)), info
        else:  # ticks and event types the builder does not read: the clock only
            return _at(state, t, state.weather_alr), info
        open_end = (t // w + 1) * w
        return (
            BuilderState(
                t,
                open_end,
                state.next_decision,
                min(open_end, state.due_ns),
                state.prev_step_ns,
                state.weather_alr,
                (*state.brackets[:k], b, *state.brackets[k + 1 :]),
            ),
            info,
        )

    return StepAlgorithm(init=init, update=update)


def _at(state: BuilderState, t: int, weather_alr: tuple[float, ...] | None) -> BuilderState:
    """The state with its clock at ``t`` (and the pending weather row), nothing else new."""
    return BuilderState(
        t,
        state.open_end_ns,
        state.next_decision,
        state.due_ns,
        state.prev_step_ns,
        weather_alr,
        state.brackets,
    )


def _quoted(b: BracketState, q: Quote) -> BracketState:
    """The bracket after a top-of-book quote (the batch's float formulas, same order)."""
    bid_cc, ask_cc = q.yes_bid_cc, q.yes_ask_cc
    for name, x in (("yes_bid_cc", bid_cc), ("yes_ask_cc", ask_cc)):
        if x is not None and not 0 <= x <= CC_PER_DOLLAR:
            raise ValueError(f"quote {q.ticker}: {name}={x} outside [0, {CC_PER_DOLLAR}]")
    depth = 0.0
    for name, x in (
        ("yes_bid_size_centi", q.yes_bid_size_centi),
        ("yes_ask_size_centi", q.yes_ask_size_centi),
    ):
        if x is not None:
            if x < 0:
                raise ValueError(f"quote {q.ticker}: {name}={x} is negative")
            depth += 0.5 * (x / CENTI_PER_CONTRACT)
    mid, half = NAN, 0.0
    if bid_cc is not None and ask_cc is not None:
        bid = bid_cc / CC_PER_DOLLAR
        # the ask as $1 minus the best NO bid, as the batch computes it from book_top
        ask = 1.0 - (CC_PER_DOLLAR - ask_cc) / CC_PER_DOLLAR
        if ask >= bid:
            mid, half = 0.5 * (bid + ask), 0.5 * (ask - bid)
    depth = depth if mid == mid else 0.0
    return BracketState(b.last_ns, b.price, b.pv, b.v, b.p, b.n, b.bin_centi, mid, half, depth)


def _alr_row(pmf: Sequence[float], k_num: int) -> tuple[float, ...] | None:
    row = np.asarray(pmf, dtype=float)
    if row.shape != (k_num,):
        raise ValueError(f"weather pmf has shape {row.shape}, expected ({k_num},)")
    if not np.all(np.isfinite(row)):
        raise ValueError(f"weather pmf must be finite, got {row.tolist()}")
    if k_num < 2:
        return None
    return tuple(_weather_alr(row).tolist())


def _whole(col: pd.Series, name: str) -> list[int]:
    """An integer column as Python ints (a fractional or missing value is an error)."""
    if col.dtype.kind in "iu":
        return col.to_numpy(dtype=np.int64).tolist()
    x = col.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(x) & (x == np.round(x))
    if not ok.all():
        raise ValueError(f"{name}={x[~ok][0]} is not a whole number")
    return x.astype(np.int64).tolist()


def frame_events(
    tickers: Sequence[str],
    trades: pd.DataFrame | None,
    book: pd.DataFrame | None = None,
    decisions_ns: Sequence[int] = (),
    weather: Float[np.ndarray, "J K"] | None = None,
) -> list[Any]:
    """The batch builder's frames as the clock's event stream (``available_ns = ts``).

    Trades become :class:`~kbayes.market.events.TradePrint`, book rows
    :class:`~kbayes.market.events.Quote` (``yes_ask = $1 - no_bid``), each finite weather row
    ``j`` a :class:`WeatherPMF` 1 ns before decision instant ``j`` (observed there), plus a
    :class:`~kbayes.market.events.Tick` at every decision instant and one at the end of the
    last bin with data (so every step is completed). Ordered as the clock orders them: by
    time, a tick before the data at its instant, rows of one frame in their frame order.
    """
    times: list[int] = []
    ranks: list[int] = []
    objs: list[Any] = []
    if trades is not None and not trades.empty:
        ts = _to_ns(trades["ts"]).tolist()
        cols = zip(
            ts,
            trades["ticker"].tolist(),
            _whole(trades["yes_price_cc"], "trade yes_price_cc"),
            _whole(trades["count_centi"], "trade count_centi"),
            strict=True,
        )
        objs += [TradePrint(t, t, tk, cc, n, "") for t, tk, cc, n in cols]
        times += ts
        ranks += [2] * len(ts)
    if book is not None and not book.empty:
        ts = _to_ns(book["ts"]).tolist()

        def col(name: str) -> list[int | None]:
            if name not in book.columns:
                return [None] * len(book)
            x = book[name].to_numpy(dtype=np.float64, na_value=np.nan)
            ok = np.isnan(x) | (x == np.round(x))
            if not ok.all():
                raise ValueError(f"book {name}={x[~ok][0]} is not a whole number")
            return [None if v != v else int(v) for v in x.tolist()]

        rows = zip(
            ts,
            book["ticker"].tolist(),
            col("yes_bid_cc"),
            col("no_bid_cc"),
            col("yes_bid_size_centi"),
            col("yes_ask_size_centi"),
            strict=True,
        )
        objs += [
            Quote(t, t, tk, bid, None if nob is None else CC_PER_DOLLAR - nob, bs, az)
            for t, tk, bid, nob, bs, az in rows
        ]
        times += ts
        ranks += [3] * len(ts)
    decisions = [int(d) for d in decisions_ns]
    if weather is not None:
        weather = np.asarray(weather, dtype=float)
        if weather.shape != (len(decisions), len(tickers)):
            raise ValueError(f"weather must have shape {(len(decisions), len(tickers))}")
        for d, row in zip(decisions, weather, strict=True):
            if np.all(np.isfinite(row)):
                objs.append(WeatherPMF(d - 1, d - 1, tuple(row.tolist())))
                times.append(d - 1)
                ranks.append(1)
    objs += [Tick(d, d) for d in decisions]
    times += decisions
    ranks += [0] * len(decisions)
    if times and not decisions:  # no instant to stop at: a tick after everything flushes
        far = max(times) + 366 * 24 * NS_PER_HOUR
        objs.append(Tick(far, far))
        times.append(far)
        ranks.append(0)
    # stable: rows of one frame keep their order (same-time quotes: the last one wins)
    order = np.lexsort((np.asarray(ranks), np.asarray(times, dtype=np.int64)))
    return [objs[i] for i in order.tolist()]


def fold_steps(
    builder: StepAlgorithm[BuilderState, BuilderInfo], events: Iterable[Any]
) -> list[TimedStep]:
    """Every step the builder emits over ``events`` (a replay of the live path)."""
    state = builder.init(None)
    update = builder.update
    out: list[TimedStep] = []
    for ev in events:
        state, info = update(state, ev, None)
        if info.steps:
            out.extend(info.steps)
    return out


def fold_event_steps(
    tickers: Sequence[str],
    trades: pd.DataFrame | None,
    decision_instants: Sequence[pd.Timestamp],
    close: pd.Timestamp,
    config: StepConfig = DEFAULT_STEP_CONFIG,
    book: pd.DataFrame | None = None,
    weather: Float[np.ndarray, "J K"] | None = None,
) -> EventSteps:
    """:func:`~models.bracket_pmf.steps.build_event_steps` as a fold of :func:`step_builder`.

    Same arguments and result layout (steps after the last decision instant dropped).
    """
    _check_config(config)
    decisions = _to_ns(list(decision_instants)) if len(decision_instants) else np.zeros(0, int)
    builder = step_builder(tickers, int(_to_ns([close])[0]), decisions.tolist(), config)
    events = frame_events(tickers, trades, book, decisions.tolist(), weather)
    timed = fold_steps(builder, events)
    if decisions.size:
        last = int(decisions.max())
        timed = [s for s in timed if s.time_ns <= last]
    times = np.array([s.time_ns for s in timed], dtype=np.int64)
    k_num = len(tickers)
    if timed:
        steps = BracketStep(*(np.stack(xs) for xs in zip(*(s.step for s in timed), strict=True)))
    else:
        steps = BracketStep(
            dt=np.zeros(0),
            price=np.zeros((0, k_num)),
            half_spread=np.zeros((0, k_num)),
            staleness_h=np.zeros((0, k_num)),
            volume=np.zeros((0, k_num)),
            weather_alr=np.zeros((0, max(k_num - 1, 0))),
            weather_hours_left=np.zeros(0),
        )
    return EventSteps(steps, times.astype("datetime64[ns]"), np.searchsorted(times, decisions))
