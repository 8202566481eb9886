"""Experiment kind ``baselines``: the reference bracket PMFs every model must beat.

At each decision time ``t`` (local standard time) and for every event with a known outcome:

* ``market_last``: each bracket's last trade price strictly before ``t`` (1 cent if none),
  normalised over the ladder;
* ``market_vwap30``: each bracket's volume-weighted price of trades in ``[t - 30 min, t)``,
  falling back to its last trade before the window (1 cent if none), normalised;
* ``climatology``: a Gaussian-kernel density of the official highs of the same calendar month in
  *earlier* years at the same station (no look-ahead), summed over each bracket's integers;
* ``forecast_normal``: a Normal around the latest daily-high forecast issued before ``t``,
  discretised to whole °F (``P(T = n) = Phi((n + .5 - mu) / s) - Phi((n - .5 - mu) / s)``),
  with ``s`` fitted per decision time on the training split by maximum likelihood of the
  realised brackets (grid search).

Only data stamped before ``t`` is used (DESIGN 4); outcomes are read only as labels.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from scipy.special import ndtr

from kbayes.experiment.data import OFFICIAL_SOURCE_PRIORITY
from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.experiment.runner import RunContext
from kbayes.market.cities import city_of
from kbayes.market.ladder import Ladder

MODELS = ("market_last", "market_vwap30", "climatology", "forecast_normal")
DEFAULTS = {
    "models": list(MODELS),
    "market_last": {"floor_cents": 1},
    "market_vwap30": {"window_minutes": 30},
    "climatology": {"kernel_sigma_f": 2.0, "min_values": 20},
    "forecast_normal": {
        "provider": "visualcrossing",
        "sigma_grid_min": 0.5,
        "sigma_grid_max": 12.0,
        "default_sigma": 3.0,
    },
}


def _decision_grid(ctx: RunContext) -> pd.DataFrame:
    """One row per (event, bracket, decision time) with the decision instant."""
    rows = []
    for e in ctx.data.events:
        for d in ctx.config.decision_times:
            t = pd.Timestamp(d.instant(e.city, e.date))
            for k, ticker in enumerate(e.ladder.tickers):
                rows.append((e.event_ticker, d.label, k, ticker, t))
    df = pd.DataFrame(rows, columns=["event_ticker", "decision_time", "k", "ticker", "t"])
    df["t"] = df["t"].astype("datetime64[us, UTC]")
    return df


def market_prices(
    grid: pd.DataFrame, trades: pd.DataFrame, window_minutes: int | None, floor_cc: int
) -> pd.Series:
    """Per grid row: last trade before ``t`` or VWAP over ``[t - window, t)``, in cc."""
    if trades.empty:
        return pd.Series(float(floor_cc), index=grid.index)
    cols = ["ticker", "ts", "yes_price_cc", "count_centi"]
    tr = trades[[*cols, "trade_id"]].copy() if "trade_id" in trades else trades[cols].copy()
    tr["ts"] = tr["ts"].astype("datetime64[us, UTC]")
    tr = tr.sort_values(["ts", "trade_id"] if "trade_id" in tr else ["ts"], kind="mergesort")
    tr["pv"] = tr["yes_price_cc"].astype(float) * tr["count_centi"].astype(float)
    tr["cum_pv"] = tr.groupby("ticker")["pv"].cumsum()
    tr["cum_v"] = tr.groupby("ticker")["count_centi"].cumsum().astype(float)
    q = grid[["ticker", "t"]].copy()
    q["_row"] = np.arange(len(q))
    q = q.sort_values("t", kind="mergesort")
    at_t = pd.merge_asof(q, tr, left_on="t", right_on="ts", by="ticker", allow_exact_matches=False)
    last = at_t["yes_price_cc"].astype(float)
    if window_minutes is None:
        price = last
    else:
        q0 = q.assign(t=q["t"] - pd.Timedelta(minutes=window_minutes))
        at_0 = pd.merge_asof(
            q0, tr, left_on="t", right_on="ts", by="ticker", allow_exact_matches=False
        )
        dv = at_t["cum_v"].fillna(0.0).to_numpy() - at_0["cum_v"].fillna(0.0).to_numpy()
        dpv = at_t["cum_pv"].fillna(0.0).to_numpy() - at_0["cum_pv"].fillna(0.0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(dv > 0, dpv / np.where(dv > 0, dv, 1.0), np.nan)
        price = pd.Series(vwap, index=at_t.index).fillna(last)
    price = price.fillna(float(floor_cc)).clip(lower=float(floor_cc))
    out = pd.Series(price.to_numpy(), index=at_t["_row"].to_numpy()).sort_index()
    return pd.Series(out.to_numpy(), index=grid.index)


def _normalise(grid: pd.DataFrame, price: pd.Series) -> dict[tuple[str, str], np.ndarray]:
    g = grid.assign(price=price.to_numpy()).sort_values(["event_ticker", "decision_time", "k"])
    out = {}
    for (ev, d), sub in g.groupby(["event_ticker", "decision_time"], sort=False):
        p = sub["price"].to_numpy(dtype=float)
        out[(ev, d)] = p / p.sum()
    return out


def climatology_pmf(ladder: Ladder, history: np.ndarray, sigma: float) -> np.ndarray:
    """Kernel-smoothed PMF of the whole-°F high from past values, summed over the ladder."""
    lo, hi = float(history.min()) - 6 * sigma - 2, float(history.max()) + 6 * sigma + 2
    grid = np.arange(np.floor(lo), np.ceil(hi) + 1)
    # Mass of each integer n: kernel integrated over [n - .5, n + .5].
    mass = (
        ndtr((grid[:, None] + 0.5 - history[None, :]) / sigma)
        - ndtr((grid[:, None] - 0.5 - history[None, :]) / sigma)
    ).sum(axis=1)
    mass /= mass.sum()
    cdf_vals = np.cumsum(mass)

    def cdf(x: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(grid, x, side="right") - 1
        return np.where(idx < 0, 0.0, cdf_vals[np.clip(idx, 0, len(grid) - 1)])

    return _fix(ladder.pmf_from_cdf(cdf))


def normal_pmf(ladder: Ladder, mu: float, sigma: float) -> np.ndarray:
    """Normal(mu, sigma) discretised to whole °F and summed over each bracket."""
    return _fix(ladder.pmf_from_cdf(lambda x: ndtr((x + 0.5 - mu) / sigma)))


def _fix(p: np.ndarray) -> np.ndarray:
    # Far-tail brackets can underflow to 0; a tiny floor keeps log loss finite before clipping.
    p = np.maximum(p, 1e-12)
    return p / p.sum()


def _climatology(ctx: RunContext, params: dict) -> dict[tuple[str, str], np.ndarray]:
    highs = ctx.data.store.read("official_highs")
    out: dict[tuple[str, str], np.ndarray] = {}
    if highs.empty:
        ctx.note("climatology: no official highs in the store")
        return out
    # One value per (station, date), from the most authoritative source (CLI first).
    rank = {src: i for i, src in enumerate(OFFICIAL_SOURCE_PRIORITY)}
    highs = highs.assign(_r=highs["source"].map(lambda x: rank.get(x, len(rank))))
    highs = highs.sort_values("_r", kind="mergesort").drop_duplicates(["station", "date"])
    highs["month"] = [d.month for d in highs["date"]]
    highs["year"] = [d.year for d in highs["date"]]
    by_station = {s: g for s, g in highs.groupby("station")}
    missing = 0
    for e in ctx.data.events:
        g = by_station.get(city_of(e.city).station)
        if g is None:
            missing += 1
            continue
        vals = g[(g["month"] == e.date.month) & (g["year"] < e.date.year)]["tmax_f"]
        if len(vals) < params["min_values"]:
            missing += 1
            continue
        p = climatology_pmf(e.ladder, vals.to_numpy(dtype=float), params["kernel_sigma_f"])
        for d in ctx.config.decision_times:
            out[(e.event_ticker, d.label)] = p
    if missing:
        ctx.note(
            f"climatology: {missing} events lack >= {params['min_values']} earlier "
            "same-month official highs and are not scored for this model"
        )
    return out


def _forecast_normal(ctx: RunContext, params: dict) -> dict[tuple[str, str], np.ndarray]:
    fc = ctx.data.store.query(
        "SELECT station, target_date, issued_at, tmax_f FROM forecast_daily "
        "WHERE provider = ? AND tmax_f IS NOT NULL ORDER BY issued_at",
        [params["provider"]],
    )
    out: dict[tuple[str, str], np.ndarray] = {}
    if fc.empty:
        ctx.note(f"forecast_normal: no daily forecasts from provider {params['provider']!r}")
        return out
    by_key = {k: g for k, g in fc.groupby(["station", "target_date"])}
    mus: dict[tuple[str, str], float] = {}
    for e in ctx.data.events:
        g = by_key.get((city_of(e.city).station, e.date))
        if g is None:
            continue
        issued = g["issued_at"].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
        for d in ctx.config.decision_times:
            t = np.datetime64(pd.Timestamp(d.instant(e.city, e.date)).tz_convert(None), "us")
            i = np.searchsorted(issued, t, side="left") - 1
            if i >= 0:
                mus[(e.event_ticker, d.label)] = float(g["tmax_f"].iloc[i])
    events = {e.event_ticker: e for e in ctx.data.events}
    grid = np.linspace(params["sigma_grid_min"], params["sigma_grid_max"], 116)
    sigmas: dict[str, float] = {}
    for d in ctx.config.decision_times:
        train = [
            (events[ev], mu)
            for (ev, lab), mu in mus.items()
            if lab == d.label and events[ev].split == "train"
        ]
        if len(train) < 5:
            sigmas[d.label] = params["default_sigma"]
            ctx.note(
                f"forecast_normal {d.label}: {len(train)} training events; "
                f"sigma = default {params['default_sigma']}"
            )
            continue
        # Likelihood of each realised bracket [lo, hi] under every sigma on the grid at once.
        b = [e.ladder[e.outcome] for e, _ in train]
        mu = np.array([m for _, m in train])[:, None]
        hi = np.array([np.inf if x.hi is None else x.hi + 0.5 for x in b])[:, None]
        lo = np.array([-np.inf if x.lo is None else x.lo - 0.5 for x in b])[:, None]
        lik = ndtr((hi - mu) / grid[None, :]) - ndtr((lo - mu) / grid[None, :])
        nll = -np.log(np.maximum(lik, 1e-12)).sum(axis=0)
        sigmas[d.label] = round(float(grid[int(np.argmin(nll))]), 4)
    ctx.fitted["forecast_normal_sigma_f"] = sigmas
    for (ev, lab), mu in mus.items():
        out[(ev, lab)] = normal_pmf(events[ev].ladder, mu, sigmas[lab])
    unscored = len(ctx.data.events) * len(ctx.config.decision_times) - len(out)
    if unscored:
        ctx.note(
            f"forecast_normal: {unscored} event-times have no forecast issued before the "
            "decision time and are not scored for this model"
        )
    return out


def run(ctx: RunContext) -> pd.DataFrame:
    """Forecast rows ``(model, decision_time, event_ticker, probs)`` for every baseline."""
    params = ctx.params
    unknown = sorted(set(params["models"]) - set(MODELS))
    if unknown:
        from kbayes.experiment.config import ConfigError

        raise ConfigError(f"params.models: unknown model(s) {unknown}; known: {list(MODELS)}")
    forecasts: dict[str, dict[tuple[str, str], np.ndarray]] = defaultdict(dict)
    wanted = params["models"]
    if {"market_last", "market_vwap30"} & set(wanted):
        with ctx.step("market prices"):
            grid = _decision_grid(ctx)
            trades = ctx.data.trades()
            floor = params["market_last"]["floor_cents"] * 100
            if "market_last" in wanted:
                forecasts["market_last"] = _normalise(
                    grid, market_prices(grid, trades, None, floor)
                )
            if "market_vwap30" in wanted:
                w = params["market_vwap30"]["window_minutes"]
                forecasts["market_vwap30"] = _normalise(grid, market_prices(grid, trades, w, floor))
    if "climatology" in wanted:
        with ctx.step("climatology"):
            forecasts["climatology"] = _climatology(ctx, params["climatology"])
    if "forecast_normal" in wanted:
        with ctx.step("forecast normal"):
            forecasts["forecast_normal"] = _forecast_normal(ctx, params["forecast_normal"])
    rows = [(m, lab, ev, p) for m in wanted for (ev, lab), p in forecasts[m].items()]
    return pd.DataFrame(rows, columns=["model", "decision_time", "event_ticker", "probs"])


KIND = register_kind(
    ExperimentKind(
        name="baselines",
        run=run,
        defaults=DEFAULTS,
        description="market last-trade and 30-min VWAP, climatology, Normal around the forecast",
    )
)
