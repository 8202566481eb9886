"""Experiment kind ``bracket_pmf``: the logistic-normal bracket PMF tracker vs its baselines.

Models (all scored by the runner exactly like the ``baselines`` kind: same events, decision
times, metrics and splits, so the tables compare row for row):

* ``ukf``: the unscented Kalman tracker of :mod:`models.bracket_pmf` (alr random walk, bracket
  prices through the softmax, optional weather alr channel) with ``Q`` and the noise scales
  fitted by maximum marginal likelihood (optax) on training events; ``ukf.q_profile: day``
  (the default) also fits a log-quadratic variance-rate profile over the climate day
  (:func:`~models.bracket_pmf.model.operational_time`), ``constant`` holds the rate fixed;
  ``ukf.dtype`` is the precision of the filtering pass (the fit runs in float64);
* ``pf``: the bootstrap particle filter on the same model at the UKF-fitted parameters, run
  on the events of ``pf.splits`` only (default the test split: it is slow on CPU);
* ``market_last``: the normalised last trade of :mod:`models.baselines` (the ``baselines``
  kind's code, same rows);
* ``dirichlet_fusion`` / ``loglinear_pool``: ``market_last`` fused with the ``forecast_normal``
  weather PMF of :mod:`models.baselines`, weights fitted per decision time on training events
  (an event-time without a weather PMF falls back to ``market_last``).

Only data stamped before a decision instant enters its forecast (steps end on the instant;
see :mod:`models.bracket_pmf.steps`). The kind also writes a table of test-split differences
to ``market_last`` and plots of the PMF over a few test days.
"""

from __future__ import annotations

import math
from collections import defaultdict

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from kbayes.experiment.config import ConfigError
from kbayes.experiment.context import RunContext
from kbayes.experiment.data import EventDay
from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.experiment.runner import score_forecasts
from kbayes.market.cities import city_of
from kbayes.market.prices import CC_PER_CENT, CC_PER_DOLLAR
from models.baselines import (
    ForecastNormalParams,
    decision_grid,
    forecast_normal_forecasts,
    market_pmfs,
    market_prices,
    normalized_last_trade,
)
from models.bracket_pmf import (
    DAY_PROFILE,
    BracketPMFParams,
    EventSteps,
    StepConfig,
    build_event_steps,
    default_params,
    dirichlet_fusion,
    fit_dirichlet_fusion,
    fit_loglinear_pool,
    fit_params,
    loglinear_pool,
    natural_params,
    pf_tracker,
    stack_steps,
    track,
    ukf_tracker,
)

MODELS = ("ukf", "pf", "market_last", "dirichlet_fusion", "loglinear_pool")
DEFAULTS = {
    "models": list(MODELS),
    "market": {
        "source": "trades",
        "bin_minutes": 10,
        "trade_half_spread": 0.01,
        "max_staleness_h": 24.0,
        "observe": "last",
        "floor_cents": 1,
    },
    "weather": {
        "channel": False,
        "provider": "visualcrossing",
        "sigma_grid_min": 0.5,
        "sigma_grid_max": 12.0,
        "default_sigma": 3.0,
    },
    "init": {
        "q": 0.05,
        "p0": 2.0,
        "s0": 0.02,
        "spread": 1.0,
        "stale": 0.01,
        "volume": 0.02,
        "wx": 0.7,
        "wx_horizon": 0.7,
        "q_day1": 0.0,
        "q_day2": 0.0,
    },
    "fit": {
        "enabled": True,
        "max_events": 192,
        "num_iters": 80,
        "learning_rate": 0.05,
        "penalty": 0.001,
    },
    "ukf": {"repair": "jitter", "q_profile": "day", "dtype": "float32"},
    "pf": {"num_particles": 1000, "ess_threshold": 0.5, "splits": ["test"]},
    "batch_events": 64,
    "plots": {"num_days": 4},
}
MARKET_SOURCES = ("trades", "book", "auto")
Q_PROFILES = ("constant", "day")
DTYPES = ("float64", "float32")


