"""Experiment outputs: results (CSV + parquet), per-event forecasts, report, manifest, plots."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kbayes.experiment.config import ExperimentConfig
from kbayes.experiment.data import ExperimentData


def write_outputs(
    out_dir: Path,
    config: ExperimentConfig,
    results: pd.DataFrame,
    forecasts: pd.DataFrame,
    data: ExperimentData,
    ctx: Any,
    data_desc: dict[str, Any],
    version: str,
    seconds: float,
) -> None:
    results.to_csv(out_dir / "results.csv", index=False, float_format="%.6f")
    results.to_parquet(out_dir / "results.parquet", index=False)
    long = forecasts_frame(forecasts, data)
    long.to_parquet(out_dir / "forecasts.parquet", index=False)
    plots = write_plots(out_dir, results, long, [d.label for d in config.decision_times])
    plots += ctx.plots
    for name, (_, df) in ctx.tables.items():
        df.to_csv(out_dir / f"{name}.csv", index=False)
    manifest = {
        "name": config.name,
        "kind": config.kind,
        "config_hash": config.config_hash,
        "config": config.raw,
        "code_version": version,
        "python": platform.python_version(),
        "seed": config.seed,
        "data": data_desc,
        "data_hash": _data_hash(data_desc),
        "n_events": len(data.events),
        "n_events_by_split": pd.Series([e.split for e in data.events]).value_counts().to_dict(),
        "skipped_events": len(data.skipped),
        "fitted": ctx.fitted,
        "notes": ctx.notes,
        "timings_s": ctx.timings,
        "wall_s": round(seconds, 3),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    (out_dir / "report.md").write_text(render_report(config, results, ctx, plots, data))


def forecasts_frame(forecasts: pd.DataFrame, data: ExperimentData) -> pd.DataFrame:
    """Long per-event forecast table (one row per bracket) for parquet export."""
    events = {e.event_ticker: e for e in data.events}
    rows = []
    for r in forecasts.itertuples(index=False):
        e = events[r.event_ticker]
        for k, (ticker, p) in enumerate(zip(e.ladder.tickers, np.asarray(r.probs), strict=True)):
            rows.append(
                (
                    r.model,
                    r.decision_time,
                    r.event_ticker,
                    e.city,
                    e.date,
                    e.split,
                    k,
                    ticker,
                    float(p),
                    int(k == e.outcome),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "decision_time",
            "event_ticker",
            "city",
            "date",
            "split",
            "k",
            "ticker",
            "prob",
            "realised",
        ],
    )


def _data_hash(desc: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(desc, sort_keys=True, default=str).encode()).hexdigest()


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_report(
    config: ExperimentConfig,
    results: pd.DataFrame,
    ctx: Any,
    plots: list[str],
    data: ExperimentData,
) -> str:
    parts = [f"# {config.name} ({config.kind})", ""]
    n_split = pd.Series([e.split for e in data.events]).value_counts().to_dict()
    parts.append(
        f"Events scored: {len(data.events)} {n_split}; train up to "
        f"{config.split.train_end}, test from {config.split.test_start}. "
        "Decision times are local standard time. log_loss clips probabilities at 1e-4; "
        "brier is multi-class (0..2); rps sums the K-1 cumulative thresholds."
    )
    parts.append("")
    for split in ("test", "train", "all"):
        sub = results[(results["split"] == split) & (results["city"] == "all")]
        if sub.empty:
            continue
        parts += [
            f"## All cities, split `{split}`",
            "",
            _md_table(sub.drop(columns=["kind", "city", "split"])),
            "",
        ]
    per_city = results[(results["split"] == "test") & (results["city"] != "all")]
    if not per_city.empty:
        parts += [
            "## Per city, split `test`",
            "",
            _md_table(per_city.drop(columns=["kind", "split"])),
            "",
        ]
    for name, (title, df) in ctx.tables.items():
        parts += [f"## {title}", "", f"(`{name}.csv`)", "", _md_table(df), ""]
    if plots:
        parts += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    if ctx.fitted:
        parts += [
            "## Fitted parameters",
            "",
            "```json",
            json.dumps(ctx.fitted, indent=2, default=str),
            "```",
            "",
        ]
    if ctx.notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in ctx.notes] + [""]
    return "\n".join(parts)


def write_plots(
    out_dir: Path, results: pd.DataFrame, long: pd.DataFrame, order: list[str]
) -> list[str]:
    """Score-by-decision-time lines and a reliability diagram (test split, all cities)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    split = "test" if (results["split"] == "test").any() else "all"
    sub = results[(results["split"] == split) & (results["city"] == "all")]
    if not sub.empty:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        for ax, metric in zip(axes, ("log_loss", "brier", "rps"), strict=True):
            for model, g in sub.groupby("model"):
                g = g.set_index("decision_time").reindex(
                    [o for o in order if o in set(g["decision_time"])]
                )
                ax.plot(range(len(g)), g[metric], marker="o", label=model)
                ax.set_xticks(range(len(g)), g.index, rotation=30)
            ax.set_title(f"{metric} ({split} split, all cities)")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "scores_by_decision_time.png", dpi=110)
        plt.close(fig)
        written.append("scores_by_decision_time.png")
    lsub = long[long["split"] == split] if not long.empty else long
    if not lsub.empty:
        fig, ax = plt.subplots(figsize=(5, 5))
        bins = np.linspace(0, 1, 11)
        for model, g in lsub.groupby("model"):
            idx = np.clip(np.digitize(g["prob"], bins) - 1, 0, 9)
            frame = pd.DataFrame({"b": idx, "p": g["prob"], "y": g["realised"]})
            agg = frame.groupby("b").agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
            agg = agg[agg["n"] >= 5]
            ax.plot(agg["p"], agg["y"], marker="o", label=model)
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        ax.set_xlabel("forecast probability of a bracket")
        ax.set_ylabel("observed frequency")
        ax.set_title(f"Reliability ({split} split, all decision times)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / "reliability.png", dpi=110)
        plt.close(fig)
        written.append("reliability.png")
    return written
