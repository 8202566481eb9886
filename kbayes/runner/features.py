"""Features (:mod:`kbayes.features`) as runner components: small adapters, no numerics.

A grid feature is stepped once per tick on an observation built from the columns already
written by earlier components (``price`` from :class:`~kbayes.runner.components.TopColumns`:
the mid, or the last trade where no two-sided book is known, as the bracket UKF reads it;
``ewm_acceleration`` from the EWM kinematics, ...); its info fields become columns. An
event feature is stepped on the events it reads and its state is read at each tick. The
online step here is exactly the function the feature's batch twin is tested equal to, so
a tick table is the research frame of the same numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kbayes.features.book_shape import BookShapeParams, book_levels, book_shape, levels_from_top
from kbayes.features.candles import candle_location
from kbayes.features.cusum import CusumParams, SeriesObs, cusum
from kbayes.features.flow import FlowParams, flow
from kbayes.features.hawkes_intensity import hawkes_intensity
from kbayes.features.kinematics import EwmParams, GridObs, ewm_kinematics
from kbayes.features.ladder_shape import LadderObs, LadderParams, ladder_shape
from kbayes.features.lead_lag import LeadLagParams, lead_lag
from kbayes.features.ofi import NO_PRICE, OfiParams, ofi
from kbayes.features.savgol import SavgolParams, savgol_kinematics
from kbayes.market.events import (
    BookDelta,
    BookSnapshot,
    BookStatus,
    Candle,
    Event,
    Quote,
    Tick,
    TradePrint,
)
from kbayes.market.prices import CC_PER_DOLLAR, CENTI_PER_CONTRACT
from kbayes.pointprocess.params import HawkesParams
from kbayes.state import MarketState, TopOfBook, WeatherState
from kbayes.step import StepAlgorithm

Columns = dict[str, Any]


class GridStep:
    """A grid feature: ``obs = make_obs(t_ns, columns)``, then info fields -> columns.

    ``outputs`` maps a column name to an info field; a scalar (ladder-wide) field is
    repeated in every bracket's row.
    """

    def __init__(
        self,
        name: str,
        algorithm: StepAlgorithm[Any, Any],
        make_obs: Callable[[int, Columns], Any],
        outputs: Mapping[str, str],
    ) -> None:
        self.name = name
        self.update = algorithm.update
        self.state = algorithm.init(None)
        self.make_obs = make_obs
        self.outputs = tuple(outputs.items())

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del weather
        self.state, info = self.update(self.state, self.make_obs(t_ns, columns), None)
        n = len(market)
        for column, field in self.outputs:
            value = getattr(info, field)
            columns[column] = value if np.ndim(value) else [float(value)] * n


class EventStep:
    """An event feature: stepped on events of ``kinds``; ``read(state)`` -> columns at ticks."""

    def __init__(
        self,
        name: str,
        algorithm: StepAlgorithm[Any, Any],
        kinds: tuple[type, ...],
        read: Callable[[Any, int], Columns],
    ) -> None:
        self.name = name
        self.update = algorithm.update
        self.state = algorithm.init(None)
        self.kinds = kinds
        self.read = read

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del k, market
        if type(ev) in self.kinds:
            self.state, _ = self.update(self.state, ev, None)

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del market, weather
        columns.update(self.read(self.state, t_ns))


def _mid(t_ns: int, columns: Columns) -> GridObs:
    return GridObs(t_ns, np.asarray(columns["price"], dtype=float))


def ewm_component(params: EwmParams, k: int) -> GridStep:
    """EWM velocity and acceleration of each bracket's mid (probability per second, per
    second squared): ``ewm_velocity``, ``ewm_acceleration``."""
    return GridStep(
        "ewm",
        ewm_kinematics(params, k),
        _mid,
        {"ewm_velocity": "velocity", "ewm_acceleration": "acceleration"},
    )


def savgol_component(params: SavgolParams, k: int) -> GridStep:
    """Causal Savitzky-Golay velocity and acceleration: ``sg_velocity``, ``sg_acceleration``."""
    return GridStep(
        "savgol",
        savgol_kinematics(params, k),
        _mid,
        {"sg_velocity": "velocity", "sg_acceleration": "acceleration"},
    )


def ladder_component(params: LadderParams, k: int, acceleration: str = "ewm_acceleration"):
    """Relative acceleration and the ladder's centre of mass (after a kinematics step)."""

    def obs(t_ns: int, columns: Columns) -> LadderObs:
        return LadderObs(
            t_ns,
            np.asarray(columns["price"], dtype=float),
            np.asarray(columns[acceleration], dtype=float),
        )

    return GridStep(
        "ladder",
        ladder_shape(params, k),
        obs,
        {
            "rel_accel_max": "rel_accel_max",
            "rel_accel_mean": "rel_accel_mean",
            "centre": "centre",
            "centre_velocity": "centre_velocity",
        },
    )