def _check(params: dict) -> None:
    unknown = sorted(set(params["models"]) - set(MODELS))
    if unknown:
        raise ConfigError(f"params.models: unknown model(s) {unknown}; known: {list(MODELS)}")
    if params["market"]["source"] not in MARKET_SOURCES:
        raise ConfigError(f"params.market.source: one of {MARKET_SOURCES}")
    if params["ukf"]["q_profile"] not in Q_PROFILES:
        raise ConfigError(f"params.ukf.q_profile: one of {Q_PROFILES}")
    if params["ukf"]["dtype"] not in DTYPES:
        raise ConfigError(f"params.ukf.dtype: one of {DTYPES}")
    try:
        StepConfig(**_step_kwargs(params))._replace()
        build_event_steps(
            ["x"], None, [], pd.Timestamp(0, tz="UTC"), StepConfig(**_step_kwargs(params))
        )
    except ValueError as exc:
        raise ConfigError(f"params.market: {exc}") from exc


def _step_kwargs(params: dict) -> dict:
    m = params["market"]
    return {
        "bin_minutes": m["bin_minutes"],
        "trade_half_spread": m["trade_half_spread"],
        "max_staleness_h": m["max_staleness_h"],
        "observe": m["observe"],
    }


def _book(ctx: RunContext, source: str) -> pd.DataFrame | None:
    if source == "trades":
        return None
    events = sorted({e.event_ticker for e in ctx.data.events})
    book = ctx.data.store.query(
        "SELECT ts, ticker, event_ticker, yes_bid_cc, no_bid_cc, yes_bid_size_centi, "
        "yes_ask_size_centi FROM book_top WHERE event_ticker IN (SELECT unnest(?::VARCHAR[]))",
        [events],
    )
    if book.empty:
        if source == "book":
            ctx.note("bracket_pmf: market.source=book but book_top has no rows for these events")
        return None
    return book


def _event_steps(
    ctx: RunContext,
    trades: pd.DataFrame,
    book: pd.DataFrame | None,
    weather: dict[tuple[str, str], np.ndarray],
    use_weather: bool,
) -> dict[str, EventSteps]:
    config = StepConfig(**_step_kwargs(ctx.params))
    by_event = dict(iter(trades.groupby("event_ticker"))) if not trades.empty else {}
    books = dict(iter(book.groupby("event_ticker"))) if book is not None else {}
    labels = [d.label for d in ctx.config.decision_times]
    out = {}
    for e in ctx.data.events:
        instants = [pd.Timestamp(d.instant(e.city, e.date)) for d in ctx.config.decision_times]
        close = pd.Timestamp(city_of(e.city).lst_time(e.date, 0, 0, 1))
        wx = None
        if use_weather:
            k = len(e.ladder)
            wx = np.stack(
                [weather.get((e.event_ticker, lab), np.full(k, np.nan)) for lab in labels]
            )
        try:
            out[e.event_ticker] = build_event_steps(
                e.ladder.tickers,
                by_event.get(e.event_ticker),
                instants,
                close,
                config,
                book=books.get(e.event_ticker),
                weather=wx,
            )
        except ValueError as exc:
            raise ConfigError(f"{e.event_ticker}: {exc}") from exc
    return out


def _chunks(
    events: list[EventDay], steps: dict[str, EventSteps], size: int
) -> list[tuple[int, list[EventDay]]]:
    """Events grouped by K, sorted by length, cut into batches (static shapes per batch)."""
    by_k: dict[int, list[EventDay]] = defaultdict(list)
    for e in events:
        by_k[len(e.ladder)].append(e)
    out = []
    for k, evs in sorted(by_k.items()):
        evs = sorted(evs, key=lambda e: len(steps[e.event_ticker].times))
        for i in range(0, len(evs), size):
            out.append((k, evs[i : i + size]))
    return out


def _padded_length(n: int) -> int:
    """Round up to a multiple of 32 (few distinct shapes, few compilations)."""
    return max(32, int(math.ceil(n / 32) * 32))


