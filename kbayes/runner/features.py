"""Features (:mod:`kbayes.features`) as runner components: small adapters, no numerics.

A grid feature is stepped once per tick on an observation built from the columns already
written by earlier components (``mid`` from :class:`~kbayes.runner.components.TopColumns`,
``ewm_acceleration`` from the EWM kinematics, ...); its info fields become columns. An
event feature is stepped on the events it reads and its state is read at each tick. The
online step here is exactly the function the feature's batch twin is tested equal to, so
a tick table is the research frame of the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kbayes.features.candles import candle_location
from kbayes.features.cusum import CusumParams, SeriesObs, cusum
from kbayes.features.kinematics import EwmParams, GridObs, ewm_kinematics
from kbayes.features.ladder_shape import LadderObs, LadderParams, ladder_shape
from kbayes.features.savgol import SavgolParams, savgol_kinematics
from kbayes.market.events import Candle, Event
from kbayes.state import MarketState, WeatherState
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
    return GridObs(t_ns, np.asarray(columns["mid"], dtype=float))


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
            np.asarray(columns["mid"], dtype=float),
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


def candle_component(tickers: Sequence[str]) -> EventStep:
    """Close-location value of each bracket's last candle: ``clv``."""
    return EventStep(
        "candles",
        candle_location(tickers),
        (Candle,),
        lambda state, t_ns: {"clv": state.clv},
    )
