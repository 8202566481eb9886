"""Hawkes buy/sell intensities of every bracket of a ladder, updated on trade prints.

With a fitted multivariate exponential Hawkes model of the ladder's taker flow
(:mod:`kbayes.pointprocess`; dimensions ``dim(k, s) = 2 k + s``, ``s = 0`` taker buys YES,
``s = 1`` taker sells YES, as in ``models/flow_hawkes/dims.py``) the feature is the
conditional intensity read at ``t`` (Hawkes 1971),

    lambda_i(t) = mu_i(b(t)) + sum_j alpha_ij beta_ij S_ij(t),
    S_ij(t)     = sum_{t_l^j < t} exp(-beta_ij (t - t_l^j)),

the events strictly before ``t`` counting (the left limit: what a decision at ``t`` may
know), decaying between prints. ``S`` is carried by the exponential recursion of
:mod:`kbayes.pointprocess.recursion` (Ozaki 1979): the same ``advance`` / ``add_event`` steps
as :func:`~kbayes.pointprocess.recursion.event_step` and the online
:func:`~kbayes.pointprocess.online.intensity_algorithm`, written here on NumPy float64 arrays
so that one update costs a few small array operations rather than a JAX dispatch. It equals
the batch intensities of :func:`kbayes.pointprocess.intensity_at` (tested to 1e-12).

Time is ``t = (ts_ns - origin_ns) / (1e9 unit_seconds)``, in the unit the parameters were
fitted in (minutes from the window start for ``models/flow_hawkes``), and ``b(t)`` the
baseline bin of a :class:`~kbayes.pointprocess.baseline.BaselineGrid` phased to that origin.
As in the fit (``flow_events(merge_sweeps=True)``), prints of one dimension with the same
``ts_ns`` are one taker order sweeping several resting orders: they are counted once.
Prints must arrive in non-decreasing ``ts_ns``; an earlier one is applied at the last time
and flagged (``in_order = False``), as the online Hawkes step does.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float

from kbayes.market.events import NS_PER_S, Tick, TradePrint
from kbayes.pointprocess.baseline import BaselineGrid, constant_baseline
from kbayes.pointprocess.events import check_events
from kbayes.pointprocess.likelihood import intensity_at
from kbayes.pointprocess.params import HawkesParams
from kbayes.step import StepAlgorithm

SIDES = 2
_SIDE = {"yes": 0, "no": 1}  # taker buys YES / taker sells YES (models/flow_hawkes/dims.py)


class HawkesFeatureState(NamedTuple):
    """Online state (parameters bound by :func:`hawkes_intensity`).

    Attributes:
        t_last_ns: time of the last print absorbed (``-1`` before any).
        t_last: the same in model units.
        decayed: ``(D, D)`` ``S_ij(t_last)`` from the prints strictly before ``t_last``.
        pending: ``(D,)`` prints at exactly ``t_last``, not yet exciting anything.
    """

    t_last_ns: int
    t_last: float
    decayed: Float[np.ndarray, "D D"]
    pending: Float[np.ndarray, " D"]


class HawkesFeatureInfo(NamedTuple):
    """The intensities read at ``t_ns`` (prints strictly before it).

    Attributes:
        t_ns: read time (a print's own time for its update: the left limit).
        intensity: ``(D,)`` ``lambda_i(t)``, events per model time unit.
        buy: ``(K,)`` taker-buy intensity per bracket (``intensity[0::2]``).
        sell: ``(K,)`` taker-sell intensity per bracket (``intensity[1::2]``).
        in_order: False when the print or read came before the last print (clamped).
    """

    t_ns: int
    intensity: Float[np.ndarray, " D"]
    buy: Float[np.ndarray, " K"]
    sell: Float[np.ndarray, " K"]
    in_order: bool


class HawkesFeatureBatch(NamedTuple):
    """:class:`HawkesFeatureInfo` stacked over ``Q`` reads."""

    t_ns: Any
    intensity: Float[np.ndarray, "Q D"]
    buy: Float[np.ndarray, "Q K"]
    sell: Float[np.ndarray, "Q K"]
    in_order: Bool[np.ndarray, " Q"]


class _Bound(NamedTuple):
    mu: np.ndarray
    alpha_beta: np.ndarray
    neg_beta: np.ndarray
    index: dict[str, int]
    origin_ns: int
    ns_per_unit: float
    grid: BaselineGrid


def _ladder_index(tickers: Sequence[str]) -> dict[str, int]:
    tickers = tuple(tickers)
    if not tickers:
        raise ValueError("tickers = (): the ladder needs at least one bracket")
    index = {t: k for k, t in enumerate(tickers)}
    if len(index) != len(tickers):
        raise ValueError(f"tickers = {tickers!r}: duplicate ticker in the ladder")
    return index


def _ns_per_unit(origin_ns: int, unit_seconds: float) -> float:
    if isinstance(origin_ns, bool) or not isinstance(origin_ns, numbers.Integral):
        raise ValueError(f"origin_ns = {origin_ns!r}: must be integer ns since the epoch")
    if not (
        isinstance(unit_seconds, numbers.Real) and math.isfinite(unit_seconds) and unit_seconds > 0
    ):
        raise ValueError(f"unit_seconds = {unit_seconds!r}: must be positive and finite")
    return float(NS_PER_S) * float(unit_seconds)


def _bind(
    params: HawkesParams,
    tickers: Sequence[str],
    origin_ns: int,
    unit_seconds: float,
    grid: BaselineGrid | None,
) -> _Bound:
    """Validate and convert the parameters (ValueError naming the argument)."""
    index = _ladder_index(tickers)
    mu = np.asarray(params.mu, np.float64)
    alpha = np.asarray(params.alpha, np.float64)
    beta = np.asarray(params.beta, np.float64)
    d = SIDES * len(index)
    if alpha.shape != (d, d) or beta.shape != (d, d) or mu.ndim != 2 or mu.shape[0] != d:
        raise ValueError(
            f"params: mu {mu.shape}, alpha {alpha.shape}, beta {beta.shape} do not fit "
            f"{len(index)} brackets (D = {d}: mu (D, B), alpha and beta (D, D))"
        )
    grid = constant_baseline() if grid is None else grid
    if mu.shape[1] != grid.num_bins:
        raise ValueError(f"params.mu has {mu.shape[1]} baseline bins, grid {grid.num_bins}")
    for name, x, ok in (
        ("mu", mu, mu >= 0),
        ("alpha", alpha, alpha >= 0),
        ("beta", beta, beta > 0),
    ):
        bad = ~(np.isfinite(x) & ok)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"params.{name}[{', '.join(map(str, idx))}] = {x[idx]} is not valid")
    return _Bound(
        mu=mu,
        alpha_beta=alpha * beta,
        neg_beta=-beta,
        index=index,
        origin_ns=int(origin_ns),
        ns_per_unit=_ns_per_unit(origin_ns, unit_seconds),
        grid=grid,
    )


def _dim(index: dict[str, int], trade: TradePrint) -> int:
    k = index.get(trade.ticker)
    if k is None:
        raise ValueError(f"ticker = {trade.ticker!r} is not a bracket of this ladder")
    s = _SIDE.get(trade.taker_side)
    if s is None:
        raise ValueError(f"taker_side = {trade.taker_side!r}: expected 'yes' or 'no'")
    return SIDES * k + s


def hawkes_intensity(
    params: HawkesParams,
    tickers: Sequence[str],
    origin_ns: int,
    *,
    unit_seconds: float = 60.0,
    grid: BaselineGrid | None = None,
) -> StepAlgorithm[HawkesFeatureState, HawkesFeatureInfo]:
    """Buy/sell intensities of a ladder as a step.

    ``update(state, obs)`` takes a :class:`~kbayes.market.events.TradePrint` of one of
    ``tickers`` (absorbed; the info is the left-limit intensity at its time) or a
    :class:`~kbayes.market.events.Tick` (a read; the state is unchanged). A
    read before ``origin_ns`` (outside the fitted window) reports NaN intensities.

    Args:
        params: fitted Hawkes parameters with ``D = 2 K`` dimensions.
        tickers: the ``K`` bracket tickers in dimension order.
        origin_ns: the time of ``t = 0`` of the fit (its window start).
        unit_seconds: seconds per model time unit (60: the parameters are per minute).
        grid: the baseline grid of the fit (constant when None).

    Raises:
        ValueError: naming a bad argument; on update, a foreign ticker, a bad side, or a print
            before ``origin_ns``.
        TypeError: on update, an obs of another type (a wiring error, not a read).
    """
    bound = _bind(params, tickers, origin_ns, unit_seconds, grid)
    mu, ab, neg_beta = bound.mu, bound.alpha_beta, bound.neg_beta
    d = mu.shape[0]
    one_bin = bound.grid.num_bins == 1
    nan_d = np.full(d, np.nan)

    def model_time(t_ns: int) -> float:
        rel = t_ns - bound.origin_ns
        if rel < 0:
            raise ValueError(f"ts_ns = {t_ns} is before origin_ns = {bound.origin_ns}")
        return float(rel) / bound.ns_per_unit

    def decayed_at(state: HawkesFeatureState, t: float) -> np.ndarray:
        # advance(): S(t) = exp(-beta dt) (S + P) for dt > 0; unchanged at dt = 0
        dt = t - state.t_last
        if dt > 0:
            return np.exp(neg_beta * dt) * (state.decayed + state.pending[None, :])
        return state.decayed

    edges = [float(e) for e in bound.grid.edges]
    period, offset, last_bin = edges[-1], float(bound.grid.offset), bound.grid.num_bins - 1

    def bin_of(t: float) -> int:
        # bin_index_np on a scalar without the array round trip: for t + offset >= 0 numpy's
        # float mod is fmod, and searchsorted(side="right") is bisect_right
        b = bisect_right(edges, math.fmod(t + offset, period)) - 1
        return 0 if b < 0 else (last_bin if b > last_bin else b)

    def lam(decayed: np.ndarray, t: float) -> np.ndarray:
        b = 0 if one_bin else bin_of(t)
        return mu[:, b] + np.sum(ab * decayed, axis=1)

    def info_of(t_ns: int, intensity: np.ndarray, in_order: bool) -> HawkesFeatureInfo:
        return HawkesFeatureInfo(t_ns, intensity, intensity[0::2], intensity[1::2], in_order)

    def init(key: Any = None) -> HawkesFeatureState:
        del key  # deterministic
        return HawkesFeatureState(-1, 0.0, np.zeros((d, d)), np.zeros(d))

    def update(
        state: HawkesFeatureState, obs: Any, key: Any = None
    ) -> tuple[HawkesFeatureState, HawkesFeatureInfo]:
        del key
        is_print = type(obs) is TradePrint
        if not is_print and type(obs) is not Tick:
            raise TypeError(f"hawkes update takes a TradePrint or a Tick, got {type(obs).__name__}")
        t_ns = obs.ts_ns
        in_order = t_ns >= state.t_last_ns
        if not in_order:
            t_ns = state.t_last_ns
        if t_ns < bound.origin_ns and not is_print:
            return state, info_of(t_ns, nan_d, in_order)  # before the model's window: missing
        t = model_time(t_ns)
        decayed = decayed_at(state, t)
        info = info_of(t_ns, lam(decayed, t), in_order)
        if not is_print:
            return state, info
        m = _dim(bound.index, obs)
        if t_ns == state.t_last_ns:  # same instant: the pending prints stay pending
            pending = state.pending
            if pending[m] > 0:  # a sweep's further print: one taker order, counted once
                return state, info
            pending = pending.copy()
        else:
            pending = np.zeros(d)
        pending[m] += 1.0
        return HawkesFeatureState(t_ns, t, decayed, pending), info

    return StepAlgorithm(init=init, update=update)


def flow_event_times(
    tickers: Sequence[str],
    origin_ns: int,
    trades: Sequence[TradePrint],
    unit_seconds: float = 60.0,
) -> tuple[Float[np.ndarray, " N"], np.ndarray]:
    """Model times and marks of the prints, sweeps merged and sorted as in the fit."""
    index = _ladder_index(tickers)
    per_unit = _ns_per_unit(origin_ns, unit_seconds)
    pairs = sorted({(tr.ts_ns, _dim(index, tr)) for tr in trades})
    ns = np.array([p[0] for p in pairs], np.int64) - int(origin_ns)
    if (ns < 0).any():
        raise ValueError(f"ts_ns = {int(ns.min()) + origin_ns} is before origin_ns = {origin_ns}")
    marks = np.array([p[1] for p in pairs], np.int64)
    return ns.astype(np.float64) / per_unit, marks


def hawkes_intensity_batch(
    params: HawkesParams,
    tickers: Sequence[str],
    origin_ns: int,
    trades: Sequence[TradePrint],
    query_ns: Sequence[int],
    *,
    unit_seconds: float = 60.0,
    grid: BaselineGrid | None = None,
) -> HawkesFeatureBatch:
    """The batch twin: :func:`kbayes.pointprocess.intensity_at` of the merged prints.

    Equals the online fold for reads made after absorbing every print before the query
    (prints in time order); a query before ``origin_ns`` is NaN, as online.
    """
    bound = _bind(params, tickers, origin_ns, unit_seconds, grid)
    times, marks = flow_event_times(tickers, origin_ns, trades, unit_seconds)
    q_ns = np.asarray(query_ns, np.int64)
    q = (q_ns - bound.origin_ns).astype(np.float64) / bound.ns_per_unit
    d = bound.mu.shape[0]
    inside = q >= 0  # a read before the origin is missing, as online
    lam = np.full((len(q), d), np.nan)
    T = float(max(times.max(initial=0.0), q.max(initial=0.0))) or 1.0
    if inside.any():
        with jax.enable_x64(True):
            # float64 parameters inside the context (params built outside it may be float32)
            p64 = HawkesParams(*(jnp.asarray(np.asarray(x, np.float64)) for x in params))
            events = check_events(times, marks, T, d)
            lam[inside] = np.asarray(intensity_at(p64, events, q[inside], bound.grid))
    return HawkesFeatureBatch(q_ns, lam, lam[:, 0::2], lam[:, 1::2], np.ones(len(q), bool))


def stack_infos(infos: Sequence[HawkesFeatureInfo]) -> HawkesFeatureBatch:
    """Online infos stacked as a :class:`HawkesFeatureBatch`."""
    lam = np.array([i.intensity for i in infos], np.float64) if infos else np.zeros((0, 0))
    return HawkesFeatureBatch(
        np.array([i.t_ns for i in infos], np.int64),
        lam,
        lam[:, 0::2],
        lam[:, 1::2],
        np.array([i.in_order for i in infos], bool),
    )
