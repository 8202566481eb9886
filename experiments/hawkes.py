"""Experiment kind ``hawkes``: order-flow Hawkes fits per city, per event-day and pooled.

For every event in the config's window (optionally one split, optionally an evenly spaced
sample of at most ``max_days_per_city`` days per city) the taker flow of its ladder
(:mod:`models.flow_hawkes`: ``2 K`` dimensions, buy/sell per bracket, time in minutes from the
markets' open, local hour-of-day baseline bins ``hour_edges``) is fitted

* per event-day (:func:`kbayes.pointprocess.fit_pooled` on that one day, padded to a
  power-of-two length with all parameters kept free, so that hundreds of days share a few
  compiled programs) with one parameter per role (self, opposite side, neighbour same side,
  neighbour other side) and a shared decay;
* pooled over the city's days by :func:`kbayes.pointprocess.fit_pooled`, the exact sum of the
  per-day log-likelihoods with shared parameters (days are stacked, not concatenated), with
  per-day baseline factors ``day_baseline`` (default ``"day_dim"``: the level of each
  dimension's baseline moves by day, its hour-of-day profile is shared). Busy and quiet days
  under one baseline misstate the compensator, which the time-rescaling KS test picks up; the
  shared-baseline pooled fit is reported next to it (``pooled_shared_*`` columns).

Only ladders with the city's most common bracket count ``K`` are fitted (others are counted
in a note). Reported per city: the spectral radius of ``alpha`` (the branching ratio; pooled,
with its delta-method standard error, and the per-day distribution), direct offspring per
event by role (:func:`models.flow_hawkes.role_sums`), the decay, baseline rates, the
likelihood-ratio against an inhomogeneous Poisson model with the same bins, and goodness of
fit: the share of dimensions whose time-rescaled residuals are not rejected by a KS test at
``ks_level`` (per day, and pooled over days). No PMF is forecast: the kind returns an empty
forecast frame.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pandas as pd

from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.experiment.runner import RunContext
from kbayes.pointprocess import bracket_structure, day_length, fit_pooled
from models.flow_hawkes import (
    ROLES,
    FlowDay,
    ks_by_dim,
    load_flow_days,
    poisson_log_likelihood,
    pooled_ks,
    residuals_by_dim,
    role_sums,
)

DEFAULTS = {
    "unit_seconds": 60.0,
    "hour_edges": [0, 4, 8, 12, 16, 20, 24],
    "merge_sweeps": True,
    "neighbours": "both",
    "split": "all",
    "max_days_per_city": 0,
    "per_day": True,
    "pooled": True,
    "pooled_tied": True,
    "day_baseline": "day_dim",
    "max_iter": 300,
    "tol": 1e-5,
    "ks_level": 0.05,
    "ks_min_events": 5,
    "stderr": True,
}
FORECAST_COLUMNS = ["model", "decision_time", "event_ticker", "probs"]


def _sample(days: list[FlowDay], max_days: int) -> list[FlowDay]:
    """At most ``max_days`` days, evenly spaced in date order (all when ``max_days <= 0``)."""
    days = sorted(days, key=lambda d: d.date)
    if max_days <= 0 or len(days) <= max_days:
        return days
    idx = np.unique(np.round(np.linspace(0, len(days) - 1, max_days)).astype(int))
    return [days[i] for i in idx]


def _ks_share(table: dict[str, np.ndarray], level: float) -> tuple[int, int]:
    return int(np.sum(table["pvalue"] >= level)), len(table["pvalue"])


def _ks_stat(table: dict[str, np.ndarray]) -> float:
    return float(np.mean(table["statistic"])) if len(table["statistic"]) else np.nan


def _fit_day(day: FlowDay, structure: np.ndarray, p: dict) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_pooled(
            [day.events],
            [day.grid],
            alpha_structure=structure,
            stderr=False,
            max_iter=p["max_iter"],
            tol=p["tol"],
            keep_empty=True,
            length=day_length(len(day.events.times)),
        )
    ks = ks_by_dim(
        residuals_by_dim(res.params, day.events, day.grid), min_events=p["ks_min_events"]
    )
    ok, tested = _ks_share(ks, p["ks_level"])
    alpha = np.asarray(res.params.alpha, np.float64)
    hours = day.events.T * day.unit_seconds / 3600.0
    return {
        "city": day.city,
        "event_ticker": day.event_ticker,
        "date": day.date,
        "n_events": len(day.events.times),
        "n_prints": day.n_prints,
        "events_per_hour": len(day.events.times) / hours,
        "spectral_radius": res.info.spectral_radius,
        **role_sums(alpha, day.num_brackets),
        "mean_delay_s": float(day.unit_seconds / np.asarray(res.params.beta)[0, 0]),
        "ks_not_rejected": ok,
        "ks_tested": tested,
        "converged": res.info.converged,
    }


def _fit_city(ctx: RunContext, city: str, days: list[FlowDay], p: dict) -> tuple[dict, list]:
    k = days[0].num_brackets
    structure = bracket_structure(k, neighbours=p["neighbours"], tied=True)
    row: dict = {
        "city": city,
        "K": k,
        "n_days": len(days),
        "n_events": int(sum(len(d.events.times) for d in days)),
        "n_prints": int(sum(d.n_prints for d in days)),
    }
    per_day: list[dict] = []
    if p["per_day"]:
        with ctx.step(f"{city}: {len(days)} per-day fits"):
            per_day = [_fit_day(d, structure, p) for d in days]
        pdf = pd.DataFrame(per_day)
        row["day_rho_median"] = float(pdf["spectral_radius"].median())
        row["day_rho_q10"] = float(pdf["spectral_radius"].quantile(0.1))
        row["day_rho_q90"] = float(pdf["spectral_radius"].quantile(0.9))
        row["day_share_stationary"] = float((pdf["spectral_radius"] < 1).mean())
        for r in ROLES:
            row[f"day_{r}_median"] = float(pdf[r].median())
        row["day_delay_s_median"] = float(pdf["mean_delay_s"].median())
        row["day_ks_share_ok"] = float(
            pdf["ks_not_rejected"].sum() / max(1, pdf["ks_tested"].sum())
        )
        row["day_converged"] = float(pdf["converged"].mean())
    if p["pooled"]:
        pooled_structure = bracket_structure(k, neighbours=p["neighbours"], tied=p["pooled_tied"])
        seqs, grids = [d.events for d in days], [d.grid for d in days]
        with ctx.step(f"{city}: pooled fit over {len(days)} days"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_pooled(
                seqs,
                grids,
                alpha_structure=pooled_structure,
                day_baseline=p["day_baseline"],
                max_iter=p["max_iter"],
                stderr=p["stderr"],
            )
            ks = pooled_ks(
                res.params,
                seqs,
                grids,
                day_scale=res.day_scale,
                min_events=p["ks_min_events"],
            )
            if p["day_baseline"] != "shared":
                shared = fit_pooled(
                    seqs,
                    grids,
                    alpha_structure=pooled_structure,
                    max_iter=p["max_iter"],
                    stderr=False,
                )
                ks_shared = pooled_ks(shared.params, seqs, grids, min_events=p["ks_min_events"])
                ok_shared, tested_shared = _ks_share(ks_shared, p["ks_level"])
                row.update(
                    pooled_shared_ks_share_ok=ok_shared / max(1, tested_shared),
                    pooled_shared_ks_stat_mean=_ks_stat(ks_shared),
                    pooled_shared_aic=shared.info.aic,
                )
        alpha = np.asarray(res.params.alpha, np.float64)
        mu = np.asarray(res.params.mu, np.float64)  # (2K, B) per time unit
        per_hour = 3600.0 / days[0].unit_seconds
        ll0 = poisson_log_likelihood(seqs, grids)
        ok, tested = _ks_share(ks, p["ks_level"])
        row.update(
            pooled_rho=res.info.spectral_radius,
            pooled_rho_se=res.info.spectral_radius_se,
            **{f"pooled_{r}": v for r, v in role_sums(alpha, k).items()},
            pooled_delay_s=float(days[0].unit_seconds / np.asarray(res.params.beta)[0, 0]),
            mu_buy_per_hour=float(mu[0::2].mean(axis=1).sum() * per_hour),
            mu_sell_per_hour=float(mu[1::2].mean(axis=1).sum() * per_hour),
            lr_vs_poisson_per_event=(res.info.log_likelihood - ll0) / res.info.num_events,
            pooled_ks_share_ok=ok / max(1, tested),
            pooled_ks_stat_mean=_ks_stat(ks),
            pooled_aic=res.info.aic,
            pooled_ks_mean_residual=float(np.mean(ks["mean_residual"])) if tested else np.nan,
            pooled_converged=res.info.converged,
        )
        ctx.fitted[f"hawkes_{city}"] = {
            "spectral_radius": round(res.info.spectral_radius, 6),
            "spectral_radius_se": round(res.info.spectral_radius_se, 6),
            "beta_per_unit": float(np.asarray(res.params.beta)[0, 0]),
            "unit_seconds": days[0].unit_seconds,
            "alpha": np.round(alpha, 5).tolist(),
            "mu_per_unit": np.round(mu, 7).tolist(),
            "day_baseline": p["day_baseline"],
        }
    return row, per_day


def _plots(ctx: RunContext, summary: pd.DataFrame, per_day: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if {"pooled_self"} <= set(summary.columns):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        x = np.arange(len(summary))
        w = 0.2
        for j, r in enumerate(ROLES):
            ax.bar(x + (j - 1.5) * w, summary[f"pooled_{r}"], w, label=r.replace("_", " "))
        ax.set_xticks(x, summary["city"])
        ax.set_ylabel("direct offspring per event")
        ax.set_title("Pooled flow Hawkes: excitation by role")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(ctx.out_dir / "hawkes_roles.png", dpi=110)
        plt.close(fig)
        ctx.add_plot("hawkes_roles.png")
    if not per_day.empty:
        cities = list(summary["city"])
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.boxplot([per_day.loc[per_day["city"] == c, "spectral_radius"] for c in cities])
        ax.set_xticks(np.arange(1, len(cities) + 1), cities)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_ylabel("spectral radius of alpha")
        ax.set_title("Per event-day branching ratio")
        fig.tight_layout()
        fig.savefig(ctx.out_dir / "hawkes_rho_per_day.png", dpi=110)
        plt.close(fig)
        ctx.add_plot("hawkes_rho_per_day.png")


def run(ctx: RunContext) -> pd.DataFrame:
    """Fit and report; returns an empty forecast frame (no PMF from this kind)."""
    p = ctx.params
    if p["split"] not in ("all", "train", "test"):
        from kbayes.experiment.config import ConfigError

        raise ConfigError(f"params.split: {p['split']!r} must be 'all', 'train' or 'test'")
    if p["day_baseline"] not in ("shared", "day", "day_dim", "day_dim_bin"):
        from kbayes.experiment.config import ConfigError

        raise ConfigError(
            f"params.day_baseline: {p['day_baseline']!r} must be 'shared', 'day', 'day_dim' "
            "or 'day_dim_bin'"
        )
    events = [e for e in ctx.data.events if p["split"] in ("all", e.split)]
    rows, per_day_rows = [], []
    with jax.enable_x64(True):
        with ctx.step("order flow"):
            flow = load_flow_days(
                ctx.data.store,
                events,
                unit_seconds=p["unit_seconds"],
                hour_edges=p["hour_edges"],
                merge_sweeps=p["merge_sweeps"],
            )
        ctx.note(
            f"hawkes: time unit {p['unit_seconds']:g} s; {len(flow)} of {len(events)} "
            "event-days have trades"
        )
        for city in sorted({d.city for d in flow}):
            days = [d for d in flow if d.city == city]
            k = pd.Series([d.num_brackets for d in days]).mode().iloc[0]
            kept = [d for d in days if d.num_brackets == k]
            if len(kept) < len(days):
                ctx.note(f"hawkes {city}: {len(days) - len(kept)} ladders with K != {k} left out")
            kept = _sample(kept, p["max_days_per_city"])
            row, per_day = _fit_city(ctx, city, kept, p)
            rows.append(row)
            per_day_rows += per_day
    summary = pd.DataFrame(rows)
    per_day_df = pd.DataFrame(per_day_rows)
    if not summary.empty:
        ctx.add_table(
            "hawkes_summary",
            summary.round(4),
            "Order-flow Hawkes per city (pooled and per event-day)",
        )
        _plots(ctx, summary, per_day_df)
    if not per_day_df.empty:
        ctx.add_table("hawkes_per_day", per_day_df.round(4), "Per event-day Hawkes fits")
    return pd.DataFrame(columns=FORECAST_COLUMNS)


KIND = register_kind(
    ExperimentKind(
        name="hawkes",
        run=run,
        defaults=DEFAULTS,
        description="order-flow Hawkes per city: branching ratios, excitation roles, KS fit",
    )
)
