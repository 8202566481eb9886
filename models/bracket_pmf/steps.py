"""From an event's trades (and book, and weather PMFs) to the filter's step features.

:func:`build_event_steps` is a fold of the incremental builder of
:mod:`models.bracket_pmf.incremental` over the frames' rows as clock-ordered events: replay
and the live UKF step are fed by the same code, so they cannot drift.

Time is cut into bins of ``bin_minutes`` aligned on the UTC epoch; a step sits at the *end*
``s`` of every bin in which something happened (a trade, a book snapshot) and at every
decision instant (which must lie on the bin grid, so a decision at ``t`` sees exactly the data
stamped strictly before ``t``: DESIGN 4). Steps after the last decision instant are dropped.
At a step ``s``, bracket ``k`` contributes one price row:

* book (when a two-sided top of book is known before ``s``): the mid
  ``(yes_bid + 1 - no_bid) / 2``, its half-spread, and the top depth added to the volume;
* otherwise the last trade strictly before ``s`` (half-spread ``trade_half_spread``);
* with ``observe="fresh"`` a trade-priced row is kept only if the bracket traded in
  ``[s - bin, s)`` (new information only); ``"last"`` (default) re-observes the last trade
  with a noise variance that grows with its staleness;
* missing (``NaN``) when the bracket never traded and has no two-sided book: a one-sided
  book is *not* a price (an empty side is missing, not 0 or 1).

Staleness is the time since the bracket's last trade (capped at ``max_staleness_h``; the cap
when it never traded); volume is the contracts it traded in ``[s - bin, s)``.

Defined merges and errors: trades are sorted by time (input order is irrelevant); trades of
one bracket with the same timestamp are merged into one print at their volume-weighted price
(exact integer sums, rounded once) with the summed volume. Book snapshots are a tape: sorted
stably by time, so snapshots of one bracket with the same timestamp apply in input order and
the last one wins. Trades of tickers outside the ladder, prices outside [0, 1], missing
timestamps and decision instants off the bin grid raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from kbayes.market.prices import CC_PER_DOLLAR
from models.bracket_pmf.model import BracketStep

NS_PER_HOUR = 3_600 * 10**9
OBSERVE_MODES = ("last", "fresh")
WEATHER_PMF_FLOOR = 1e-4


class StepConfig(NamedTuple):
    """How trades and quotes become step features.

    Attributes:
        bin_minutes: bin width (must divide the gaps between decision instants and the epoch).
        trade_half_spread: half-spread assumed for a trade price (probability units).
        max_staleness_h: staleness cap (and the staleness of a never-traded bracket).
        observe: ``"last"`` or ``"fresh"`` (see module docstring).
    """

    bin_minutes: int = 10
    trade_half_spread: float = 0.01
    max_staleness_h: float = 24.0
    observe: str = "last"


DEFAULT_STEP_CONFIG = StepConfig()


class EventSteps(NamedTuple):
    """The steps of one event.

    Attributes:
        steps: stacked :class:`BracketStep` (NumPy arrays, leading axis ``T``).
        times: step instants, ``datetime64[ns]`` (UTC), strictly increasing.
        decision_index: for each decision instant (in the order given), its step index.
    """

    steps: BracketStep
    times: np.ndarray
    decision_index: np.ndarray


def _to_ns(ts: pd.Series | Sequence[pd.Timestamp]) -> np.ndarray:
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(ts), utc=True))
    if idx.hasnans:
        raise ValueError("timestamps must not be missing")
    return idx.as_unit("ns").asi8


def _check_trades(trades: pd.DataFrame | None, tickers: Sequence[str]) -> None:
    """The frame-level errors (the builder also checks each event)."""
    if trades is None or trades.empty:
        return
    unknown = sorted(set(trades["ticker"]) - set(tickers))
    if unknown:
        raise ValueError(f"trades of tickers outside the ladder: {unknown[:5]}")
    price = trades["yes_price_cc"].to_numpy(dtype=float) / CC_PER_DOLLAR
    if not np.all(np.isfinite(price)) or price.min() < 0.0 or price.max() > 1.0:
        raise ValueError("trade prices must be finite and within [0, $1]")
    count = trades["count_centi"].to_numpy(dtype=float)
    if not np.all(np.isfinite(count)) or count.min() < 0:
        raise ValueError("trade counts must be finite and non-negative")


def _weather_alr(pmf: np.ndarray) -> np.ndarray:
    p = np.maximum(np.asarray(pmf, dtype=float), WEATHER_PMF_FLOOR)
    p = p / p.sum()
    return np.log(p[:-1]) - np.log(p[-1])


def build_event_steps(
    tickers: Sequence[str],
    trades: pd.DataFrame | None,
    decision_instants: Sequence[pd.Timestamp],
    close: pd.Timestamp,
    config: StepConfig = DEFAULT_STEP_CONFIG,
    book: pd.DataFrame | None = None,
    weather: np.ndarray | None = None,
) -> EventSteps:
    """Step features of one event.

    Args:
        tickers: the ladder's tickers, in bracket order (``K`` of them).
        trades: this event's trades (``ticker, ts, yes_price_cc, count_centi``), any order.
        decision_instants: UTC instants at which the PMF is wanted (on the bin grid).
        close: end of the climate day (UTC), for the weather channel's horizon.
        config: binning and feature options.
        book: optional top-of-book snapshots (``ts, ticker, yes_bid_cc, no_bid_cc`` and,
            when known, ``yes_bid_size_centi, yes_ask_size_centi``).
        weather: optional ``(len(decision_instants), K)`` weather PMFs observed at the
            decision instants (a ``NaN`` row: none at that instant).

    Returns:
        The :class:`EventSteps`.
    """
    # incremental imports this module's config and helpers: import it at call time
    from models.bracket_pmf.incremental import fold_event_steps

    if config.observe not in OBSERVE_MODES:
        raise ValueError(f"observe={config.observe!r}: one of {OBSERVE_MODES}")
    if config.bin_minutes <= 0:
        raise ValueError(f"bin_minutes={config.bin_minutes} must be positive")
    k_num = len(tickers)
    if k_num < 1 or len(set(tickers)) != k_num:
        raise ValueError(f"tickers must be non-empty and distinct, got {list(tickers)}")
    w = config.bin_minutes * 60 * 10**9
    decisions = _to_ns(list(decision_instants)) if len(decision_instants) else np.zeros(0, int)
    if np.any(decisions % w):
        raise ValueError(
            f"decision instants must lie on the {config.bin_minutes}-minute grid (UTC epoch)"
        )
    _check_trades(trades, tickers)
    return fold_event_steps(tickers, trades, decision_instants, close, config, book, weather)


def pad_steps(steps: BracketStep, length: int) -> BracketStep:
    """Pad an event's steps to ``length`` with all-missing, ``dt = 0`` steps."""
    t_num = steps.dt.shape[0]
    if length < t_num:
        raise ValueError(f"cannot pad {t_num} steps to {length}")
    extra = length - t_num

    def pad(x: np.ndarray, fill: float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        widths = [(0, extra)] + [(0, 0)] * (x.ndim - 1)
        return np.pad(x, widths, constant_values=fill)

    return BracketStep(
        dt=pad(steps.dt, 0.0),
        price=pad(steps.price, np.nan),
        half_spread=pad(steps.half_spread, 0.0),
        staleness_h=pad(steps.staleness_h, 0.0),
        volume=pad(steps.volume, 0.0),
        weather_alr=pad(steps.weather_alr, np.nan),
        weather_hours_left=pad(steps.weather_hours_left, 0.0),
    )


def stack_steps(events: Sequence[BracketStep], length: int | None = None) -> BracketStep:
    """Pad every event to a common length (default the longest) and stack: leading ``(B, T)``."""
    if not events:
        raise ValueError("no events to stack")
    length = length or max(e.dt.shape[0] for e in events)
    padded = [pad_steps(e, length) for e in events]
    return BracketStep(*(np.stack(xs) for xs in zip(*padded, strict=True)))
