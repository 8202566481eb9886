"""Lead/lag of adjacent brackets: online fold == batch twin == pandas / weighted-sum oracles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kbayes.features.lead_lag import (
    GridObs,
    GridObsBatch,
    LeadLagBatch,
    LeadLagParams,
    ewm_weight,
    lead_lag,
    lead_lag_batch,
    stack_infos,
)
from kbayes.market.events import NS_PER_S
from kbayes.sim import SimConfig, simulate

PARAMS = LeadLagParams(
    corr_halflife_ticks=20.0, var_halflife_ticks=40.0, share_halflife_events=5.0, ridge=1e-2
)
BBO = Path("kalshi/jetpackjules_nyc_bbo/market_data_KXHIGHNY-25DEC16.csv.xz")


def _grid_mids(tops: pd.DataFrame, tickers, t0, t1, step_s: int = 10) -> GridObsBatch:
    """Mid (cc) of each ticker at each tick from the last top strictly before the tick."""
    ticks = pd.date_range(t0, t1, freq=f"{step_s}s")
    cols = []
    for tk in tickers:
        d = tops[tops["ticker"] == tk].sort_values("ts", kind="stable")
        yes = d["yes_bid_cc"].astype("float64").to_numpy()
        no = d["no_bid_cc"].astype("float64").to_numpy()
        mid = (yes + (10_000.0 - no)) / 2.0  # NaN when a side is missing
        ts = d["ts"].to_numpy()
        idx = np.searchsorted(ts, ticks.to_numpy(), side="left") - 1
        cols.append(np.where(idx >= 0, mid[np.maximum(idx, 0)], np.nan))
    t_ns = ticks.as_unit("ns").asi8
    return GridObsBatch(t_ns=t_ns, mid=np.stack(cols, axis=1))


def _fold(params: LeadLagParams, obs: GridObsBatch) -> LeadLagBatch:
    algo = lead_lag(params, obs.mid.shape[1])
    state = algo.init(None)
    infos = []
    for t, m in zip(obs.t_ns, obs.mid, strict=True):
        state, info = algo.update(state, GridObs(int(t), m), None)
        infos.append(info)
    return stack_infos(infos)


def _assert_close(a: LeadLagBatch, b: LeadLagBatch, rtol: float = 1e-12) -> None:
    for name, x, y in zip(LeadLagBatch._fields, a, b, strict=True):
        np.testing.assert_array_equal(np.isnan(x) if x.dtype.kind == "f" else x, np.isnan(y)
                                      if y.dtype.kind == "f" else y, err_msg=name)  # fmt: skip
        if x.dtype.kind == "f":
            scale = np.nanmax(np.abs(x), initial=0.0)
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=name)


def _changes(mid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.full(mid.shape, np.nan)
    x[1:] = mid[1:] - mid[:-1]
    x1 = np.full(mid.shape, np.nan)
    x1[1:] = x[:-1]
    return x, x1


def _pandas_ewm(y: np.ndarray, a: float) -> np.ndarray:
    return pd.DataFrame(y).ewm(alpha=a, adjust=False, ignore_na=True).mean().to_numpy()


def _oracle_corr(params: LeadLagParams, mid: np.ndarray) -> dict[str, np.ndarray]:
    """pandas EWMs of each cross product and of its two squares on the product's own ticks."""
    a = ewm_weight("h", params.corr_halflife_ticks)
    x, x1 = _changes(mid)

    def corr(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        both = ~(np.isnan(u) | np.isnan(v))
        uu, vv = np.where(both, u * u, np.nan), np.where(both, v * v, np.nan)
        den = _pandas_ewm(uu, a) * _pandas_ewm(vv, a)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, _pandas_ewm(u * v, a) / np.sqrt(den), np.nan)

    return {
        "corr0": corr(x[:, :-1], x[:, 1:]),
        "lead_up": corr(x[:, 1:], x1[:, :-1]),
        "lead_down": corr(x[:, :-1], x1[:, 1:]),
    }


