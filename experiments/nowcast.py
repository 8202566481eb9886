"""Experiment kind ``nowcast``: the Tmax AR nowcaster (DESIGN 3.2) against simple baselines.

Models scored at every decision time (bracket PMFs, scored by the runner like ``baselines``):

* ``tmax_ar``: :mod:`models.tmax_ar`, NUTS on the training days, nowcast from the day's
  reports stamped before ``t``;
* ``persistence``: all mass on the bracket of the running 5-minute maximum (whole °F);
* ``rmax_plus_rise``: running maximum plus the empirical distribution of the remaining rise
  ``H_d - rmax_d(t)`` (whole °F) over the training days at the same time of day;
* ``climatology``: kernel PMF of the same calendar month's official highs in earlier years
  (as in ``baselines``).

Before the climate day starts (``T-1 20:00``: no report can be seen) the ``tmax_ar`` PMF is
the model prior pooled with that climatology, ``w p_model + (1 - w) p_clim``, with one ``w``
per calendar month (:mod:`models.tmax_ar.prior`; ``params.prior``) fitted on the same months
of the ``pool_years`` years before the data window: days that precede every NUTS day and the
test split, whose day-ahead prior (no report, only the calendar date and the baseline) and
climatology (still earlier years) are issued as for an event, scored on a ladder of 2 °F
brackets around that climatology's median. Not on the training events: the posterior was
fitted on those days, so the prior looks better there than out of sample. The table
``tmax_ar_prior`` gives the raw prior, climatology and the pool per split (``earlier_years``:
the days ``w`` was fitted on), ``tmax_ar_prior_weights`` the weight per month.

The 60-minute hazard of a new running high is recalibrated by a map fitted on the training
days' hazard forecasts and outcomes (:mod:`models.tmax_ar.hazard`; ``params.hazard.calibration``)
and its reliability on the test days is reported before (``tmax_ar_raw``) and after
(``tmax_ar_calibrated``), next to a climatological hazard by hour of day.

``persistence`` and ``rmax_plus_rise`` need a report before ``t`` and are not scored
otherwise (a note says how often). Extra tables: CRPS of the high, the hazard reliability
(test days, and the training days the map was fitted on), NUTS diagnostics. Plots:
posterior paths against the observed day, PIT histograms, hazard reliability diagram. The
posterior is saved as ArviZ netCDF (``tmax_ar_posterior.nc``).

No look-ahead: a nowcast at ``t`` sees only reports stamped before ``t``, the baseline path
uses forecasts issued before ``T-1 20:00`` (or official highs of earlier years), and the fit,
gap and rise distributions, the prior's pool weight and the hazard map use training days only.
Outcomes are labels only.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np
import pandas as pd

from kbayes.experiment.context import RunContext
from kbayes.experiment.data import best_official_highs
from kbayes.experiment.errors import ConfigError
from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.market.cities import City, city_of
from kbayes.market.fahrenheit import c_to_f_whole
from kbayes.market.ladder import Ladder
from kbayes.scoring import (
    LOG_LOSS_EPS,
    ReliabilityBins,
    crps_pmf,
    crps_samples,
    ece_from_bins,
    pit_pmf,
    reliability_bins,
    write_pit_png,
    write_reliability_png,
)
from models.baselines import climatology_pmf, kernel_mass
from models.tmax_ar.baseline import BaselineWarning, DiurnalClimate, baseline_paths, fit_diurnal
from models.tmax_ar.fit import FitConfig, Posterior, diagnostics_summary, fit_nuts, save_idata
from models.tmax_ar.gap_5min import GapModel, fit_gap
from models.tmax_ar.grid import STEPS, TENTHS, DayObs, day_grid, observed_max, steps_before
from models.tmax_ar.hazard import HazardCalibration, calibrate_hazard, fit_hazard_calibration
from models.tmax_ar.model import FitData
from models.tmax_ar.nowcast import (
    HAZARD_MINUTES,
    NowcastDay,
    NowcastWarning,
    nowcast,
    two_degree_ladder,
)
from models.tmax_ar.prior import (
    MonthlyPriorBlend,
    PriorBlend,
    blend_pmf,
    fit_monthly_prior_blend,
    fit_prior_blend,
)

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
    "hazard": {
        "eval_hours": [2, 5, 8, 10, 12, 13, 14, 15, 16, 18, 21],
        "min_window_coverage": 0.5,
        "calibration": "beta",
    },
    "prior": {
        "blend_climatology": True,
        "pool_years": 6,
        "min_per_month": 50,
        "pool_ladder_inner": 10,
    },
    "climatology": {"kernel_sigma_f": 2.0, "min_values": 20},
    "plots": {"n_path_days": 4, "path_decision": "11:00"},
}


def _best_highs(store) -> dict[tuple[str, dt.date], int]:
    highs = best_official_highs(store.read("official_highs"))
    return {(r.station, r.date): int(r.tmax_f) for r in highs.itertuples(index=False)}


def _int_pmf_to_ladder(lo: int, mass: np.ndarray, ladder: Ladder) -> np.ndarray:
    cdf_vals = np.cumsum(mass)

    def cdf(x: np.ndarray) -> np.ndarray:
        idx = (np.asarray(x) - lo).astype(int)
        return np.where(idx < 0, 0.0, cdf_vals[np.clip(idx, 0, len(mass) - 1)])

    p = np.clip(ladder.pmf_from_cdf(cdf), 0.0, None)
    return p / p.sum()


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


HAZARD_WINDOW = HAZARD_MINUTES.index(60)
"""Index of the 60-minute window in :attr:`Nowcast.hazard` (the one evaluated here)."""


def hazard_points(
    city: City, grid: DayObs, i: int, hazard_params: dict
) -> list[tuple[int, int, float]]:
    """``(hour, s_t, realised)`` at each evaluation hour of day ``i`` whose outcome is known."""
    out = []
    for h in hazard_params["eval_hours"]:
        t = city.lst_time(grid.dates[i], int(h))
        s_t = steps_before(city, grid.dates[i], t)
        realised = _hazard_truth(grid.y[i], grid.kind[i], s_t, hazard_params["min_window_coverage"])
        if realised is not None:
            out.append((int(h), s_t, realised))
    return out


def model_hazard(
    key: jax.Array, post: Posterior, gap: GapModel, day: NowcastDay, s_t: int, nc_params: dict
) -> float:
    """The model's (uncalibrated) 60-minute hazard at step ``s_t`` of ``day``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NowcastWarning)
        nc = nowcast(
            key, post, gap, day, s_t, None, nc_params["n_paths"], nc_params["n_candidates"]
        )
    return float(nc.hazard[HAZARD_WINDOW])