def cusum_component(params: CusumParams, k: int, column: str, name: str) -> GridStep:
    """Two-sided CUSUM of a column: ``<name>_pos``, ``<name>_neg``, ``<name>_alarm``."""

    def obs(t_ns: int, columns: Columns) -> SeriesObs:
        return SeriesObs(t_ns, np.asarray(columns[column], dtype=float))

    return GridStep(
        name,
        cusum(params, k),
        obs,
        {f"{name}_pos": "s_pos", f"{name}_neg": "s_neg", f"{name}_alarm": "alarm"},
    )


class BadCandleWarning(UserWarning):
    """A stored candle contradicts itself (e.g. a close outside its low-high range)."""


class CandleComponent:
    """Close-location value of each bracket's last candle: ``clv``.

    A stored candle that contradicts itself (a close outside its low-high range, which some
    recorded OHLC feeds contain) is not a number to carry: that bracket's CLV becomes
    ``nan`` until its next good candle, and :attr:`bad` counts them.
    """

    name = "candles"

    def __init__(self, tickers: Sequence[str]) -> None:
        self.algorithm = candle_location(tickers)
        self.state = self.algorithm.init(None)
        self.index = {t: k for k, t in enumerate(tickers)}
        self.bad = 0

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del market
        if type(ev) is not Candle:
            return
        try:
            self.state, _ = self.algorithm.update(self.state, ev, None)
        except ValueError as exc:
            self.bad += 1
            if self.bad == 1:  # said once per ladder, naming the candle and the field
                warnings.warn(
                    f"{ev.ticker} candle ending {ev.ts.isoformat()}: {exc}; its CLV is nan "
                    "until the next good candle",
                    BadCandleWarning,
                    stacklevel=2,
                )
            clv = self.state.clv.copy()
            clv[k] = np.nan
            self.state = self.state._replace(clv=clv)

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del t_ns, market, weather
        columns["clv"] = self.state.clv


def candle_component(tickers: Sequence[str]) -> CandleComponent:
    """:class:`CandleComponent` of a ladder."""
    return CandleComponent(tickers)


_BOOK_EVENTS = (BookDelta, BookSnapshot, BookStatus, Quote)
_NO_TOP = TopOfBook(0, NO_PRICE, 0, NO_PRICE, 0)