def _run_tracker(
    ctx: RunContext,
    params: BracketPMFParams,
    steps: dict[str, EventSteps],
    model: str,
    use_weather: bool,
    seed: int,
) -> dict[str, np.ndarray]:
    """Per event: the ``(T, K)`` PMF path of ``model`` (``ukf`` or ``pf``)."""
    size = ctx.params["batch_events"]
    pf_par = ctx.params["pf"]
    repair = ctx.params["ukf"]["repair"]
    # The UKF's filtering pass in the configured precision (float32: the production path,
    # PMFs within ~1e-4 of float64); the particle filter stays in float64.
    dtype = jnp.float32 if model == "ukf" and ctx.params["ukf"]["dtype"] == "float32" else None
    if dtype is not None:
        params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), params)
    compiled: dict = {}

    def runner(k: int):
        if k not in compiled:
            if model == "ukf":

                def one(p, s, key):
                    del key
                    return track(ukf_tracker(p, k, use_weather, repair=repair), s)[1].pmf

            else:

                def one(p, s, key):
                    alg = pf_tracker(
                        p, k, pf_par["num_particles"], use_weather, pf_par["ess_threshold"]
                    )
                    return track(alg, s, key)[1].pmf

            compiled[k] = jax.jit(jax.vmap(one, in_axes=(None, 0, 0)))
        return compiled[k]

    index = {e.event_ticker: i for i, e in enumerate(ctx.data.events)}
    events = ctx.data.events
    if model == "pf":
        events = [e for e in events if e.split in pf_par["splits"]]
    paths: dict[str, np.ndarray] = {}
    for k, evs in _chunks(events, steps, size):
        if k == 1:
            for e in evs:
                paths[e.event_ticker] = np.ones((len(steps[e.event_ticker].times), 1))
            continue
        length = _padded_length(max(len(steps[e.event_ticker].times) for e in evs))
        batch = stack_steps([steps[e.event_ticker].steps for e in evs], length)
        # Pad the batch to a power of two (few compiled shapes per (K, length)).
        n_pad = min(size, 1 << (len(evs) - 1).bit_length()) - len(evs)
        batch = jax.tree_util.tree_map(
            lambda x, n=n_pad: np.concatenate([x, np.repeat(x[:1], n, axis=0)]), batch
        )
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(
            jnp.array([index[e.event_ticker] for e in evs] + [0] * n_pad)
        )
        batch = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), batch)
        pmf = np.asarray(runner(k)(params, batch, keys), dtype=float)
        for i, e in enumerate(evs):
            paths[e.event_ticker] = pmf[i, : len(steps[e.event_ticker].times)]
    return paths


def _fit(
    ctx: RunContext, init: BracketPMFParams, steps: dict[str, EventSteps], use_weather: bool
) -> BracketPMFParams:
    fp = ctx.params["fit"]
    train = [e for e in ctx.data.events if e.split == "train" and len(e.ladder) > 1]
    if not fp["enabled"] or not train:
        ctx.note(
            "bracket_pmf: parameters not fitted ("
            + ("fit.enabled is false" if not fp["enabled"] else "no training events")
            + "); using params.init"
        )
        return init
    rng = np.random.default_rng(ctx.config.seed)
    if len(train) > fp["max_events"]:
        pick = np.sort(rng.choice(len(train), fp["max_events"], replace=False))
        train = [train[i] for i in pick]
    batches = []
    for _, evs in _chunks(train, steps, len(train)):
        length = _padded_length(max(len(steps[e.event_ticker].times) for e in evs))
        batches.append(stack_steps([steps[e.event_ticker].steps for e in evs], length))
    fixed = () if use_weather else ("log_wx", "log_wx_horizon")
    if ctx.params["ukf"]["q_profile"] == "constant":
        fixed = (*fixed, *DAY_PROFILE)
    res = fit_params(
        init,
        batches,
        weather=use_weather,
        num_iters=fp["num_iters"],
        learning_rate=fp["learning_rate"],
        penalty=fp["penalty"],
        fixed=fixed,
    )
    ctx.fitted["bracket_pmf_params"] = {
        k: round(v, 6) for k, v in natural_params(res.params).items()
    }
    ctx.fitted["bracket_pmf_fit"] = {
        "events": len(train),
        "observed_rows": res.num_rows,
        "loss_first": round(float(res.loss_history[0]), 6),
        "loss_last": round(float(res.loss_history[-1]), 6),
    }
    return res.params