def fit_hazard_map(
    key: jax.Array,
    post: Posterior,
    gap: GapModel,
    grids: dict[str, DayObs],
    bases: dict[str, np.ndarray],
    st_index: dict[str, int],
    train_masks: dict[str, np.ndarray],
    params: dict,
) -> tuple[HazardCalibration, pd.DataFrame]:
    """Hazard calibration fitted on the training days' hazard forecasts and outcomes only.

    Each training day's forecasts use keys folded from ``key`` by (station, date, hour), so
    they depend on nothing outside that day. The posterior was fitted on these same days, so
    the pairs are in-sample; the map corrects the structural miss (the plateau near the
    peak), which in-sample fitting does not hide.
    """
    rows = []
    for c in sorted(grids):
        g, city = grids[c], city_of(c)
        for i in np.flatnonzero(train_masks[c]):
            day = NowcastDay(g.y[i], g.kind[i], bases[c][i], st_index[c])
            k_day = jax.random.fold_in(jax.random.fold_in(key, st_index[c]), g.dates[i].toordinal())
            for h, s_t, realised in hazard_points(city, g, i, params["hazard"]):
                p_h = model_hazard(
                    jax.random.fold_in(k_day, h), post, gap, day, s_t, params["nowcast"]
                )
                rows.append((c, g.dates[i], h, p_h, realised))
    train = pd.DataFrame(rows, columns=["city", "date", "hour", "p_model", "realised"])
    cal = fit_hazard_calibration(
        train["p_model"].to_numpy(),
        train["realised"].to_numpy(),
        int(params["nowcast"]["n_paths"]),
        params["hazard"]["calibration"],
    )
    return cal, train