class OfiComponent:
    """Order-flow imbalance (Cont, Kukanov & Stoikov 2014) and queue imbalance per bracket.

    Each bracket's OFI step is fed the state's top of book after every book event that
    changed it (an unchanged top adds exactly 0 to OFI); a stale book restarts the bracket's
    step (OFI across a gap would count the resync as flow), and so does a quote without its
    sizes. Columns ``ofi_<w>s`` (contracts) and ``queue_imbalance``.
    """

    name = "ofi"

    def __init__(self, params: OfiParams, k: int) -> None:
        self.algorithm = ofi(params)
        self.windows = tuple(params.windows_s)
        self.states = [self.algorithm.init(None) for _ in range(k)]
        self.last: list[tuple[int, int, int, int] | None] = [None] * k

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        if type(ev) not in _BOOK_EVENTS:
            return
        top = market.top(k)
        if top is not None and (
            (top.bid_cc >= 0 and top.bid_size_centi <= 0)
            or (top.ask_cc >= 0 and top.ask_size_centi <= 0)
        ):
            top = None  # a quote without its sizes (some stored logs): no queue to count
        if top is None:  # stale or unknown: the next fresh top starts a new OFI
            if self.last[k] is not None:
                self.states[k] = self.algorithm.init(None)
                self.last[k] = None
            return
        key = (top.bid_cc, top.bid_size_centi, top.ask_cc, top.ask_size_centi)
        if key == self.last[k]:
            return
        self.last[k] = key
        self.states[k], _ = self.algorithm.update(self.states[k], top, None)

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del market, weather
        tick = Tick(t_ns, t_ns)
        # A bracket with no usable top (never quoted with sizes, stale) has no OFI: nan,
        # not the 0 of an empty window.
        infos = [
            None if last is None else self.algorithm.update(s, tick, None)[1]
            for s, last in zip(self.states, self.last, strict=True)
        ]
        nan = math.nan
        for i, w in enumerate(self.windows):
            columns[f"ofi_{w:g}s"] = [
                nan if f is None else f.ofi[i] / CENTI_PER_CONTRACT for f in infos
            ]
        columns["queue_imbalance"] = [nan if f is None else f.queue_imbalance for f in infos]


class FlowComponent:
    """Aggressive buy/sell contracts per window and rolling volume, per bracket (trades).

    Columns ``buy_<w>s``, ``sell_<w>s`` (contracts bought / sold by takers in the last ``w``
    seconds) and ``volume_<w>s``.
    """

    name = "flow"

    def __init__(self, params: FlowParams, k: int) -> None:
        self.algorithm = flow(params)
        self.params = params
        self.states = [self.algorithm.init(None) for _ in range(k)]
        self.last_ns = [None] * k  # time of each bracket's last print
        self.horizon_ns = round(max(*params.windows_s, *params.volume_windows_s) * 1e9)
        self.quiet = self.algorithm.update(self.algorithm.init(None), Tick(0, 0), None)[1]

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del market
        if type(ev) is TradePrint:
            self.states[k], _ = self.algorithm.update(self.states[k], ev, None)
            last = self.last_ns[k]
            self.last_ns[k] = ev.ts_ns if last is None else max(last, ev.ts_ns)

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del market, weather
        tick = Tick(t_ns, t_ns)
        # A bracket whose last print is older than every window has all-zero sums: the read
        # of an empty log, without walking the state's log.
        infos = [
            self.quiet
            if last is None or t_ns - last > self.horizon_ns
            else self.algorithm.update(s, tick, None)[1]
            for s, last in zip(self.states, self.last_ns, strict=True)
        ]
        for i, w in enumerate(self.params.windows_s):
            columns[f"buy_{w:g}s"] = [info.buy_centi[i] / CENTI_PER_CONTRACT for info in infos]
            columns[f"sell_{w:g}s"] = [info.sell_centi[i] / CENTI_PER_CONTRACT for info in infos]
        for i, w in enumerate(self.params.volume_windows_s):
            columns[f"volume_{w:g}s"] = [
                info.volume_centi[i] / CENTI_PER_CONTRACT for info in infos
            ]


class HawkesComponent:
    """Hawkes buy/sell intensities of the ladder's takers (fitted parameters):
    ``hawkes_buy``, ``hawkes_sell`` (events per model time unit)."""

    name = "hawkes"

    def __init__(self, params: HawkesParams, tickers: Sequence[str], origin_ns: int) -> None:
        self.algorithm = hawkes_intensity(params, tickers, origin_ns)
        self.state = self.algorithm.init(None)
        self.origin_ns = origin_ns
        self.before_origin = 0  # prints before the model's window (they excite nothing)

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del k, market
        if type(ev) is TradePrint:
            if ev.ts_ns < self.origin_ns:
                self.before_origin += 1
                return
            self.state, _ = self.algorithm.update(self.state, ev, None)

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del market, weather
        _, info = self.algorithm.update(self.state, Tick(t_ns, t_ns), None)
        columns["hawkes_buy"] = info.buy
        columns["hawkes_sell"] = info.sell


