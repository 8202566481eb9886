"""The bracket UKF as a pipeline component: incremental step inputs, the compiled live step.

Per ladder: the market events (after the state applied them) feed the incremental step
builder (:func:`~models.bracket_pmf.incremental.step_builder`); a book event is turned into
the :class:`~kbayes.market.events.Quote` of the state's top of book (``None`` sides when the
book is stale or one-sided), so a tape's L2 stream and a stored best bid/ask log reach the
builder in the same form. At each tick the builder emits the steps that the clock completed
(bin ends with activity, decision instants) and each goes through the packed live UKF step
(:func:`~models.bracket_pmf.live.live_ukf`), the same compiled function live trading calls.

Columns: ``pmf`` (the filtered bracket PMF after the last completed step; ``nan`` before
the first) and ``ukf_steps`` (steps so far, the same in every bracket's row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kbayes.market.events import BookDelta, BookSnapshot, BookStatus, Event, Quote, Tick
from kbayes.state import MarketState, WeatherState
from kbayes.step import PackedAlgorithm
from models.bracket_pmf.incremental import step_builder
from models.bracket_pmf.live import live_pmf, live_ukf
from models.bracket_pmf.params import BracketPMFParams
from models.bracket_pmf.steps import DEFAULT_STEP_CONFIG, StepConfig

_BOOK = (BookDelta, BookSnapshot, BookStatus)
_LIVE: dict[tuple, PackedAlgorithm] = {}


def _compiled(params: BracketPMFParams, k: int) -> PackedAlgorithm:
    """The packed live step for ``(params, K)``, compiled once per process.

    A season replays hundreds of ladders with the same parameters and a handful of ladder
    sizes; compiling per ladder cost more (seconds) than replaying its day.
    """
    key = (k, *(np.asarray(v).dtype.str for v in params), *(float(v) for v in params))
    live = _LIVE.get(key)
    if live is None:
        live = _LIVE[key] = live_ukf(params, k)
    return live


class UKFComponent:
    """The bracket UKF of one ladder (see the module docstring)."""

    name = "ukf"

    def __init__(
        self,
        tickers: Sequence[str],
        close_ns: int,
        params: BracketPMFParams,
        decisions_ns: Sequence[int] = (),
        config: StepConfig = DEFAULT_STEP_CONFIG,
    ) -> None:
        self.builder = step_builder(tickers, close_ns, decisions_ns, config)
        self.state = self.builder.init(None)
        self.live = _compiled(params, len(tickers))
        self.carry = self.live.init
        self.pmf: list[float] = [math.nan] * len(tickers)
        self.n_steps = 0

    def _run(self, steps) -> None:
        for timed in steps:
            self.carry = self.live.update(self.carry, self.live.pack_obs(timed.step))
            self.n_steps += 1
        if steps:
            self.pmf = live_pmf(self.live, self.carry)[0].tolist()

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        kind = type(ev)
        if kind in _BOOK:
            top = market.top(k)
            if top is None:
                ev = Quote(ev.available_ns, ev.ts_ns, ev.ticker, None, None)
            else:
                ev = Quote(
                    ev.available_ns, ev.ts_ns, ev.ticker,
                    top.bid_cc if top.bid_cc >= 0 else None,
                    top.ask_cc if top.ask_cc >= 0 else None,
                    top.bid_size_centi, top.ask_size_centi,
                )  # fmt: skip
        self.state, info = self.builder.update(self.state, ev, None)
        self._run(info.steps)

    def on_tick(
        self,
        t_ns: int,
        market: MarketState,
        weather: WeatherState | None,
        columns: dict,
    ) -> None:
        del weather
        self.state, info = self.builder.update(self.state, Tick(t_ns, t_ns), None)
        self._run(info.steps)
        columns["pmf"] = self.pmf
        columns["ukf_steps"] = [float(self.n_steps)] * len(market)