class PriorRow(NamedTuple):
    """A day-ahead (no report yet) tmax_ar forecast waiting to be pooled with climatology.

    Attributes:
        split: ``"train"`` or ``"test"``; outcome: realised bracket index.
        p_model / p_clim: PMFs over the event's ladder.
        high_f: model draws of the high (°F); clim_int: climatology ``(lo, mass)`` over °F.
        truth_f: the official high (°F) when known.
        slots: indices of this forecast in the rows, PIT and CRPS lists.
        month: calendar month of the climate day (picks the pool weight; 0: not given).
    """

    split: str
    outcome: int
    p_model: np.ndarray
    p_clim: np.ndarray
    high_f: np.ndarray
    clim_int: tuple[int, np.ndarray]
    truth_f: int | None
    slots: tuple[int, int, int]
    month: int = 0


def fit_prior_on_train(prior_rows: list[PriorRow]) -> PriorBlend | None:
    """The pool weight from training events only (``None`` when there are none).

    In sample for the NUTS posterior (fitted on the same days), so it is optimistic about the
    model; the run reports it for comparison only and pools with :func:`fit_prior_on_pool`.
    """
    train = [r for r in prior_rows if r.split == "train"]
    if not train:
        return None
    return fit_prior_blend(
        np.array([r.p_model[r.outcome] for r in train]),
        np.array([r.p_clim[r.outcome] for r in train]),
    )


class PoolDay(NamedTuple):
    """An earlier-year day the prior's pool weight is fitted on.

    Attributes:
        station / date: the day.
        p_model / p_clim: probability the model prior and climatology gave its realised
            bracket (ladder of :func:`pool_ladder`).
    """

    station: str
    date: dt.date
    p_model: float
    p_clim: float


def prior_pool_dates(first_day: dt.date, months: set[int], n_years: int) -> list[dt.date]:
    """Days of ``months`` in the ``n_years`` calendar years before ``first_day.year``.

    ``first_day`` is the first day of the experiment's grid, so every returned day precedes
    every NUTS training day and the whole test split.
    """
    if n_years < 0:
        raise ValueError(f"params.prior.pool_years must be >= 0, got {n_years}")
    bad = sorted(m for m in months if not 1 <= m <= 12)
    if bad:
        raise ValueError(f"months must be in 1..12, got {bad}")
    start = dt.date(first_day.year - n_years, 1, 1)
    out = [start + dt.timedelta(days=i) for i in range((first_day - start).days)]
    return [d for d in out if d.month in months and d.year < first_day.year]


def window_months(start: dt.date, end: dt.date) -> set[int]:
    """Calendar months that the data window ``[start, end]`` touches."""
    if end < start:
        raise ValueError(f"data window ends ({end}) before it starts ({start})")
    months, d = set(), dt.date(start.year, start.month, 1)
    while d <= end:
        months.add(d.month)
        d = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return months


def earlier_years_highs(highs: dict, station: str, day: dt.date) -> np.ndarray:
    """Official highs (°F) of ``day``'s calendar month in years before ``day.year``."""
    vals = [
        v
        for (s, d), v in highs.items()
        if s == station and d.month == day.month and d.year < day.year
    ]
    return np.array(vals, dtype=float)


def pool_ladder(hist_f: np.ndarray, n_inner: int) -> Ladder:
    """2 °F brackets around the median of the earlier years' highs (open tails).

    The earlier-year days have no Kalshi ladder; this one is fixed before the day (it depends
    on earlier years only) and, with ``n_inner`` brackets, as fine as the events' inner ones.
    """
    return two_degree_ladder(int(np.round(np.median(hist_f))), n_inner=n_inner, name="POOL")