class BookShapeComponent:
    """Spread and top-``n`` depths of each bracket's book and the time to close, read at
    ticks from the state's book (or its top when only quotes are known): ``spread``
    (probability units, ``nan`` one-sided), ``bid_depth_<n>``, ``ask_depth_<n>``
    (contracts), ``hours_to_close``."""

    name = "book_shape"

    def __init__(self, params: BookShapeParams, k: int) -> None:
        self.algorithm = book_shape(params)
        self.params = params
        self.states = [self.algorithm.init(None) for _ in range(k)]
        self.depth = max(params.depth_levels)
        self.seen: list[tuple[int, bool] | None] = [None] * k  # book version last fed

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market  # read at ticks: the shape of the book in force then

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del weather
        infos = []
        for k, b in enumerate(market.brackets):
            # Every book event (delta, snapshot, status, quote) stamps top_ns: an unchanged
            # version is the book already fed, whose shape the state holds.
            version = (b.top_ns, b.stale)
            if version != self.seen[k]:
                self.seen[k] = version
                if b.book is not None and not b.stale:
                    obs = book_levels(t_ns - 1, b.book, self.depth)
                else:
                    top = market.top(k) or _NO_TOP
                    if (top.bid_cc >= 0 and top.bid_size_centi <= 0) or (
                        top.ask_cc >= 0 and top.ask_size_centi <= 0
                    ):  # a quote without its sizes: no depth (the spread is set below)
                        top = _NO_TOP
                    obs = levels_from_top(top._replace(t_ns=t_ns - 1))
                self.states[k], _ = self.algorithm.update(self.states[k], obs, None)
            infos.append(self.algorithm.update(self.states[k], Tick(t_ns, t_ns), None)[1])
        nan = math.nan
        spread = [nan if i.spread_cc < 0 else i.spread_cc / CC_PER_DOLLAR for i in infos]
        for k, top in enumerate(market.top(k) for k in range(len(infos))):
            if spread[k] != spread[k] and top is not None and top.two_sided:
                spread[k] = (top.ask_cc - top.bid_cc) / CC_PER_DOLLAR  # a quote without sizes
        columns["spread"] = spread
        for j, n in enumerate(self.params.depth_levels):
            columns[f"bid_depth_{n}"] = [
                max(i.bid_depth_centi[j], 0) / CENTI_PER_CONTRACT for i in infos
            ]
            columns[f"ask_depth_{n}"] = [
                max(i.ask_depth_centi[j], 0) / CENTI_PER_CONTRACT for i in infos
            ]
        columns["hours_to_close"] = [infos[0].time_to_close_h] * len(infos)


class LeadLagComponent:
    """Adjacent-bracket lead/lag of mid changes; a pair ``(j, j+1)`` sits in bracket ``j``'s
    row (``nan`` in the last): ``corr0``, ``lead_up``, ``lead_down``; per bracket
    ``var_innovation`` and ``up_share``."""

    name = "lead_lag"

    def __init__(self, params: LeadLagParams, k: int) -> None:
        self.algorithm = lead_lag(params, k)
        self.state = self.algorithm.init(None)
        self.pad = np.full(1, np.nan)

    def on_event(self, ev: Event, k: int, market: MarketState) -> None:
        del ev, k, market

    def on_tick(
        self, t_ns: int, market: MarketState, weather: WeatherState | None, columns: Columns
    ) -> None:
        del market, weather
        self.state, info = self.algorithm.update(self.state, _mid(t_ns, columns), None)
        for name in ("corr0", "lead_up", "lead_down"):
            columns[name] = np.concatenate([getattr(info, name), self.pad])
        columns["var_innovation"] = info.innovation
        columns["up_share"] = info.up_share