def _at_decisions(
    ctx: RunContext, steps: dict[str, EventSteps], paths: dict[str, np.ndarray]
) -> dict[tuple[str, str], np.ndarray]:
    out = {}
    for e in ctx.data.events:
        if e.event_ticker not in paths:
            continue
        idx = steps[e.event_ticker].decision_index
        for j, d in enumerate(ctx.config.decision_times):
            p = np.asarray(paths[e.event_ticker][idx[j]], dtype=float)
            out[(e.event_ticker, d.label)] = p / p.sum()
    return out


def _fusions(
    ctx: RunContext,
    market: dict[tuple[str, str], np.ndarray],
    weather: dict[tuple[str, str], np.ndarray],
    wanted: list[str],
) -> dict[str, dict[tuple[str, str], np.ndarray]]:
    events = {e.event_ticker: e for e in ctx.data.events}
    out: dict[str, dict[tuple[str, str], np.ndarray]] = {m: {} for m in wanted}
    fitted: dict[str, dict] = {m: {} for m in wanted}
    for d in ctx.config.decision_times:
        keys = [(ev, lab) for (ev, lab) in market if lab == d.label]
        train = [k for k in keys if events[k[0]].split == "train" and k in weather]
        pm = [market[k] for k in train]
        pw = [weather[k] for k in train]
        y = [events[k[0]].outcome for k in train]
        for m in wanted:
            if m == "dirichlet_fusion":
                w = fit_dirichlet_fusion(pm, pw, y)
                fitted[m][d.label] = w
                fn = lambda a, b, w=w: dirichlet_fusion(
                    a, b, w["n_market"], w["n_weather"], w["alpha0"]
                )
            else:
                w = fit_loglinear_pool(pm, pw, y)
                fitted[m][d.label] = w
                fn = lambda a, b, w=w: loglinear_pool(a, b, w["a"], w["b"])
            for k in keys:
                out[m][k] = fn(market[k], weather[k]) if k in weather else market[k]
    for m in wanted:
        ctx.fitted[f"{m}_weights"] = fitted[m]
    return out


def _comparison(ctx: RunContext, forecasts: pd.DataFrame) -> pd.DataFrame:
    labels = [d.label for d in ctx.config.decision_times]
    s = score_forecasts("bracket_pmf", forecasts, ctx.data, labels)
    s = s[s["split"] == "test"]
    if s.empty:
        return pd.DataFrame()
    ref = s[s["model"] == "market_last"].set_index(["decision_time", "city"])
    rows = []
    for r in s[s["model"] != "market_last"].itertuples(index=False):
        key = (r.decision_time, r.city)
        if key not in ref.index:
            continue
        b = ref.loc[key]
        rows.append(
            {
                "model": r.model,
                "decision_time": r.decision_time,
                "city": r.city,
                "n_events": r.n_events,
                "log_loss": r.log_loss,
                "d_log_loss": r.log_loss - b["log_loss"],
                "brier": r.brier,
                "d_brier": r.brier - b["brier"],
                "rps": r.rps,
                "d_rps": r.rps - b["rps"],
            }
        )
    return pd.DataFrame(rows).round(5)


