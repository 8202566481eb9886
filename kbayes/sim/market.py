"""One event's simulated market: noisy quotes around the oracle, a book, Hawkes trades.

Quotes. Every ``requote_minutes`` (from open to close) each market ``j`` shows the market
maker's belief ``b_qj = expit(logit(p_qj) + n_qj)``: ``p`` the oracle PMF
(:mod:`kbayes.sim.posterior`) at the latest knot ``≤ t_q`` and ``n`` a stationary AR(1) noise
in log-odds (sd ``σ_n``, e-folding time ``τ_n``). With half-spread ``h_qj = h₀ + h₁ (1 − ℓ_q)
m_j`` cents (``ℓ`` the liquidity profile, ``m_j`` a per-market factor)::

    YES bid = ⌊100 b − h⌋ (absent when < 1),   YES ask = ⌈100 b + h⌉ (NO bid = 100 − ask,
    absent when ask > 99),   so 1 ≤ bid < ask ≤ 99 and the spread is ≥ 1 cent.

The book has two levels a side (best, and 1 cent behind) with fixed resting sizes per market.
Trades deplete them; every ``quote_minutes`` the maker refills them to the standard book.

Trades. Taker orders of the whole event arrive as an exponential-kernel Hawkes process
(:mod:`kbayes.sim.hawkes`) with baseline ``μ(t) ∝`` the activity profile (quiet the evening
before, peaking in the afternoon of the climate day). An immigrant picks market ``j`` with
probability ``∝ 0.02 + b_j (1 − b_j)``; a child keeps its parent's market with probability
``p_market`` and its side with probability ``p_side``. Otherwise the taker is informed::

    P(buy YES) = expit(κ (100 p − mid)),      mid = (bid + ask) / 2 in cents,

so flow leans toward the oracle. A buy-YES lifts the NO bids (YES price ``100 − NO price``),
a buy-NO hits the YES bids. An order is a limit at the best price: it fills at most the size
resting there and the rest is cancelled, so every print is at the quote of its instant; once
the best level is used up, the next order meets the level behind it (the new best).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.special import expit, logit

from kbayes.market.prices import CENTI_PER_CONTRACT
from kbayes.sim.hawkes import simulate_hawkes

NS = 10**9
HOUR_NS = 3600 * NS
YES, NO = 0, 1
_PREV_DAY = ((-24.0, 0.03), (-15.0, 0.12), (-10.0, 0.18), (-3.0, 0.12), (0.0, 0.06))
_CLIMATE_DAY = (
    (0.0, 0.06), (6.0, 0.1), (9.0, 0.35), (12.0, 0.7), (15.0, 1.0),
    (17.0, 0.95), (19.0, 0.55), (21.0, 0.3), (24.0, 0.15),
)  # fmt: skip
_PROFILE = np.array(_PREV_DAY[:-1] + _CLIMATE_DAY)


def activity(hours_from_day_start: np.ndarray) -> np.ndarray:
    """Trading-activity profile in ``[0, 1]`` by hours from 00:00 LST of the climate day.

    Piecewise linear: quiet overnight, a modest session the day before, rising through the
    climate day to a peak mid-afternoon (the high is being decided) and fading by midnight.
    """
    return np.interp(hours_from_day_start, _PROFILE[:, 0], _PROFILE[:, 1])


@dataclass(frozen=True)
class MarketParams:
    """Parameters of the simulated market (see the module docstring for the equations).

    Attributes:
        quote_minutes: book grid spacing (refills after trades, top-of-book snapshots).
        requote_minutes: how often the maker revises its belief and spread (a multiple of
            ``quote_minutes``; quotes are held in between, as a maker does not chase noise).
        noise_sd: stationary sd ``σ_n`` of the log-odds quote noise.
        noise_tau_h: e-folding time ``τ_n`` of that noise, hours.
        half_spread_min_c: ``h₀`` (cents); 0.5 gives a 1-cent spread at best.
        half_spread_extra_c: ``h₁`` (cents) added when liquidity is lowest.
        top_size: median resting size at the best level, contracts.
        depth_size: median resting size one cent behind, contracts.
        trades_per_event: expected number of taker orders per event (before book limits).
        branching: Hawkes branching ratio ``α``.
        decay_s: Hawkes kernel mean delay ``1/β``, seconds.
        p_same_market: probability that a child trade is in its parent's market.
        p_same_side: probability that a child trade copies its parent's side.
        kappa: informedness ``κ`` per cent of mispricing.
        size_log_mean: log-mean of the order size (contracts, before the +1).
        size_log_sd: log-sd of the order size.
    """

    quote_minutes: int = 5
    requote_minutes: int = 15
    noise_sd: float = 0.25
    noise_tau_h: float = 8.0
    half_spread_min_c: float = 0.5
    half_spread_extra_c: float = 2.0
    top_size: float = 150.0
    depth_size: float = 400.0
    trades_per_event: float = 400.0
    branching: float = 0.6
    decay_s: float = 120.0
    p_same_market: float = 0.75
    p_same_side: float = 0.6
    kappa: float = 0.5
    size_log_mean: float = 1.5
    size_log_sd: float = 1.1


@dataclass(frozen=True)
class EventInputs:
    """What the market simulator needs to know about one event.

    Attributes:
        open_ns, close_ns: trading window (UTC ns); trades fall in ``[open, close)``.
        window_start_ns: 00:00 LST of the climate day (UTC ns).
        knot_ns: times of the oracle PMF knots, increasing, first ``≤ open``.
        knot_pmf: oracle bracket PMF at each knot, ``(n_knots, K)``.
    """

    open_ns: int
    close_ns: int
    window_start_ns: int
    knot_ns: np.ndarray
    knot_pmf: np.ndarray


@dataclass(frozen=True)
class EventTape:
    """Everything one event's market emitted, as column arrays (market index ``j``).

    Attributes:
        grid_ns: quote grid times.
        belief: the market maker's belief ``b`` on the grid, ``(Q, K)``.
        bid_c, ask_c: YES bid / YES ask in cents on the grid (``-1`` / ``101`` when absent).
        sizes_centi: resting sizes ``(K, 2 levels)``, centi-contracts.
        levels: snapshot at open: ``j, side, price_c, size_centi``.
        deltas: ``ts_ns, j, side, price_c, delta_centi`` in sequence order.
        trades: ``ts_ns, j, yes_price_c, count_centi, taker_yes``.
        tops: ``ts_ns, j, yes_bid_c, no_bid_c, yes_bid_size, yes_ask_size`` (``-1`` = absent).
    """

    grid_ns: np.ndarray
    belief: np.ndarray
    bid_c: np.ndarray
    ask_c: np.ndarray
    sizes_centi: np.ndarray
    levels: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    trades: dict[str, np.ndarray]
    tops: dict[str, np.ndarray]


def _quotes(
    inp: EventInputs, prm: MarketParams, rng: np.random.Generator, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Oracle on the grid, belief, half-spread, YES bid and YES ask (cents)."""
    n_grid, k = len(grid), inp.knot_pmf.shape[1]
    knot = np.searchsorted(inp.knot_ns, grid, side="right") - 1
    fair = inp.knot_pmf[np.maximum(knot, 0)]
    psi = float(np.exp(-prm.quote_minutes / (60.0 * prm.noise_tau_h)))
    eps = rng.standard_normal((n_grid, k))
    drive = eps * prm.noise_sd * np.sqrt(1.0 - psi**2)
    drive[0] = eps[0] * prm.noise_sd  # stationary start
    noise = lfilter([1.0], [1.0, -psi], drive, axis=0)
    belief = expit(logit(np.clip(fair, 1e-4, 1.0 - 1e-4)) + noise)
    liq = activity((grid - inp.window_start_ns) / HOUR_NS)
    liq = liq / _PROFILE[:, 1].max()
    factor = rng.uniform(0.7, 1.3, k)
    half = prm.half_spread_min_c + prm.half_spread_extra_c * (1.0 - liq)[:, None] * factor
    # hold belief and spread between requotes (aligned to the hour, like the oracle's knots)
    per = max(1, prm.requote_minutes // prm.quote_minutes)
    hold = (np.arange(n_grid) // per) * per
    belief, half = belief[hold], half[hold]
    bid = np.floor(100.0 * belief - half).astype(np.int64)
    ask = np.ceil(100.0 * belief + half).astype(np.int64)
    bid = np.where(bid >= 1, bid, -1)
    ask = np.where(ask <= 99, ask, 101)
    return fair, belief, half, bid, ask


def _level_prices(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Own-side prices of the two resting levels, ``(Q, K, side, level)``, ``-1`` if absent."""
    no_bid = np.where(ask <= 99, 100 - ask, -1)
    best = np.stack([bid, no_bid], axis=2)
    price = np.stack([best, best - 1], axis=3)
    return np.where((best[..., None] >= 1) & (price >= 1), price, -1)


def _requote_deltas(
    price: np.ndarray, sizes: np.ndarray, used: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Size changes when each requote replaces the depleted previous book.

    Args:
        price: level prices ``(Q, K, 2, 2)``; sizes: standard sizes ``(K, 2)``;
        used: size taken by prints from each level during each interval ``(Q, K, 2, 2)``.

    Returns:
        ``(q, j, side, price, delta)`` arrays, one row per changed price level.
    """
    std = np.where(price >= 0, sizes[None, :, None, :], 0)
    old_p, old_s = price[:-1], (std - used)[:-1]
    new_p, new_s = price[1:], std[1:]
    cand = np.concatenate([old_p, new_p], axis=3)  # (Q-1, K, 2, 4) candidate prices
    delta = np.zeros(cand.shape, dtype=np.int64)
    for lvl in range(2):  # explicit small loops: reductions over tiny axes are slow
        delta += (new_p[..., lvl : lvl + 1] == cand) * new_s[..., lvl : lvl + 1]
        delta -= (old_p[..., lvl : lvl + 1] == cand) * old_s[..., lvl : lvl + 1]
    first = np.ones(cand.shape, dtype=bool)
    for c in range(1, 4):  # count each price once
        for c0 in range(c):
            first[..., c] &= cand[..., c] != cand[..., c0]
    keep = first & (cand >= 1) & (delta != 0)
    q, j, side, c = np.nonzero(keep)
    return q + 1, j, side, cand[q, j, side, c], delta[q, j, side, c]


def simulate_event_market(
    inp: EventInputs,
    prm: MarketParams,
    rng_quotes: np.random.Generator,
    rng_book: np.random.Generator,
    rng_flow: np.random.Generator,
) -> EventTape:
    """Simulate the quotes, book and trades of one event (module equations)."""
    step_ns = prm.quote_minutes * 60 * NS
    grid = np.arange(inp.open_ns, inp.close_ns, step_ns, dtype=np.int64)
    n_grid, k = len(grid), inp.knot_pmf.shape[1]
    fair, belief, _, bid, ask = _quotes(inp, prm, rng_quotes, grid)
    sizes = (
        np.stack(
            [
                np.maximum(1, np.round(prm.top_size * np.exp(0.5 * rng_book.standard_normal(k)))),
                np.maximum(1, np.round(prm.depth_size * np.exp(0.5 * rng_book.standard_normal(k)))),
            ],
            axis=1,
        ).astype(np.int64)
        * CENTI_PER_CONTRACT
    )
    lvl_price = _level_prices(bid, ask)

    # --- taker arrivals (seconds from open) and their marks -------------------------------
    edges = np.append(grid, inp.close_ns).astype(float)
    edges_s = (edges - inp.open_ns) / NS
    act = activity((grid - inp.window_start_ns) / HOUR_NS)
    mu0 = prm.trades_per_event * (1.0 - prm.branching) / float((act * np.diff(edges_s)).sum())
    hk = simulate_hawkes(rng_flow, edges_s, mu0 * act, prm.branching, 1.0 / prm.decay_s)
    n_tr = len(hk)
    q_of = np.searchsorted(edges_s, hk.times, side="right") - 1
    weight = 0.02 + belief * (1.0 - belief)
    cumw = np.cumsum(weight, axis=1) / weight.sum(axis=1, keepdims=True)
    u_mkt, u_inh, u_side, u_sinh = rng_flow.random((4, n_tr))
    size_draw = 1 + np.minimum(
        np.floor(np.exp(prm.size_log_mean + prm.size_log_sd * rng_flow.standard_normal(n_tr))), 9999
    )
    mid = np.where(bid >= 1, bid, 0) / 2.0 + np.where(ask <= 99, ask, 100) / 2.0
    mkt = np.empty(n_tr, dtype=np.int64)
    yes = np.empty(n_tr, dtype=bool)
    for g in range(int(hk.generation.max(initial=-1)) + 1):  # parents before children
        sel = np.flatnonzero(hk.generation == g)
        qq = q_of[sel]
        m = np.minimum((cumw[qq] < u_mkt[sel, None]).sum(axis=1), k - 1)
        if g > 0:
            m = np.where(u_inh[sel] < prm.p_same_market, mkt[hk.parent[sel]], m)
        informed = u_side[sel] < expit(prm.kappa * (100.0 * fair[qq, m] - mid[qq, m]))
        if g > 0:
            informed = np.where(u_sinh[sel] < prm.p_same_side, yes[hk.parent[sel]], informed)
        mkt[sel], yes[sel] = m, informed
    # a taker can only trade against a side that exists
    yes = np.where(ask[q_of, mkt] > 99, False, np.where(bid[q_of, mkt] < 1, True, yes))

    # --- walk the book: cumulative size per (market, interval, side) -----------------------
    side_hit = np.where(yes, NO, YES)  # buy YES lifts the NO bids
    order = np.lexsort((hk.times, side_hit, q_of, mkt))
    key = (mkt * n_grid + q_of) * 2 + side_hit
    ks = key[order]
    c_sorted = size_draw[order].astype(np.int64) * CENTI_PER_CONTRACT
    cum = np.cumsum(c_sorted)
    start = np.r_[True, ks[1:] != ks[:-1]]
    base = np.maximum.accumulate(np.where(start, cum - c_sorted, 0))
    hi = cum - base
    lo = hi - c_sorted
    mk_s, q_s, sd_s = mkt[order], q_of[order], side_hit[order]
    best = lvl_price[q_s, mk_s, sd_s, 0]
    cap = np.where(lvl_price[q_s, mk_s, sd_s] >= 1, sizes[mk_s], 0)
    bound = np.concatenate([np.zeros((len(ks), 1), dtype=np.int64), np.cumsum(cap, axis=1)], axis=1)
    fill = np.clip(
        np.minimum(hi[:, None], bound[:, 1:]) - np.maximum(lo[:, None], bound[:, :-1]), 0, None
    )
    _no_sweep(fill, cap, c_sorted, start)
    t_idx, lvl = np.nonzero(fill)  # one print per filled order, at the best level
    pr_count = fill[t_idx, lvl]
    pr_j = mk_s[t_idx]
    pr_side = sd_s[t_idx]
    pr_price = best[t_idx] - lvl  # in the hit side's own price
    pr_time = hk.times[order][t_idx]
    pr_q = q_s[t_idx]
    ts = inp.open_ns + np.floor(pr_time * 1e3).astype(np.int64) * 10**6
    ts = np.maximum(ts, grid[pr_q])
    pr_yes_price = np.where(pr_side == YES, pr_price, 100 - pr_price)
    pr_taker_yes = pr_side == NO
    # chronological print order (ties: by order position, then level)
    p_order = np.lexsort((lvl, t_idx, ts))
    trades = {
        "ts_ns": ts[p_order],
        "j": pr_j[p_order],
        "yes_price_c": pr_yes_price[p_order],
        "count_centi": pr_count[p_order],
        "taker_yes": pr_taker_yes[p_order],
    }

    # --- depleted book at the end of each interval -----------------------------------------
    used = np.zeros(lvl_price.shape, dtype=np.int64)
    np.add.at(used, (pr_q, pr_j, pr_side, lvl), pr_count)
    uq, uj, us, up, ud = _requote_deltas(lvl_price, sizes, used)
    d_ts = np.concatenate([grid[uq], ts])
    d_kind = np.concatenate([np.zeros(len(uq), np.int64), np.ones(len(ts), np.int64)])
    d_j = np.concatenate([uj, pr_j])
    d_side = np.concatenate([us, pr_side])
    d_price = np.concatenate([up, pr_price])
    d_delta = np.concatenate([ud, -pr_count])
    d_tie = np.concatenate([np.zeros(len(uq), np.int64), np.argsort(p_order)])
    # within a requote, cancels and reductions come before additions, so that no
    # intermediate state of a replayed book is crossed
    d_order = np.lexsort((d_price, d_side, d_j, d_delta > 0, d_tie, d_kind, d_ts))
    deltas = {
        "ts_ns": d_ts[d_order],
        "j": d_j[d_order],
        "side": d_side[d_order],
        "price_c": d_price[d_order],
        "delta_centi": d_delta[d_order],
    }

    # --- snapshot at open -------------------------------------------------------------------
    sj, ss, sl = np.nonzero(lvl_price[0] >= 1)
    levels = {
        "j": sj,
        "side": ss,
        "price_c": lvl_price[0][sj, ss, sl],
        "size_centi": sizes[sj, sl],
    }

    tops = _tops(
        grid,
        bid,
        ask,
        sizes,
        pr_q[p_order],
        pr_j[p_order],
        pr_side[p_order],
        pr_count[p_order],
        ts[p_order],
    )
    return EventTape(
        grid_ns=grid,
        belief=belief,
        bid_c=bid,
        ask_c=ask,
        sizes_centi=sizes,
        levels=levels,
        deltas=deltas,
        trades=trades,
        tops=tops,
    )


def _no_sweep(fill: np.ndarray, cap: np.ndarray, count: np.ndarray, start: np.ndarray) -> None:
    """Make every order fill at one level only (in place): a taker order is a limit at the best
    price on arrival and its remainder is cancelled, so no print is outside the quote.

    The vectorised positional fill is exact until an order straddles a level boundary; the
    (rare) groups where that happens are redone sequentially.
    """
    straddle = (fill > 0).sum(axis=1) > 1
    if not straddle.any():
        return
    group = np.cumsum(start) - 1
    bounds = np.flatnonzero(np.r_[start, True])
    for g in np.unique(group[straddle]):
        lo, hi = bounds[g], bounds[g + 1]
        rem = cap[lo].copy()
        for i in range(lo, hi):
            fill[i] = 0
            lvl = np.flatnonzero(rem > 0)
            if len(lvl):
                take = min(int(count[i]), int(rem[lvl[0]]))
                fill[i, lvl[0]] = take
                rem[lvl[0]] -= take


def _side_top(best: np.ndarray, cap: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best price and size of one side with levels ``best, best − 1`` after ``used`` is taken."""
    has1 = best >= 1
    has2 = has1 & (best - 1 >= 1)
    l1 = np.where(has1, cap[:, 0], 0)
    l2 = np.where(has2, cap[:, 1], 0)
    at1 = used < l1
    at2 = ~at1 & (used < l1 + l2)
    price = np.where(at1, best, np.where(at2, best - 1, -1))
    size = np.where(at1, l1 - used, np.where(at2, l1 + l2 - used, -1))
    return price, size


def _tops(
    grid: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    sizes: np.ndarray,
    pq: np.ndarray,
    pj: np.ndarray,
    pside: np.ndarray,
    pcount: np.ndarray,
    pts: np.ndarray,
) -> dict[str, np.ndarray]:
    """Top of book at every requote and after every print, keeping only changes per market.

    Prints are given in chronological order. Within an interval the book is the standard
    book of that requote minus what the prints so far have taken from each side.
    """
    n_grid, k = bid.shape
    no_bid = np.where(ask <= 99, 100 - ask, -1)
    # requote rows: nothing used yet
    gq, gj = np.meshgrid(np.arange(n_grid), np.arange(k), indexing="ij")
    gq, gj = gq.ravel(), gj.ravel()
    zero = np.zeros(len(gq), dtype=np.int64)
    # print rows: cumulative use of each side of (market, interval) in chronological order
    key = pj * n_grid + pq
    order = np.lexsort((np.arange(len(key)), key))
    ks = key[order]
    start = np.r_[True, ks[1:] != ks[:-1]] if len(ks) else np.zeros(0, bool)
    used = np.zeros((len(key), 2), dtype=np.int64)
    for side in (0, 1):
        c = np.cumsum(np.where(pside[order] == side, pcount[order], 0))
        base = (
            np.maximum.accumulate(
                np.where(start, c - np.where(pside[order] == side, pcount[order], 0), 0)
            )
            if len(c)
            else c
        )
        used[order, side] = c - base
    q_all = np.concatenate([gq, pq])
    j_all = np.concatenate([gj, pj])
    ts_all = np.concatenate([grid[gq], pts])
    used_y = np.concatenate([zero, used[:, 0]])
    used_n = np.concatenate([zero, used[:, 1]])
    y_p, y_s = _side_top(bid[q_all, j_all], sizes[j_all], used_y)
    n_p, n_s = _side_top(no_bid[q_all, j_all], sizes[j_all], used_n)
    seq = np.concatenate([np.zeros(len(gq), np.int64), 1 + np.arange(len(pq))])
    o = np.lexsort((seq, ts_all, j_all))
    cols = np.stack([j_all, y_p, n_p, y_s, n_s])[:, o]
    changed = np.r_[True, (cols[:, 1:] != cols[:, :-1]).any(axis=0)]
    o = o[changed]
    o = o[np.lexsort((j_all[o], seq[o], ts_all[o]))]  # back to time order
    return {
        "ts_ns": ts_all[o],
        "j": j_all[o],
        "yes_bid_c": y_p[o],
        "no_bid_c": n_p[o],
        "yes_bid_size": y_s[o],
        "yes_ask_size": n_s[o],
    }