def _oracle_share(params: LeadLagParams, mid: np.ndarray) -> np.ndarray:
    """u_j by a loop over ticks and brackets, then pandas' EWM."""
    x, _ = _changes(mid)
    T, K = x.shape
    u = np.full((T, K), np.nan)
    for t in range(T):
        for j in range(1, K - 1):
            d, lo, hi = x[t, j], x[t, j - 1], x[t, j + 1]
            if math.isnan(d) or math.isnan(lo) or math.isnan(hi) or not d < 0:
                continue
            r_lo, r_hi = max(lo, 0.0), max(hi, 0.0)
            if r_lo + r_hi > 0:
                u[t, j] = r_hi / (r_lo + r_hi)
    return _pandas_ewm(u, ewm_weight("h", params.share_halflife_events))


def _oracle_innovation(params: LeadLagParams, mid: np.ndarray, t: int, j: int) -> float:
    """``x_{j,t} - g^T z_{j,t-1}``, ``g`` from explicitly weighted sums over the ticks before t."""
    a = ewm_weight("h", params.var_halflife_ticks)
    x, x1 = _changes(mid)
    K = mid.shape[1]

    def z(s: int) -> np.ndarray:
        return np.array([x1[s, i] if 0 <= i < K else 0.0 for i in (j - 1, j, j + 1)])

    def ok(s: int) -> bool:
        return bool(np.isfinite(x[s, j]) and np.isfinite(z(s)).all())

    if not ok(t):
        return math.nan
    rows = [s for s in range(t) if ok(s)]
    gram, cross = np.zeros((3, 3)), np.zeros(3)
    for n, s in enumerate(rows):
        w = a * (1.0 - a) ** (len(rows) - 1 - n)
        gram += w * np.outer(z(s), z(s))
        cross += w * x[s, j] * z(s)
    lam = params.ridge * np.trace(gram) / 3.0
    g = np.linalg.inv(gram + lam * np.eye(3)) @ cross if lam > 0 else np.zeros(3)
    return float(x[t, j] - g @ z(t))


def _check(obs: GridObsBatch, n_var: int = 25) -> LeadLagBatch:
    online = _fold(PARAMS, obs)
    _assert_close(online, lead_lag_batch(PARAMS, obs))
    for name, ref in _oracle_corr(PARAMS, obs.mid).items():
        _assert_close_one(getattr(online, name), ref, name)
        got = getattr(online, name)
        assert np.all(np.abs(got[np.isfinite(got)]) <= 1.0 + 1e-12), name  # a correlation
    _assert_close_one(online.up_share, _oracle_share(PARAMS, obs.mid), "up_share")
    cells = np.argwhere(~np.isnan(online.innovation))
    assert len(cells) > n_var
    for t, j in cells[np.random.default_rng(0).choice(len(cells), size=n_var, replace=False)]:
        ref = _oracle_innovation(PARAMS, obs.mid, int(t), int(j))
        scale = abs(ref) + abs(obs.mid[t, j] - obs.mid[t - 1, j]) + 1e-300
        np.testing.assert_allclose(online.innovation[t, j], ref, rtol=1e-9, atol=1e-9 * scale)
    # where the oracle says "not computable", so does the feature
    gaps = np.argwhere(np.isnan(online.innovation))
    for t, j in gaps[np.random.default_rng(1).choice(len(gaps), size=min(10, len(gaps)))]:
        assert math.isnan(_oracle_innovation(PARAMS, obs.mid, int(t), int(j)))
    return online


def _assert_close_one(x: np.ndarray, y: np.ndarray, name: str) -> None:
    np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=name)
    np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.fixture(scope="module")
