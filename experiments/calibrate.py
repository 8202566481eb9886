"""Experiment kind ``calibrate``: calibration maps fitted on the training split to a PMF source.

The source PMFs are :mod:`models.baselines`, the ``baselines`` kind's code (``source``:
``market_last`` by default, or ``market_vwap30``, ``forecast_normal``, ``climatology``), so they
equal that kind's rows exactly. For every decision time (or pooled over decision times when
``per_decision_time`` is false) maps are fitted on the *training* events only and applied to
every event; the runner scores each model per split, so the test rows are out of sample:

* ``<source>+temperature``: ``q = softmax(ln p / T)`` over the bracket vector (Guo et al. 2017),
  one ``T`` for all ladder lengths;
* ``<source>+dirichlet``: ``q = softmax(W ln p + b)`` with ODIR (Kull et al. 2019), one map per
  ladder length ``K``, ``lambda`` chosen by cross-validation over contiguous blocks of days
  (``dirichlet_cv``) or fixed (``dirichlet_lambda``); ladders whose ``K`` has fewer than
  ``min_train`` training rows keep the source PMF (noted);
* ``<source>+platt``, ``+beta`` (Kull et al. 2017), ``+isotonic`` (PAV): binary maps fitted on
  every (bracket probability, bracket won) pair of the training PMFs, applied to each bracket
  probability, floored at ``prob_floor`` and renormalised over the ladder.

Extra outputs: binned ECE (top-label and all-brackets, ``ece_bins`` equal-width bins) before
and after on the test split, and reliability diagrams (all brackets, test split).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pandas as pd

from kbayes.calibration import (
    apply_beta,
    apply_dirichlet,
    apply_isotonic,
    apply_platt,
    apply_temperature_multiclass,
    fit_beta,
    fit_dirichlet,
    fit_dirichlet_cv,
    fit_isotonic,
    fit_platt,
    fit_temperature_multiclass,
    group_by_k,
)
from kbayes.experiment.context import RunContext
from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.scoring import (
    all_brackets,
    ece_all_brackets,
    ece_top_label,
    reliability_bins,
    write_reliability_png,
)
from models import baselines

MAPS = ("temperature", "dirichlet", "platt", "beta", "isotonic")
BINARY_MAPS = ("platt", "beta", "isotonic")
DEFAULTS = {
    "source": "market_last",
    "source_params": {k: copy.deepcopy(v) for k, v in baselines.DEFAULTS.items() if k != "models"},
    "maps": list(MAPS),
    "per_decision_time": True,
    "dirichlet_cv": True,
    "dirichlet_lambda": 0.01,
    "cv_folds": 5,
    "min_train": 30,
    "prob_floor": 1e-4,
    "ece_bins": 10,
}
FORECAST_COLUMNS = ["model", "decision_time", "event_ticker", "probs"]


def _config_error(msg: str) -> Exception:
    from kbayes.experiment.config import ConfigError

    return ConfigError(msg)


def source_forecasts(ctx: RunContext, source: str) -> pd.DataFrame:
    """The source PMFs, computed by the ``baselines`` kind with only that model enabled."""
    params = {**copy.deepcopy(baselines.DEFAULTS), **copy.deepcopy(ctx.params["source_params"])}
    params["models"] = [source]
    return baselines.baseline_forecasts(ctx, params)


def _binary(
    fit_fn: Callable, apply_fn: Callable, train: list[np.ndarray], y_train: np.ndarray, floor: float
) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    p, y = all_brackets(train, y_train)
    params, _ = fit_fn(p, y)

    def apply(probs: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for q in probs:
            r = np.maximum(np.asarray(apply_fn(params, np.asarray(q, np.float64)), float), floor)
            out.append(r / r.sum())
        return out

    return apply


def _fit_maps(
    ctx: RunContext, train: pd.DataFrame, label: str
) -> dict[str, Callable[[list[np.ndarray]], list[np.ndarray]]]:
    """Fitted maps, each turning a list of PMFs into calibrated PMFs."""
    p = ctx.params
    probs = list(train["probs"])
    y = train["outcome"].to_numpy(np.int64)
    maps: dict[str, Callable] = {}
    for name in p["maps"]:
        if name == "temperature":
            tp, _ = fit_temperature_multiclass(probs, y)
            ctx.fitted.setdefault("temperature", {})[label] = round(tp.temperature, 5)
            maps[name] = lambda qs, tp=tp: [
                np.asarray(x) for x in apply_temperature_multiclass(tp, list(qs))
            ]
        elif name == "dirichlet":
            fitted: dict[int, object] = {}
            for k, idx in group_by_k(probs).items():
                if len(idx) < p["min_train"]:
                    ctx.note(
                        f"calibrate {label}: {len(idx)} training ladders with K = {k} < "
                        f"min_train; Dirichlet keeps the source PMF for that K"
                    )
                    continue
                P = np.stack([probs[i] for i in idx])
                if p["dirichlet_cv"]:
                    dates = train["date"].to_numpy()[idx]
                    dp, info = fit_dirichlet_cv(P, y[idx], dates, n_folds=p["cv_folds"])
                    lam = info.lam
                else:
                    lam = p["dirichlet_lambda"]
                    dp, _ = fit_dirichlet(P, y[idx], lam=lam)
                fitted[k] = dp
                ctx.fitted.setdefault("dirichlet_lambda", {})[f"{label} K={k}"] = lam

            def apply_dir(qs: list[np.ndarray], fitted: dict = fitted) -> list[np.ndarray]:
                out = []
                for q in qs:
                    dp = fitted.get(len(q))
                    out.append(q if dp is None else apply_dirichlet(dp, np.asarray(q)[None])[0])
                return out

            maps[name] = apply_dir
        elif name in BINARY_MAPS:
            fit_fn, apply_fn = {
                "platt": (fit_platt, apply_platt),
                "beta": (fit_beta, apply_beta),
                "isotonic": (fit_isotonic, apply_isotonic),
            }[name]
            maps[name] = _binary(fit_fn, apply_fn, probs, y, p["prob_floor"])
    return maps


def _ece_table(ctx: RunContext, rows: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    test = rows[rows["split"] == "test"]
    out = []
    by_time = [(key, g) for key, g in test.groupby(["model", "decision_time"], sort=False)]
    pooled = [((m, "all"), g) for m, g in test.groupby("model", sort=False)]
    for (model, dtl), g in by_time + pooled:
        y = g["outcome"].to_numpy(np.int64)
        out.append(
            {
                "model": model,
                "decision_time": dtl,
                "n_events": len(g),
                "ece_top_label": ece_top_label(list(g["probs"]), y, n_bins=ctx.params["ece_bins"]),
                "ece_all_brackets": ece_all_brackets(
                    list(g["probs"]), y, n_bins=ctx.params["ece_bins"]
                ),
            }
        )
    df = pd.DataFrame(out)
    if not df.empty:
        rank = {d: i for i, d in enumerate([*order, "all"])}
        df = df.sort_values(
            ["decision_time", "model"],
            key=lambda s: s.map(rank) if s.name == "decision_time" else s,
        ).reset_index(drop=True)
    return df


def run(ctx: RunContext) -> pd.DataFrame:
    """Source rows plus one row per fitted map, for every event and decision time."""
    p = ctx.params
    if p["source"] not in baselines.MODELS:
        raise _config_error(
            f"params.source: {p['source']!r} must be one of {list(baselines.MODELS)}"
        )
    unknown = sorted(set(p["maps"]) - set(MAPS))
    if unknown:
        raise _config_error(f"params.maps: unknown map(s) {unknown}; known: {list(MAPS)}")
    source = p["source"]
    with ctx.step(f"source {source}"):
        src = source_forecasts(ctx, source)
    events = {e.event_ticker: e for e in ctx.data.events}
    if src.empty:
        ctx.note(f"calibrate: the source {source!r} produced no forecasts")
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    src = src.assign(
        split=[events[e].split for e in src["event_ticker"]],
        outcome=[events[e].outcome for e in src["event_ticker"]],
        date=[events[e].date for e in src["event_ticker"]],
    )
    groups = src.groupby("decision_time", sort=False) if p["per_decision_time"] else [("all", src)]
    parts = [src]
    with ctx.step("fit and apply maps"):
        for label, g in groups:
            train = g[g["split"] == "train"]
            if len(train) < p["min_train"]:
                ctx.note(
                    f"calibrate {label}: {len(train)} training rows < min_train "
                    f"{p['min_train']}; no maps fitted"
                )
                continue
            for name, apply in _fit_maps(ctx, train.reset_index(drop=True), str(label)).items():
                parts.append(g.assign(model=f"{source}+{name}", probs=apply(list(g["probs"]))))
    rows = pd.concat(parts, ignore_index=True)
    if p["dirichlet_cv"] is False and "dirichlet" in p["maps"]:
        ctx.note(f"calibrate: Dirichlet lambda fixed at {p['dirichlet_lambda']}")
    order = [d.label for d in ctx.config.decision_times]
    ece_df = _ece_table(ctx, rows, order)
    if not ece_df.empty:
        ctx.add_table(
            "calibration_ece",
            ece_df.round(5),
            f"Binned ECE ({p['ece_bins']} bins) on the test split, before/after",
        )
        _reliability(ctx, rows[rows["split"] == "test"])
    return rows[FORECAST_COLUMNS].reset_index(drop=True)


def _reliability(ctx: RunContext, test: pd.DataFrame) -> None:
    bins = {}
    for model, g in test.groupby("model", sort=False):
        p, y = all_brackets(list(g["probs"]), g["outcome"].to_numpy(np.int64))
        bins[model] = reliability_bins(p, y, ctx.params["ece_bins"], "width")
    source = ctx.params["source"]
    multi = {
        m: b
        for m, b in bins.items()
        if m == source or m.split("+")[-1] in ("temperature", "dirichlet")
    }
    binary = {m: b for m, b in bins.items() if m == source or m.split("+")[-1] in BINARY_MAPS}
    for name, sel in (
        ("calibration_reliability_multiclass.png", multi),
        ("calibration_reliability_binary.png", binary),
    ):
        if len(sel) > 1:
            write_reliability_png(
                ctx.out_dir / name, sel, title=f"All brackets, test split: {source} before/after"
            )
            ctx.add_plot(name)


KIND = register_kind(
    ExperimentKind(
        name="calibrate",
        run=run,
        defaults=DEFAULTS,
        description="calibration maps (temperature, Dirichlet, Platt, beta, isotonic) on a PMF "
        "source: scores before/after on the test split",
    )
)