def prior_pool(
    key: jax.Array,
    post: Posterior,
    gap: GapModel,
    city: City,
    station_index: int,
    clim: DiurnalClimate,
    highs: dict,
    highs_df: pd.DataFrame,
    hourly: pd.DataFrame,
    dates: list[dt.date],
    params: dict,
    hours_before: float,
) -> list[PoolDay]:
    """The model's day-ahead prior and climatology scored on earlier-year days of one city.

    A day is used when its official high is known and climatology has enough earlier years.
    Its baseline is built as for an event (:func:`baseline_paths`: the diurnal curve of the
    training days lifted to the mean high of still earlier years, or a forecast issued before
    the cutoff), its prior is the nowcast at step 0 (no report), and keys are folded from
    ``key`` by (station, date), so no other forecast of the run draws differently.
    """
    station = city.station
    clim_p, nc_p, pr = params["climatology"], params["nowcast"], params["prior"]
    days, hists = [], []
    for d in dates:
        hist = earlier_years_highs(highs, station, d)
        if (station, d) in highs and len(hist) >= clim_p["min_values"]:
            days.append(d)
            hists.append(hist)
    if not days:
        return []
    n = len(days)
    obs = DayObs([station] * n, days, np.zeros((n, STEPS)), np.zeros((n, STEPS), dtype=np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWarning)
        base, _ = baseline_paths(
            obs,
            clim,
            highs_df,
            hourly,
            [city.climate_day_window(d) for d in days],
            params["baseline"]["use_forecast"],
            hours_before,
        )
    k_st = jax.random.fold_in(key, station_index)
    out = []
    for i, (d, hist) in enumerate(zip(days, hists, strict=True)):
        ladder = pool_ladder(hist, int(pr["pool_ladder_inner"]))
        p_clim = climatology_pmf(ladder, hist, clim_p["kernel_sigma_f"])
        day = NowcastDay(obs.y[i], obs.kind[i], base[i], station_index)
        nc = nowcast(
            jax.random.fold_in(k_st, d.toordinal()),
            post,
            gap,
            day,
            0,
            ladder,
            nc_p["n_paths"],
            nc_p["n_candidates"],
        )
        k = ladder.index_of(int(highs[(station, d)]))
        out.append(PoolDay(station, d, float(nc.pmf[k]), float(p_clim[k])))
    return out


def fit_prior_on_pool(pool: list[PoolDay], min_per_month: int) -> MonthlyPriorBlend | None:
    """Pool weights per month from the earlier-year days only (``None`` when there are none)."""
    if not pool:
        return None
    return fit_monthly_prior_blend(
        np.array([p.date.month for p in pool]),
        np.array([p.p_model for p in pool]),
        np.array([p.p_clim for p in pool]),
        min_per_month,
    )


def _mixture_int_pmf(
    high_f: np.ndarray, clim_int: tuple[int, np.ndarray], w: float
) -> tuple[int, np.ndarray]:
    """``w`` x the draws' empirical PMF + ``(1 - w)`` x climatology, over whole °F."""
    lo_c, m_c = clim_int
    lo_s = int(high_f.min())
    lo = min(lo_c, lo_s)
    hi = max(lo_c + len(m_c), int(high_f.max()) + 1)
    mass = np.zeros(hi - lo)
    mass[lo_s - lo : lo_s - lo + int(high_f.max()) - lo_s + 1] += w * (
        np.bincount(high_f.astype(int) - lo_s) / len(high_f)
    )
    mass[lo_c - lo : lo_c - lo + len(m_c)] += (1.0 - w) * m_c
    return lo, mass


def _log_loss(p: pd.Series) -> float:
    return round(float(-np.log(np.maximum(p, LOG_LOSS_EPS)).mean()), 4)


def _apply_prior_blend(
    ctx: RunContext,
    prior_rows: list[PriorRow],
    rows: list,
    pit_rec: list,
    crps_rows: list,
    pool: list[PoolDay],
) -> None:
    blend = fit_prior_on_pool(pool, int(ctx.params["prior"]["min_per_month"]))
    if blend is None:
        ctx.note(
            "tmax_ar prior: no earlier-year day with an official high and climatology; "
            "the prior is not pooled"
        )
        return
    scored = [("earlier_years", p.date.month, p.p_model, p.p_clim) for p in pool]
    pooled = []
    for r in prior_rows:
        b = blend.for_month(r.month)
        p = blend_pmf(b, r.p_model, r.p_clim)
        i_row, i_pit, i_crps = r.slots
        rows[i_row] = (*rows[i_row][:3], p)
        pit_rec[i_pit] = (*pit_rec[i_pit][:3], p, r.outcome)
        if r.truth_f is not None:
            lo, mass = _mixture_int_pmf(r.high_f, r.clim_int, b.weight)
            c = float(crps_pmf(mass[None, :], np.array([r.truth_f]), lo)[0])
            crps_rows[i_crps] = (*crps_rows[i_crps][:3], c)
        scored.append((r.split, r.month, r.p_model[r.outcome], r.p_clim[r.outcome]))
        pooled.append(p[r.outcome])
    ctx.fitted["tmax_ar_prior_blend"] = blend.as_record()
    ctx.fitted["tmax_ar_prior_pool"] = {
        "n_days": len(pool),
        "first_day": min(p.date for p in pool).isoformat(),
        "last_day": max(p.date for p in pool).isoformat(),
    }
    df = pd.DataFrame(scored, columns=["split", "month", "model", "climatology"])
    w = df["month"].map(lambda m: blend.for_month(m).weight)
    df["blend"] = w * df["model"] + (1.0 - w) * df["climatology"]
    # The events' pooled PMFs were renormalised over their ladders: score those exactly.
    df.loc[df["split"] != "earlier_years", "blend"] = pooled
    tab = [
        {
            "split": split,
            "n_events": len(sub),
            **{f"log_loss_{k}": _log_loss(sub[k]) for k in ("model", "climatology", "blend")},
        }
        for split, sub in df.groupby("split", sort=True)
    ]
    weights = ", ".join(f"{m}: {b.weight:.3f}" for m, b in sorted(blend.by_month.items()))
    ctx.add_table(
        "tmax_ar_prior",
        pd.DataFrame(tab),
        "Day-ahead prior (no report yet): model prior, climatology and their pool, with weights "
        f"on the model per month ({weights}; other months {blend.pooled.weight:.3f}) fitted on "
        f"{len(pool)} days of earlier years (split earlier_years), none of them a NUTS or test day",
    )
    pool_df = df[df["split"] == "earlier_years"]
    wt = []
    for m, sub in pool_df.groupby("month", sort=True):
        b = blend.for_month(int(m))
        wt.append(
            {
                "month": int(m),
                "n_days": len(sub),
                "weight": round(b.weight, 4),
                "own_weight": int(m) in blend.by_month,
                **{f"log_loss_{k}": _log_loss(sub[k]) for k in ("model", "climatology", "blend")},
            }
        )
    ctx.add_table(
        "tmax_ar_prior_weights",
        pd.DataFrame(wt),
        "Pool weight on the model per calendar month and its fit days' log losses (months with "
        f"fewer than {blend.min_per_month} days take the weight of all months pooled)",
    )
    in_sample = fit_prior_on_train(prior_rows)
    ctx.note(
        f"tmax_ar day-ahead prior pooled with climatology: w per month {{{weights}}}, all months "
        f"{blend.pooled.weight:.3f}, fitted on {len(pool)} earlier-year days (log loss model "
        f"{blend.pooled.train_log_loss_model:.4f}, climatology "
        f"{blend.pooled.train_log_loss_climatology:.4f}); fitted on the training events instead "
        "(in sample for the posterior, not used) it would be "
        + ("undefined" if in_sample is None else f"{in_sample.weight:.3f}")
    )


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

    # The baseline path serves every decision time of its day, so its forecasts must be issued
    # before the earliest one too (DESIGN 4): the cutoff moves back when a decision time lies
    # more than forecast_hours_before before the climate day (decision times are LST).
    hours_before = float(params["baseline"]["forecast_hours_before"])
    earliest = max(24.0 * d.days_before - d.hour - d.minute / 60 for d in ctx.config.decision_times)
    if earliest > hours_before:
        ctx.note(
            f"tmax_ar baseline: forecasts issued {earliest:g} h before the climate day (the "
            f"earliest decision time), not {hours_before:g} h"
        )
        hours_before = earliest

    with ctx.step("grids and baselines"):
        grids = _load_grids(ctx, train_end)
        hourly = store.query(
            "SELECT station, target_ts, issued_at, temp_f FROM forecast_hourly "
            "WHERE station IN (SELECT unnest(?::VARCHAR[]))",
            [[city_of(c).station for c in cities]],
        )
        bases, train_masks, clims = {}, {}, {}
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
            clims[c] = clim
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BaselineWarning)
                base, src = baseline_paths(
                    g,
                    clim,
                    highs_df,
                    hourly,
                    [city.climate_day_window(d) for d in g.dates],
                    params["baseline"]["use_forecast"],
                    hours_before,
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
    prior_rows: list[PriorRow] = []
    blend_on = "tmax_ar" in wanted and bool(params["prior"]["blend_climatology"])
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
            clim_int, clim_ladder = None, None
            if len(hist) >= clim_p["min_values"]:
                h_arr = np.array(hist, dtype=float)
                grid_f, mass_f = kernel_mass(h_arr, clim_p["kernel_sigma_f"])
                clim_int = (int(grid_f[0]), mass_f)
                clim_ladder = climatology_pmf(e.ladder, h_arr, clim_p["kernel_sigma_f"])
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
                    preds["climatology"] = (clim_ladder, ("int", clim_int[0], clim_int[1]))
                if blend_on and s_t == 0 and clim_int is not None:
                    # The day-ahead prior: pooled with climatology after the loop (weight fitted
                    # on training events); the row slots are filled in then.
                    p_model, (_, high_f) = preds["tmax_ar"]
                    prior_rows.append(
                        PriorRow(
                            e.split,
                            int(e.outcome),
                            p_model,
                            clim_ladder,
                            high_f,
                            clim_int,
                            None if truth_f is None else int(truth_f),
                            (len(rows), len(pit_rec), len(crps_rows)),
                            e.date.month,
                        )
                    )
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
                for h, s_t, realised in hazard_points(city, g, i, params["hazard"]):
                    key, sub = jax.random.split(key)
                    p_h = model_hazard(sub, fit.posterior, gap, day, s_t, nc_p)
                    haz_rows.append((e.event_ticker, h, p_h, realised))
            if n_ev % 20 == 0:
                ctx.console.log(f"nowcast: {n_ev + 1}/{len(events)} events")
    if warn_count:
        ctx.note(f"tmax_ar nowcast warnings (no report yet / long gap): {dict(warn_count)}")
    if skipped_rmax:
        ctx.note(
            f"persistence / rmax_plus_rise: {skipped_rmax} event-times have no report before t "
            "(e.g. T-1 20:00) and are not scored for these models"
        )

    if prior_rows:
        with ctx.step("day-ahead prior on earlier years"):
            first_day = min(min(g.dates) for g in grids.values())
            last_day = max(max(g.dates) for g in grids.values())
            pool_dates = prior_pool_dates(
                first_day, window_months(first_day, last_day), int(params["prior"]["pool_years"])
            )
            pool = []
            for c in cities:
                pool += prior_pool(
                    jax.random.PRNGKey(ctx.config.seed + 3),
                    fit.posterior,
                    gap,
                    city_of(c),
                    st_index[c],
                    clims[c],
                    highs,
                    highs_df,
                    hourly,
                    pool_dates,
                    params,
                    hours_before,
                )
        _apply_prior_blend(ctx, prior_rows, rows, pit_rec, crps_rows, pool)
    _crps_table(ctx, crps_rows, [d.label for d in ctx.config.decision_times])
    _pit_plot(ctx, pit_rec)
    if haz_rows:
        with ctx.step("hazard calibration on training days"):
            cal, train_haz = fit_hazard_map(
                jax.random.PRNGKey(ctx.config.seed + 2),
                fit.posterior,
                gap,
                grids,
                bases,
                st_index,
                train_masks,
                params,
            )
        _hazard_table(ctx, haz_rows, cal, train_haz, grids, train_masks, params)
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


def reliability_table(
    p: np.ndarray, y: np.ndarray, n_bins: int = 10
) -> tuple[pd.DataFrame, ReliabilityBins]:
    """Non-empty equal-width bins of binary forecasts: count, mean forecast, observed frequency.

    Bins are those of :func:`kbayes.scoring.reliability_bins` (``[j/B, (j+1)/B)``, the last
    one closed); the rows are labelled ``"lo-hi"`` and rounded to 4 decimals.
    """
    b = reliability_bins(np.asarray(p, dtype=float), np.asarray(y, dtype=float), n_bins)
    rows = [
        (
            f"{b.lower[k]:.1f}-{b.upper[k]:.1f}",
            int(b.count[k]),
            round(float(b.mean_forecast[k]), 4),
            round(float(b.frequency[k]), 4),
        )
        for k in range(len(b.count))
        if b.count[k]
    ]
    return pd.DataFrame(rows, columns=["bin", "n", "mean_forecast", "observed_freq"]), b


def _hazard_table(
    ctx: RunContext,
    haz_rows: list,
    cal: HazardCalibration,
    train_haz: pd.DataFrame,
    grids,
    train_masks,
    params,
) -> None:
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
    haz["p_calibrated"] = calibrate_hazard(cal, haz["p_model"].to_numpy())
    y = haz["realised"].to_numpy()
    cols = {
        "tmax_ar_raw": "p_model",
        "tmax_ar_calibrated": "p_calibrated",
        "climatology_by_hour": "p_clim",
    }
    parts, bins = [], {}
    for name, col in cols.items():
        tab, bins[name] = reliability_table(haz[col].to_numpy(), y, 10)
        parts.append(tab.assign(model=name))
    tab = pd.concat(parts, ignore_index=True)[
        ["model", "bin", "n", "mean_forecast", "observed_freq"]
    ]
    ctx.add_table(
        "hazard60_reliability",
        tab,
        "Reliability of the 60-minute hazard of a new running high (test days): the model "
        f"before (tmax_ar_raw) and after (tmax_ar_calibrated) the {cal.method} map fitted on "
        f"{cal.n_train} training-day forecasts, and a climatological hazard by hour",
    )
    train_cal = calibrate_hazard(cal, train_haz["p_model"].to_numpy())
    train_tab = pd.concat(
        [
            reliability_table(train_haz["p_model"].to_numpy(), train_haz["realised"], 10)[0].assign(
                model="tmax_ar_raw"
            ),
            reliability_table(train_cal, train_haz["realised"], 10)[0].assign(
                model="tmax_ar_calibrated"
            ),
        ],
        ignore_index=True,
    )[["model", "bin", "n", "mean_forecast", "observed_freq"]]
    ctx.add_table(
        "hazard60_reliability_train",
        train_tab,
        "Reliability of the 60-minute hazard on the training days the map was fitted on",
    )
    summary = {}
    for name, col in cols.items():
        p = haz[col].to_numpy()
        summary[name] = {
            "brier": round(float(np.mean((p - y) ** 2)), 4),
            "ece": round(float(ece_from_bins(bins[name])), 4),
            "n": len(p),
        }
    ctx.fitted["hazard60"] = summary
    ctx.fitted["hazard60_calibration"] = {
        "method": cal.method,
        "params": None if cal.params is None else _plain(cal.params._asdict()),
        "n_train": cal.n_train,
        "train_base_rate": round(cal.base_rate, 4),
    }
    ctx.note(
        "60-min hazard (test days, hours "
        f"{params['hazard']['eval_hours']}): base rate {y.mean():.3f}; "
        + "; ".join(f"{k}: Brier {v['brier']}, ECE {v['ece']}" for k, v in summary.items())
        + f" (calibration map: {cal.method}, fitted on {cal.n_train} training-day forecasts)"
    )
    write_reliability_png(
        ctx.out_dir / "hazard60_reliability.png", bins, title="60-min hazard of a new running high"
    )
    ctx.add_plot("hazard60_reliability.png")


def _plain(d: dict) -> dict:
    """JSON-friendly copy (arrays to lists, numpy scalars to floats)."""
    return {k: (np.asarray(v).tolist() if np.ndim(v) else float(v)) for k, v in d.items()}


KIND = register_kind(
    ExperimentKind(
        name="nowcast",
        run=run,
        defaults=DEFAULTS,
        description="Tmax AR nowcast (NUTS, posterior paths) vs persistence, rise, climatology",
    )
)