def sim_grid() -> GridObsBatch:
    res = simulate(SimConfig(n_days=1, cities=("NY",), n_prior_years=1, n_mc=16, seed=1))
    m = res.markets.assign(key=res.markets["floor_strike"].fillna(-1e9)).sort_values("key")
    t0 = m["open_time"].min() + pd.Timedelta(minutes=1)
    return _grid_mids(res.book_top, list(m["ticker"]), t0, m["close_time"].max(), step_s=30)


def test_fold_equals_batch_and_oracles_on_the_simulator(sim_grid: GridObsBatch) -> None:
    got = _check(sim_grid)
    assert np.isfinite(got.corr0).any() and np.isfinite(got.lead_up).any()
    assert np.isfinite(got.up_share).any()


@pytest.mark.realdata
def test_fold_equals_batch_and_oracles_on_a_real_event(shared_data: Path) -> None:
    """One day of the recorded best bid/offer log (jetpackjules, KXHIGHNY-25DEC16)."""
    raw = pd.read_csv(shared_data / BBO)
    ts = pd.to_datetime(raw["timestamp"]).dt.tz_localize(
        "America/Los_Angeles", ambiguous="NaT", nonexistent="NaT"
    )
    tops = pd.DataFrame(
        {
            "ts": ts.dt.tz_convert("UTC"),
            "ticker": raw["market_ticker"],
            # the logger writes an empty side as a bid of 0
            "yes_bid_cc": raw["best_yes_bid"].where(raw["best_yes_bid"] > 0) * 100,
            "no_bid_cc": raw["best_no_bid"].where(raw["best_no_bid"] > 0) * 100,
        }
    ).dropna(subset=["ts"])
    tickers = sorted(
        tops["ticker"].unique(),
        key=lambda t: (
            float(t.rsplit("-", 1)[1][1:]) - (0.5 if t.rsplit("-", 1)[1][0] == "T" else 0)
        ),
    )
    obs = _grid_mids(tops, tickers, tops["ts"].min(), tops["ts"].max(), step_s=30)
    assert obs.mid.shape[1] >= 5 and np.isnan(obs.mid).any()  # real gaps are exercised
    got = _check(obs)
    assert np.isfinite(got.corr0).any() and np.isfinite(got.up_share).any()


def test_a_missing_mid_holds_the_moments_and_is_flagged() -> None:
    rng = np.random.default_rng(3)
    mid = 5000 + np.cumsum(rng.normal(0, 50, (40, 4)), axis=0)
    mid[20, 2] = np.nan  # the changes of bracket 2 at ticks 20 and 21 are missing
    obs = GridObsBatch(np.arange(40) * 10 * NS_PER_S, mid)
    algo = lead_lag(PARAMS, 4)
    state, states, infos = algo.init(None), [], []
    for t, m in zip(obs.t_ns, obs.mid, strict=True):
        state, info = algo.update(state, GridObs(int(t), m), None)
        states.append(state)
        infos.append(info)
    s19, s21 = states[19], states[21]
    assert not infos[20].valid[2] and not infos[21].valid[2] and infos[20].valid[1]
    # moments reading bracket 2's change are held, the others move on
    assert s21.var[2] == s19.var[2] and s21.var[1] != s19.var[1]
    np.testing.assert_array_equal(s21.c0[1:3], s19.c0[1:3])
    assert s21.c0[0] != s19.c0[0]
    # equation 2 reads x_2 at t (ticks 20, 21) and at t-1 (21, 22); its neighbours only at
    # t-1 (ticks 21, 22): those ticks are skipped, equation 0 moves on
    np.testing.assert_array_equal(states[22].gram[1:4], states[20].gram[1:4])
    np.testing.assert_array_equal(states[20].gram[2], s19.gram[2])
    assert (states[20].gram[1] != s19.gram[1]).any()
    assert (states[22].gram[0] != states[20].gram[0]).any()
    for t in (21, 22):
        assert np.isnan(infos[t].innovation[1:4]).all() and np.isfinite(infos[t].innovation[0])
    assert np.isnan(infos[20].innovation[2]) and np.isfinite(infos[20].innovation[[0, 1, 3]]).all()
    assert np.isfinite(infos[23].innovation).all()
    assert np.isfinite(infos[21].corr0).all()  # held values are still reported
    _assert_close(stack_infos(infos), lead_lag_batch(PARAMS, obs))