def _plot_days(
    ctx: RunContext,
    steps: dict[str, EventSteps],
    paths: dict[str, dict[str, np.ndarray]],
    floor: float,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = ctx.params["plots"]["num_days"]
    test = [e for e in ctx.data.events if e.split == "test" and len(e.ladder) > 1]
    if not test or n <= 0 or not paths:
        return
    rng = np.random.default_rng(ctx.config.seed)
    pick = [test[i] for i in np.sort(rng.choice(len(test), min(n, len(test)), replace=False))]
    models = list(paths)
    fig, axes = plt.subplots(
        len(pick),
        len(models) + 1,
        figsize=(4.2 * (len(models) + 1), 2.8 * len(pick)),
        squeeze=False,
    )
    for r, e in enumerate(pick):
        st = steps[e.event_ticker]
        t = pd.to_datetime(st.times).tz_localize("UTC").tz_convert(city_of(e.city).lst)
        last = normalized_last_trade(st.steps.price, floor)
        panels = [("market last (normalised)", last)] + [
            (m, paths[m][e.event_ticker]) for m in models if e.event_ticker in paths[m]
        ]
        for c, (name, p) in enumerate(panels):
            ax = axes[r][c]
            ax.stackplot(t, np.asarray(p).T, labels=e.ladder.labels, alpha=0.85)
            lo = float(np.sum(np.asarray(p)[-1][: e.outcome])) if len(p) else 0.0
            ax.axhline(lo, color="k", lw=0.6, ls=":")
            ax.set_ylim(0, 1)
            ax.set_title(f"{e.event_ticker}: {name}", fontsize=8)
            ax.tick_params(labelsize=6)
            for d in ctx.config.decision_times:
                ax.axvline(
                    pd.Timestamp(d.instant(e.city, e.date)).tz_convert(t.tz), color="grey", lw=0.4
                )
        axes[r][0].legend(
            fontsize=5,
            loc="upper left",
            title=f"won: {e.ladder.labels[e.outcome]}",
            title_fontsize=5,
        )
    fig.tight_layout()
    fig.savefig(ctx.out_dir / "pmf_over_day.png", dpi=110)
    plt.close(fig)
    ctx.add_plot("pmf_over_day.png")


def run(ctx: RunContext) -> pd.DataFrame:
    """Forecast rows ``(model, decision_time, event_ticker, probs)`` for every model."""
    params = ctx.params
    _check(params)
    wanted = params["models"]
    use_weather = params["weather"]["channel"]
    need_weather = use_weather or bool({"dirichlet_fusion", "loglinear_pool"} & set(wanted))
    forecasts: dict[str, dict[tuple[str, str], np.ndarray]] = {}
    floor = params["market"]["floor_cents"] * CC_PER_CENT
    with ctx.step("market prices"):
        grid = decision_grid(ctx.data.events, ctx.config.decision_times)
        trades = ctx.data.trades()
        market = market_pmfs(grid, market_prices(grid, trades, None, floor), floor)
    if "market_last" in wanted:
        forecasts["market_last"] = market
    weather: dict[tuple[str, str], np.ndarray] = {}
    if need_weather:
        with ctx.step("weather PMF (forecast_normal)"):
            wx = ForecastNormalParams(
                **{k: v for k, v in params["weather"].items() if k != "channel"}
            )
            weather = forecast_normal_forecasts(ctx, wx)
    fusions = [m for m in ("dirichlet_fusion", "loglinear_pool") if m in wanted]
    if fusions:
        with ctx.step("fusion baselines"):
            forecasts.update(_fusions(ctx, market, weather, fusions))
    paths: dict[str, dict[str, np.ndarray]] = {}
    steps: dict[str, EventSteps] = {}
    if {"ukf", "pf"} & set(wanted):
        with ctx.step("step features"):
            book = _book(ctx, params["market"]["source"])
            steps = _event_steps(ctx, trades, book, weather, use_weather)
            n_steps = [len(s.times) for s in steps.values()]
            ctx.fitted["bracket_pmf_steps"] = {
                "events": len(n_steps),
                "median": float(np.median(n_steps)) if n_steps else 0.0,
                "max": int(max(n_steps, default=0)),
                "book_events": 0 if book is None else int(book["event_ticker"].nunique()),
            }
        with jax.enable_x64(True):
            init = default_params(**params["init"])
            with ctx.step("fit (UKF marginal likelihood, optax)"):
                fitted = _fit(ctx, init, steps, use_weather)
            for m in ("ukf", "pf"):
                if m in wanted:
                    with ctx.step(f"{m} filtering"):
                        paths[m] = _run_tracker(ctx, fitted, steps, m, use_weather, ctx.config.seed)
                        forecasts[m] = _at_decisions(ctx, steps, paths[m])
    rows = [(m, lab, ev, p) for m in wanted for (ev, lab), p in forecasts[m].items()]
    out = pd.DataFrame(rows, columns=["model", "decision_time", "event_ticker", "probs"])
    if "market_last" in wanted:
        table = _comparison(ctx, out)
        if not table.empty:
            ctx.add_table(
                "vs_market_last",
                table,
                "Test split: scores and differences to market_last (negative = better)",
            )
    if paths:
        with ctx.step("plots"):
            _plot_days(ctx, steps, paths, floor / CC_PER_DOLLAR)
    return out


KIND = register_kind(
    ExperimentKind(
        name="bracket_pmf",
        run=run,
        defaults=DEFAULTS,
        description="logistic-normal bracket PMF (UKF, PF) vs last trade, Dirichlet, log pool",
    )
)
