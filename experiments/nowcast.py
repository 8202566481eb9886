"""Experiment kind ``nowcast``: the Tmax AR nowcaster (DESIGN 3.2) against simple baselines.

Models scored at every decision time (bracket PMFs, scored by the runner like ``baselines``):

* ``tmax_ar``: :mod:`models.tmax_ar`, NUTS on the training days, nowcast from the day's
  reports stamped before ``t``;
* ``persistence``: all mass on the bracket of the running 5-minute maximum (whole °F);
* ``rmax_plus_rise``: running maximum plus the empirical distribution of the remaining rise
  ``H_d - rmax_d(t)`` (whole °F) over the training days at the same time of day;
* ``climatology``: kernel PMF of the same calendar month's official highs in earlier years
  (as in ``baselines``).

``persistence`` and ``rmax_plus_rise`` need a report before ``t`` and are not scored
otherwise (a note says how often). Extra tables: CRPS of the high, the 60-minute hazard's
reliability (model and a climatological hazard by hour of day), NUTS diagnostics. Plots:
posterior paths against the observed day, PIT histograms, hazard reliability diagram. The
posterior is saved as ArviZ netCDF (``tmax_ar_posterior.nc``).

No look-ahead: a nowcast at ``t`` sees only reports stamped before ``t``, the baseline path
uses forecasts issued before ``T-1 20:00`` (or official highs of earlier years), and the fit,
gap and rise distributions use training days only. Outcomes are labels only.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from scipy.special import ndtr

from kbayes.experiment.data import OFFICIAL_SOURCE_PRIORITY
from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.experiment.runner import RunContext
from kbayes.io.temperature import c_to_f_whole
from kbayes.market.cities import city_of
from kbayes.market.ladder import Ladder
from kbayes.scoring import (
    crps_pmf,
    crps_samples,
    ece_from_bins,
    pit_pmf,
    reliability_bins,
    write_pit_png,
    write_reliability_png,
)
from models.baselines import climatology_pmf
from models.tmax_ar.baseline import BaselineWarning, baseline_paths, fit_diurnal
from models.tmax_ar.fit import FitConfig, diagnostics_summary, fit_nuts, save_idata
from models.tmax_ar.gap import fit_gap
from models.tmax_ar.grid import STEPS, TENTHS, DayObs, day_grid, observed_max, steps_before
from models.tmax_ar.model import FitData
from models.tmax_ar.nowcast import NowcastDay, NowcastWarning, nowcast

MODELS = ("tmax_ar", "persistence", "rmax_plus_rise", "climatology")
DEFAULTS = {
    "models": list(MODELS),
    "fit": {
        "num_warmup": 500,
        "num_samples": 1000,
        "num_chains": 4,
        "chain_method": "vectorized",
        "target_accept": 0.9,
        "max_tree_depth": 8,
        "min_coverage": 0.1,
    },
    "nowcast": {"n_paths": 1000, "n_candidates": 4000, "pseudo_count": 0.1},
    "baseline": {"use_forecast": True, "forecast_hours_before": 4.0, "min_coverage": 0.8},
    "gap": {"min_coverage": 0.95},
    "hazard": {"eval_hours": [2, 5, 8, 10, 12, 13, 14, 15, 16, 18, 21], "min_window_coverage": 0.5},
    "climatology": {"kernel_sigma_f": 2.0, "min_values": 20},
    "plots": {"n_path_days": 4, "path_decision": "11:00"},
}


def _best_highs(store) -> dict[tuple[str, dt.date], int]:
    highs = store.read("official_highs")
    rank = {s: i for i, s in enumerate(OFFICIAL_SOURCE_PRIORITY)}
    highs = highs.assign(_r=highs["source"].map(lambda x: rank.get(x, len(rank))))
    highs = highs.sort_values("_r", kind="mergesort").drop_duplicates(["station", "date"])
    return {(r.station, r.date): int(r.tmax_f) for r in highs.itertuples(index=False)}


def _int_pmf_to_ladder(lo: int, mass: np.ndarray, ladder: Ladder) -> np.ndarray:
    cdf_vals = np.cumsum(mass)

    def cdf(x: np.ndarray) -> np.ndarray:
        idx = (np.asarray(x) - lo).astype(int)
        return np.where(idx < 0, 0.0, cdf_vals[np.clip(idx, 0, len(mass) - 1)])

    p = np.clip(ladder.pmf_from_cdf(cdf), 0.0, None)
    return p / p.sum()


def _clim_int_pmf(history: np.ndarray, sigma: float) -> tuple[int, np.ndarray]:
    grid = np.arange(
        np.floor(history.min() - 6 * sigma - 2), np.ceil(history.max() + 6 * sigma + 3)
    )
    mass = (
        ndtr((grid[:, None] + 0.5 - history[None, :]) / sigma)
        - ndtr((grid[:, None] - 0.5 - history[None, :]) / sigma)
    ).sum(axis=1)
    return int(grid[0]), mass / mass.sum()


def _load_grids(ctx: RunContext, train_end: dt.date):
    """Per city: DayObs over training days with reports and every event day."""
    store = ctx.data.store
    cities = sorted({e.city for e in ctx.data.events})
    ev_days = {c: sorted({e.date for e in ctx.data.events if e.city == c}) for c in cities}
    first = ctx.config.data.start or min(min(v) for v in ev_days.values())
    last = max(max(v) for v in ev_days.values())
    stations = [city_of(c).station for c in cities]
    obs = store.query(
        "SELECT station, ts, temp_c, temp_source FROM weather_obs "
        "WHERE station IN (SELECT unnest(?::VARCHAR[])) AND ts >= ? AND ts < ?",
        [
            stations,
            pd.Timestamp(first) - pd.Timedelta(days=1),
            pd.Timestamp(last) + pd.Timedelta(days=2),
        ],
    )
    grids = {}
    for c in cities:
        cal = [first + dt.timedelta(days=i) for i in range((train_end - first).days + 1)]
        days = sorted(set(cal) | set(ev_days[c]))
        grids[c] = day_grid(obs, city_of(c), days)
    return grids


def _rises(grid: DayObs, train: np.ndarray, highs: dict, station: str, s_t: int) -> np.ndarray:
    out = []
    for i in np.flatnonzero(train):
        h = highs.get((station, grid.dates[i]))
        rm = observed_max(grid.y[i, :s_t], grid.kind[i, :s_t])
        if h is not None and np.isfinite(rm) and (grid.kind[i] > 0).mean() > 0.5:
            out.append(h - c_to_f_whole(round(rm, 1)))
    return np.array(out, dtype=float)


def _hazard_truth(y: np.ndarray, kind: np.ndarray, s_t: int, min_cov: float) -> float | None:
    """1 if a tenths report in [s_t, s_t + 12) beats the running max, NaN-free; None if unknown."""
    rm = observed_max(y[:s_t], kind[:s_t])
    w = slice(s_t, min(s_t + 12, STEPS))
    if not np.isfinite(rm) or s_t + 12 > STEPS:
        return None
    seen = kind[w] == TENTHS
    if seen.mean() < min_cov:
        return None
    return float((y[w][seen] > rm + 1e-6).any())


def _plot_paths(
    path: Path, panels: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, int, int]]
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(panels)
    fig = Figure(figsize=(5.0 * min(n, 2), 3.4 * ((n + 1) // 2)))
    FigureCanvasAgg(fig)
    hours = np.arange(STEPS) / 12.0
    for k, (title, paths, y, kind, s_t, high) in enumerate(panels):
        ax = fig.add_subplot((n + 1) // 2, min(n, 2), k + 1)
        for p in paths[:60]:
            ax.plot(hours, p * 1.8 + 32, color="tab:blue", alpha=0.08, lw=0.7)
        ok = kind > 0
        ax.plot(hours[ok], y[ok] * 1.8 + 32, ".", ms=2, color="k", label="reports")
        ax.axvline(s_t / 12.0, color="tab:red", ls="--", lw=1, label="decision time")
        ax.axhline(high, color="tab:green", lw=1, label="official high")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("hour (LST)")
        ax.set_ylabel("°F")
        if k == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def run(ctx: RunContext) -> pd.DataFrame:
    """Forecast rows ``(model, decision_time, event_ticker, probs)`` for every model."""
    params = ctx.params
    unknown = sorted(set(params["models"]) - set(MODELS))
    if unknown:
        from kbayes.experiment.config import ConfigError

        raise ConfigError(f"params.models: unknown model(s) {unknown}; known: {list(MODELS)}")
    wanted = params["models"]
    events = ctx.data.events
    if not events:
        return pd.DataFrame(columns=["model", "decision_time", "event_ticker", "probs"])
    train_end = ctx.config.split.train_end
    store = ctx.data.store
    highs = _best_highs(store)
    highs_df = store.read("official_highs")
    cities = sorted({e.city for e in events})
    st_index = {c: i for i, c in enumerate(cities)}

    with ctx.step("grids and baselines"):
        grids = _load_grids(ctx, train_end)
        hourly = store.query(
            "SELECT station, target_ts, issued_at, temp_f FROM forecast_hourly "
            "WHERE station IN (SELECT unnest(?::VARCHAR[]))",
            [[city_of(c).station for c in cities]],
        )
        bases, train_masks = {}, {}
        m5s, offs = [], []
        for c in cities:
            g, city = grids[c], city_of(c)
            is_train = np.array([d <= train_end for d in g.dates])
            cov = (g.kind > 0).mean(axis=1)
            train_masks[c] = is_train & (cov >= params["fit"]["min_coverage"])
            sub = DayObs(
                g.station,
                [d for d, t in zip(g.dates, is_train, strict=True) if t],
                g.y[is_train],
                g.kind[is_train],
            )
            clim = fit_diurnal(sub, params["baseline"]["min_coverage"])
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BaselineWarning)
                base, src = baseline_paths(
                    g,
                    clim,
                    highs_df,
                    hourly,
                    [city.climate_day_window(d) for d in g.dates],
                    params["baseline"]["use_forecast"],
                    params["baseline"]["forecast_hours_before"],
                )
            for w in caught:
                ctx.note(f"tmax_ar {c}: {w.message}")
            bases[c] = base
            ctx.fitted[f"baseline_sources_{c}"] = dict(Counter(src))
            full = is_train & ((g.kind == TENTHS).mean(axis=1) >= params["gap"]["min_coverage"])
            for i in np.flatnonzero(full):
                h = highs.get((city.station, g.dates[i]))
                if h is not None:
                    m5s.append(np.where(g.kind[i] == TENTHS, g.y[i], -np.inf).max())
                    offs.append(h)
        gap = fit_gap(np.array(m5s), np.array(offs))
        ctx.fitted["gap"] = gap._asdict()
        ctx.note(
            f"5-min max -> official gap from {gap.n_days} complete training days: "
            f"P(0) = {gap.p_zero:.2f}, positive part mean {gap.mean_c:.2f} °C "
            f"({gap.n_inconsistent} days with official < 5-min max skipped)"
        )

    fc = params["fit"]
    fit_cfg = FitConfig(
        fc["num_warmup"],
        fc["num_samples"],
        fc["num_chains"],
        fc["chain_method"],
        fc["target_accept"],
        fc["max_tree_depth"],
    )
    with ctx.step("NUTS fit"):
        ys, ks, bs, ss = [], [], [], []
        for c in cities:
            m = train_masks[c]
            ys.append(grids[c].y[m])
            ks.append(grids[c].kind[m])
            bs.append(bases[c][m])
            ss.append(np.full(m.sum(), st_index[c]))
        data = FitData(
            jax.numpy.asarray(np.concatenate(ys), dtype=jax.numpy.float32),
            jax.numpy.asarray(np.concatenate(ks)),
            jax.numpy.asarray(np.concatenate(bs), dtype=jax.numpy.float32),
            jax.numpy.asarray(np.concatenate(ss)),
            len(cities),
        )
        fit = fit_nuts(jax.random.PRNGKey(ctx.config.seed), data, fit_cfg)
        save_idata(fit.idata, ctx.out_dir / "tmax_ar_posterior.nc")
        summ = diagnostics_summary(fit.diagnostics, fit.n_divergent)
        ctx.fitted["tmax_ar_diagnostics"] = summ
        ctx.fitted["tmax_ar_fit_s"] = round(fit.seconds, 1)
        ctx.fitted["tmax_ar_train_days"] = int(data.y.shape[0])
        ctx.add_table(
            "tmax_ar_diagnostics",
            fit.diagnostics.round(4),
            "tmax_ar NUTS diagnostics per parameter (r-hat, bulk/tail ESS)",
        )
        ok = summ["max_r_hat"] < 1.01 and summ["min_ess_bulk"] > 400 and summ["n_divergent"] == 0
        ctx.note(
            f"tmax_ar NUTS on {data.y.shape[0]} training days x {STEPS} steps "
            f"({fit_cfg.num_chains} chains x {fit_cfg.num_samples} draws, {fit.seconds:.0f} s): "
            f"max r-hat {summ['max_r_hat']:.3f}, min bulk ESS {summ['min_ess_bulk']:.0f}, "
            f"divergences {summ['n_divergent']} over {summ['n_params']} parameters"
            + ("" if ok else " -- BELOW the r-hat < 1.01 / ESS > 400 / 0-divergence targets")
        )

    rows, crps_rows, pit_rec, haz_rows, panels = [], [], [], [], []
    warn_count: Counter[str] = Counter()
    clim_p = params["climatology"]
    nc_p = params["nowcast"]
    key = jax.random.PRNGKey(ctx.config.seed + 1)
    rise_cache: dict[tuple[str, int], np.ndarray] = {}
    skipped_rmax = 0
    with ctx.step("nowcasts and baselines"):
        for n_ev, e in enumerate(events):
            city = city_of(e.city)
            g = grids[e.city]
            i = g.dates.index(e.date)
            day = NowcastDay(g.y[i], g.kind[i], bases[e.city][i], st_index[e.city])
            truth_f = e.outcome_f if e.outcome_f is not None else highs.get((city.station, e.date))
            hist = [
                v
                for (s, d), v in highs.items()
                if s == city.station and d.month == e.date.month and d.year < e.date.year
            ]
            clim_int = (
                _clim_int_pmf(np.array(hist, dtype=float), clim_p["kernel_sigma_f"])
                if len(hist) >= clim_p["min_values"]
                else None
            )
            for d in ctx.config.decision_times:
                s_t = steps_before(city, e.date, d.instant(e.city, e.date))
                rm = observed_max(g.y[i, :s_t], g.kind[i, :s_t])
                rm_f = c_to_f_whole(round(rm, 1)) if np.isfinite(rm) else None
                preds: dict[str, tuple[np.ndarray, object]] = {}
                if "tmax_ar" in wanted:
                    key, sub = jax.random.split(key)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", NowcastWarning)
                        nc = nowcast(
                            sub,
                            fit.posterior,
                            gap,
                            day,
                            s_t,
                            e.ladder,
                            nc_p["n_paths"],
                            nc_p["n_candidates"],
                        )
                    for w in caught:
                        warn_count[str(w.message).split(":")[0].split(" ")[0]] += 1
                    preds["tmax_ar"] = (nc.pmf, ("samples", nc.high_f))
                    if (
                        e.split == "test"
                        and d.label == params["plots"]["path_decision"]
                        and len(panels) < params["plots"]["n_path_days"]
                        and truth_f
                    ):
                        panels.append(
                            (
                                f"{e.event_ticker} at {d.label} LST",
                                nc.paths,
                                g.y[i],
                                g.kind[i],
                                s_t,
                                truth_f,
                            )
                        )
                if rm_f is not None and "persistence" in wanted:
                    mass = np.array([1.0])
                    preds["persistence"] = (
                        _int_pmf_to_ladder(rm_f, mass, e.ladder),
                        ("int", rm_f, mass),
                    )
                if rm_f is not None and "rmax_plus_rise" in wanted:
                    ck = (e.city, s_t)
                    if ck not in rise_cache:
                        rise_cache[ck] = _rises(g, train_masks[e.city], highs, city.station, s_t)
                    r = rise_cache[ck]
                    if len(r):
                        r = np.maximum(r, 0).astype(int)
                        mass = np.bincount(r, minlength=r.max() + 4).astype(float) + 0.1
                        mass /= mass.sum()
                        preds["rmax_plus_rise"] = (
                            _int_pmf_to_ladder(rm_f, mass, e.ladder),
                            ("int", rm_f, mass),
                        )
                if rm_f is None:
                    skipped_rmax += 1
                if clim_int is not None and "climatology" in wanted:
                    p = climatology_pmf(
                        e.ladder, np.array(hist, dtype=float), clim_p["kernel_sigma_f"]
                    )
                    preds["climatology"] = (p, ("int", clim_int[0], clim_int[1]))
                for model, (p, dist) in preds.items():
                    rows.append((model, d.label, e.event_ticker, p))
                    pit_rec.append((model, d.label, e.split, p, e.outcome))
                    if truth_f is None:
                        continue
                    if dist[0] == "samples":
                        c = float(crps_samples(dist[1].astype(float), float(truth_f)))
                    else:
                        c = float(crps_pmf(dist[2][None, :], np.array([truth_f]), dist[1])[0])
                    crps_rows.append((model, d.label, e.split, c))
            # Hazard of a new high within 60 minutes, on test days, at hourly times.
            if e.split == "test" and "tmax_ar" in wanted:
                for h in params["hazard"]["eval_hours"]:
                    t = city.lst_time(e.date, int(h))
                    s_t = steps_before(city, e.date, t)
                    realised = _hazard_truth(
                        g.y[i], g.kind[i], s_t, params["hazard"]["min_window_coverage"]
                    )
                    if realised is None:
                        continue
                    key, sub = jax.random.split(key)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", NowcastWarning)
                        nc = nowcast(
                            sub,
                            fit.posterior,
                            gap,
                            day,
                            s_t,
                            e.ladder,
                            nc_p["n_paths"],
                            nc_p["n_candidates"],
                        )
                    haz_rows.append((e.event_ticker, int(h), float(nc.hazard[2]), realised))
            if n_ev % 20 == 0:
                ctx.console.log(f"nowcast: {n_ev + 1}/{len(events)} events")
    if warn_count:
        ctx.note(f"tmax_ar nowcast warnings (no report yet / long gap): {dict(warn_count)}")
    if skipped_rmax:
        ctx.note(
            f"persistence / rmax_plus_rise: {skipped_rmax} event-times have no report before t "
            "(e.g. T-1 20:00) and are not scored for these models"
        )

    _crps_table(ctx, crps_rows, [d.label for d in ctx.config.decision_times])
    _pit_plot(ctx, pit_rec)
    if haz_rows:
        _hazard_table(ctx, haz_rows, grids, train_masks, params)
    if panels:
        _plot_paths(ctx.out_dir / "tmax_ar_paths.png", panels)
        ctx.add_plot("tmax_ar_paths.png")
    return pd.DataFrame(rows, columns=["model", "decision_time", "event_ticker", "probs"])


def _crps_table(ctx: RunContext, crps_rows: list, order: list[str]) -> None:
    if not crps_rows:
        return
    df = pd.DataFrame(crps_rows, columns=["model", "decision_time", "split", "crps_f"])
    both = pd.concat([df, df.assign(split="all")])
    tab = both.groupby(["model", "decision_time", "split"], sort=False)["crps_f"].agg(
        ["mean", "count"]
    )
    tab = tab.reset_index().rename(columns={"mean": "crps_f", "count": "n_events"})
    tab["_o"] = tab["decision_time"].map({d: i for i, d in enumerate(order)})
    tab = tab.sort_values(["split", "_o", "crps_f"]).drop(columns="_o").reset_index(drop=True)
    tab["crps_f"] = tab["crps_f"].round(4)
    ctx.add_table("crps_high", tab, "CRPS of the official high (°F) per model and decision time")


def _pit_plot(ctx: RunContext, pit_rec: list) -> None:
    test = [r for r in pit_rec if r[2] == "test"] or pit_rec
    by_model: dict[str, list] = {}
    for model, _, _, p, y in test:
        by_model.setdefault(model, []).append((p, y))
    u = {
        m: pit_pmf([p for p, _ in v], np.array([y for _, y in v]), rng=0)
        for m, v in by_model.items()
    }
    write_pit_png(ctx.out_dir / "nowcast_pit.png", u, title="PIT of the realised bracket (test)")
    ctx.add_plot("nowcast_pit.png")


def _hazard_table(ctx: RunContext, haz_rows: list, grids, train_masks, params) -> None:
    haz = pd.DataFrame(haz_rows, columns=["event_ticker", "hour", "p_model", "realised"])
    # Climatological hazard: frequency of a new high within 60 min by hour, training days.
    freq = {}
    for h in params["hazard"]["eval_hours"]:
        outs = []
        for c, g in grids.items():
            for i in np.flatnonzero(train_masks[c]):
                s_t = int(h) * 12
                r = _hazard_truth(g.y[i], g.kind[i], s_t, params["hazard"]["min_window_coverage"])
                if r is not None:
                    outs.append(r)
        freq[int(h)] = float(np.mean(outs)) if outs else 0.5
    haz["p_clim"] = haz["hour"].map(freq)
    y = haz["realised"].to_numpy()
    bins = {
        "tmax_ar": reliability_bins(haz["p_model"].to_numpy(), y, 10),
        "climatology_by_hour": reliability_bins(haz["p_clim"].to_numpy(), y, 10),
    }
    rows = []
    for name, b in bins.items():
        for k in range(len(b.count)):
            if b.count[k]:
                rows.append(
                    (
                        name,
                        f"{b.lower[k]:.1f}-{b.upper[k]:.1f}",
                        int(b.count[k]),
                        round(float(b.mean_forecast[k]), 4),
                        round(float(b.frequency[k]), 4),
                    )
                )
    tab = pd.DataFrame(rows, columns=["model", "bin", "n", "mean_forecast", "observed_freq"])
    ctx.add_table(
        "hazard60_reliability",
        tab,
        "Reliability of the 60-minute hazard of a new running high (test days)",
    )
    summary = {}
    for name, col in (("tmax_ar", "p_model"), ("climatology_by_hour", "p_clim")):
        p = haz[col].to_numpy()
        summary[name] = {
            "brier": round(float(np.mean((p - y) ** 2)), 4),
            "ece": round(float(ece_from_bins(bins[name])), 4),
            "n": len(p),
        }
    ctx.fitted["hazard60"] = summary
    ctx.note(
        "60-min hazard (test days, hours "
        f"{params['hazard']['eval_hours']}): base rate {y.mean():.3f}; "
        + "; ".join(f"{k}: Brier {v['brier']}, ECE {v['ece']}" for k, v in summary.items())
    )
    write_reliability_png(
        ctx.out_dir / "hazard60_reliability.png", bins, title="60-min hazard of a new running high"
    )
    ctx.add_plot("hazard60_reliability.png")


KIND = register_kind(
    ExperimentKind(
        name="nowcast",
        run=run,
        defaults=DEFAULTS,
        description="Tmax AR nowcast (NUTS, posterior paths) vs persistence, rise, climatology",
    )
)