def test_future_mids_do_not_change_past_features(sim_grid: GridObsBatch) -> None:
    """Online and batch: alter every mid after tick c, outputs up to c are bit-identical."""
    c = len(sim_grid.t_ns) // 2
    mid = sim_grid.mid.copy()
    mid[c + 1 :] = mid[c + 1 :][::-1] + 37.0
    future = GridObsBatch(sim_grid.t_ns, mid)
    for run in (lambda o: _fold(PARAMS, o), lambda o: lead_lag_batch(PARAMS, o)):
        a, b = run(sim_grid), run(future)
        for name, x, y in zip(LeadLagBatch._fields, a, b, strict=True):
            np.testing.assert_array_equal(x[: c + 1], y[: c + 1], err_msg=name)
        assert not np.array_equal(a.corr0[c + 2 :], b.corr0[c + 2 :], equal_nan=True)


def test_a_lead_is_found_where_one_was_planted() -> None:
    """Bracket 1 copies bracket 0's change one tick later: lead_up[0] -> 1, lead_down[0] ~ 0."""
    rng = np.random.default_rng(7)
    T = 3000
    x0 = rng.normal(0, 30, T)
    x = np.stack([x0, np.r_[0, x0[:-1]] + rng.normal(0, 3, T), rng.normal(0, 30, T)], 1)
    obs = GridObsBatch(np.arange(T) * NS_PER_S, 5000 + np.cumsum(x, axis=0))
    got = lead_lag_batch(LeadLagParams(corr_halflife_ticks=200.0, var_halflife_ticks=300.0), obs)
    assert got.lead_up[-1, 0] > 0.9 and abs(got.lead_down[-1, 0]) < 0.2
    assert abs(got.corr0[-1, 0]) < 0.2
    # the VAR(1) removes the predictable part: innovations of bracket 1 are small
    assert np.nanstd(got.innovation[-1000:, 1]) < 0.3 * np.std(x[-1000:, 1])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (LeadLagParams(corr_halflife_ticks=0.0), "corr_halflife_ticks = 0.0"),
        (LeadLagParams(var_halflife_ticks=-3.0), "var_halflife_ticks = -3.0"),
        (LeadLagParams(share_halflife_events=math.nan), "share_halflife_events = nan"),
        (LeadLagParams(corr_halflife_ticks="x"), "corr_halflife_ticks = 'x'"),
        (LeadLagParams(ridge=0.0), "ridge = 0.0"),
        (LeadLagParams(ridge=math.inf), "ridge = inf"),
    ],
)
def test_bad_params_raise(params: LeadLagParams, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        lead_lag(params, 3)
    with pytest.raises(ValueError, match=match):
        lead_lag_batch(params, GridObsBatch(np.arange(3), np.zeros((3, 3))))


def test_bad_obs_raise() -> None:
    with pytest.raises(ValueError, match="num_brackets=1"):
        lead_lag(PARAMS, 1)
    algo = lead_lag(PARAMS, 3)
    state, _ = algo.update(algo.init(None), GridObs(10, np.zeros(3)), None)
    with pytest.raises(ValueError, match="t_ns = 10 does not increase"):
        algo.update(state, GridObs(10, np.zeros(3)), None)
    with pytest.raises(ValueError, match=r"mid has shape \(4,\)"):
        algo.update(state, GridObs(11, np.zeros(4)), None)
    with pytest.raises(ValueError, match=r"t_ns\[2\] = 1 does not increase"):
        lead_lag_batch(PARAMS, GridObsBatch(np.array([0, 5, 1]), np.zeros((3, 3))))
