"""The ``replay`` kind: the pipeline over history, with its PMFs scored at decision times.

Every event of the config is replayed through the one runner (:mod:`kbayes.runner.replay`):
the store's (or a tape's) events in clock order, the market and weather state, the
configured components on a ``tick_s`` grid, the do-nothing strategy. The tick tables go to
``features/<event>.parquet``; the PMFs the pipeline held at each decision time (a tick) are
the kind's forecasts, scored like every other kind's:

* ``market_mid``: the brackets' mids normalised to sum to one (a bracket without a
  two-sided top at that tick makes the row missing: counted in a note, never filled);
* ``ukf``: the bracket UKF's filtered PMF (:class:`~models.bracket_pmf.component.
  UKFComponent`), stepped at every bin with market activity and at every decision time, so
  at a decision it is the ``bracket_pmf`` kind's PMF for the same parameters and data;
* ``ukf_cal``: ``ukf`` PMF through a temperature map fitted on the training events' decision
  PMFs (the training days are replayed first; the map is applied to the stream of the
  others, so it exists out of sample only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from experiments.replay_plot import plot_event_day
from kbayes.calibration.temperature import TemperatureParams, fit_temperature_multiclass
from kbayes.experiment.config import DecisionTime
from kbayes.experiment.context import RunContext
from kbayes.experiment.data import EventDay
from kbayes.experiment.errors import ConfigError
from kbayes.experiment.registry import ExperimentKind, register_kind
from kbayes.features.book_shape import BookShapeParams
from kbayes.features.cusum import CusumParams
from kbayes.features.flow import FlowParams
from kbayes.features.kinematics import EwmParams
from kbayes.features.ladder_shape import LadderParams
from kbayes.features.lead_lag import LeadLagParams
from kbayes.features.ofi import OfiParams
from kbayes.features.savgol import SavgolParams
from kbayes.io.sources import SourceLags
from kbayes.io.store import Store
from kbayes.market.events import NS_PER_S, utc_to_ns
from kbayes.pointprocess.params import HawkesParams
from kbayes.runner.calibrated import CalibratedPMF
from kbayes.runner.components import Component, TopColumns, WeatherColumns
from kbayes.runner.features import (
    BookShapeComponent,
    FlowComponent,
    HawkesComponent,
    LeadLagComponent,
    OfiComponent,
    candle_component,
    cusum_component,
    ewm_component,
    ladder_component,
    savgol_component,
)
from kbayes.runner.pipeline import LadderSpec
from kbayes.runner.replay import EventRef, ReplayParams, ReplayStats, replay_events
from models.bracket_pmf.component import UKFComponent
from models.bracket_pmf.params import default_params

MIN_CALIBRATION_ROWS = 5  # decision PMFs of training events needed to fit the stream's map

DEFAULTS = {
    "tick_s": 10.0,
    "lead_hours": 14.0,
    "tail_hours": 0.0,
    "warmup_hours": 24.0,
    "events": [],  # event tickers to replay (empty: every event of the config)
    "plot": [],  # events to plot (empty: the first replayed one)
    "tape": "",  # a recorder tape folder replayed besides the store's market tables
    "features": {
        "ewm": {"velocity_halflife_s": 60.0, "acceleration_halflife_s": 120.0},
        "savgol": {"window": 13, "order": 2},
        "cusum_price": {"threshold": 0.05, "drift": 0.005},
        "cusum_imbalance": {"threshold": 2.0, "drift": 0.1, "halflife_s": 300.0},
        "ofi": {"windows_s": [10.0, 30.0, 60.0]},
        "flow": {"windows_s": [5.0, 15.0, 60.0], "volume_windows_s": [600.0, 1200.0]},
        "book_shape": {"depth_levels": [1, 3]},
        "lead_lag": {
            "corr_halflife_ticks": 30.0,
            "var_halflife_ticks": 90.0,
            "share_halflife_events": 10.0,
            "ridge": 1e-3,
        },
        # Hawkes intensities need parameters: a symmetric model (baseline mu per minute per
        # dimension, self-excitation alpha, decay beta per minute); mu = 0 leaves it out.
        "hawkes": {"mu": 0.0, "alpha": 0.3, "beta": 1.0},
    },
    "ukf": {  # the bracket UKF's natural parameters (models.bracket_pmf.params.default_params)
        "enabled": True,
        "q": 0.05,
        "p0": 2.0,
        "s0": 0.02,
        "spread": 1.0,
        "stale": 0.01,
        "volume": 0.02,
    },
    "lags": {
        "trades_s": 0.0,
        "quotes_s": 0.0,
        "book_s": 0.0,
        "candle_s": 0.0,
        "weather_default_s": 300.0,
        "forecast_s": 0.0,
        "settle_s": 3600.0,
    },
}


def _params(p: dict) -> ReplayParams:
    lags = SourceLags(**{k: float(v) for k, v in p["lags"].items()})
    try:
        return ReplayParams(
            float(p["tick_s"]),
            float(p["lead_hours"]),
            float(p["tail_hours"]),
            float(p["warmup_hours"]),
            lags,
        ).check()
    except ValueError as exc:
        raise ConfigError(f"params: {exc}") from exc


def decision_instants(spec: LadderSpec, decision_times: Sequence[DecisionTime]) -> list[int]:
    """The decision instants of a ladder (its climate day starts at LST midnight)."""
    return [
        spec.day_start_ns + ((d.hour * 60 + d.minute) * 60 - d.days_before * 86_400) * NS_PER_S
        for d in decision_times
    ]


def component_factory(
    decision_times: Sequence[DecisionTime] = (),
    ukf: Mapping[str, float] | None = None,
    features: Mapping[str, Mapping[str, Any]] | None = None,
    tick_s: float = 10.0,
) -> Callable[[LadderSpec], list[Component]]:
    """Build each ladder's components, in order: state columns, features, model steps.

    Args:
        decision_times: the decision times (the UKF steps exactly there, as the batch
            tracker of the ``bracket_pmf`` kind does).
        ukf: natural parameters of the bracket UKF (:func:`~models.bracket_pmf.params.
            default_params` keywords); ``None``: no UKF.
        features: feature parameters (``DEFAULTS["features"]`` layout; ``None``: defaults).
        tick_s: the tick grid (the Savitzky-Golay filter's sample step).
    """
    f = _merged(DEFAULTS["features"], features or {})
    params = None if ukf is None else default_params(**ukf)
    ewm = EwmParams(**f["ewm"])
    sg = SavgolParams(int(f["savgol"]["window"]), int(f["savgol"]["order"]), float(tick_s))
    cus = CusumParams(**f["cusum_price"], difference=True)

    imb = CusumParams(**f["cusum_imbalance"], reference="ewm")
    ofi_p = OfiParams(tuple(f["ofi"]["windows_s"]))
    flow_p = FlowParams(tuple(f["flow"]["windows_s"]), tuple(f["flow"]["volume_windows_s"]))
    lead = LeadLagParams(**f["lead_lag"])
    hawkes = f["hawkes"]

    def build(spec: LadderSpec) -> list[Component]:
        k = len(spec.tickers)
        out: list[Component] = [
            TopColumns(),
            WeatherColumns(),
            BookShapeComponent(BookShapeParams(tuple(f["book_shape"]["depth_levels"]),
                                               spec.day_end_ns), k),
            OfiComponent(ofi_p, k),
            cusum_component(imb, k, "queue_imbalance", "cusum_imbalance"),
            FlowComponent(flow_p, k),
            ewm_component(ewm, k),
            savgol_component(sg, k),
            cusum_component(cus, k, "price", "cusum_price"),
            candle_component(spec.tickers),
        ]  # fmt: skip
        if k >= 2:
            out.append(LeadLagComponent(lead, k))
            if spec.midpoints:
                out.append(ladder_component(LadderParams(spec.midpoints, ewm), k))
        if hawkes["mu"] > 0:
            # The model's time origin two days before the first tick: every print of the
            # warm-up excites the intensity the first tick reads.
            origin = spec.start_ns - 48 * 3600 * NS_PER_S
            out.append(HawkesComponent(symmetric_hawkes(k, **hawkes), spec.tickers, origin))
        if params is not None:
            decisions = decision_instants(spec, decision_times)
            out.append(UKFComponent(spec.tickers, spec.day_end_ns, params, decisions))
        return out

    return build


def symmetric_hawkes(k: int, mu: float, alpha: float, beta: float) -> HawkesParams:
    """A ``2K``-dimensional Hawkes model with one baseline, self-excitation and decay."""
    if not (mu > 0 and alpha >= 0 and beta > 0):
        raise ConfigError(f"params.features.hawkes: mu={mu}, alpha={alpha}, beta={beta}")
    d = 2 * k
    return HawkesParams(
        mu=np.full((d, 1), float(mu)),
        alpha=np.eye(d) * float(alpha),
        beta=np.full((d, d), float(beta)),
    )


def _merged(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in given.items():
        out[key] = _merged(defaults[key], value) if isinstance(value, Mapping) else value
    return out


feature_components = component_factory()
"""The state and feature components of a ladder (no model step)."""
components = component_factory(ukf={})
"""Every component of a ladder with the default UKF and no decision times (benchmarks)."""


def event_ref(e: EventDay) -> EventRef:
    """What the runner needs of a scorable event: ladder, city, date, bracket midpoints."""
    return EventRef(
        e.event_ticker,
        tuple(e.ladder.tickers),
        e.city,
        e.date,
        tuple(float(x) for x in e.ladder.midpoints()),
    )


def refs_with_trades(store: Store) -> list[EventRef]:
    """Every event (city-day) of the store with at least one trade, ladders in bracket order."""
    from kbayes.experiment.data import load_events

    far = dt.date(2100, 1, 1)
    data = load_events(store, far, far + dt.timedelta(days=1))
    traded = set(store.query("SELECT DISTINCT event_ticker FROM trades")["event_ticker"])
    return [event_ref(e) for e in data.events if e.event_ticker in traded]


def fit_stream_calibration(ctx: RunContext, train: list[EventRef]) -> TemperatureParams | None:
    """The temperature map of the UKF's PMF, fitted on training events' decision PMFs only."""
    f = _forecasts(ctx, train, quiet=True)
    f = f[f["model"] == "ukf"]
    if len(f) < MIN_CALIBRATION_ROWS:
        ctx.note(f"ukf_cal: {len(f)} training decision PMFs (< {MIN_CALIBRATION_ROWS}): no map")
        return None
    outcome = {e.event_ticker: e.outcome for e in ctx.data.events if e.split == "train"}
    params, _ = fit_temperature_multiclass(
        list(f["probs"]), np.array([outcome[e] for e in f["event_ticker"]])
    )
    ctx.note(f"ukf_cal: temperature {params.temperature:.4f} fitted on {len(f)} training PMFs")
    return params


def _forecasts(ctx: RunContext, refs: list[EventRef], quiet: bool = False) -> pd.DataFrame:
    rows, missing = [], {"market_mid": 0, "ukf": 0, "ukf_cal": 0}
    events = {e.event_ticker: e for e in ctx.data.events}
    for ref in refs:
        path = ctx.out_dir / "features" / f"{ref.event_ticker}.parquet"
        if not path.is_file():
            continue
        df = pd.read_parquet(path)
        k_num = len(ref.tickers)
        times = df["t"].astype("int64").to_numpy().reshape(-1, k_num)[:, 0]
        models = {"market_mid": df["mid"].to_numpy().reshape(-1, k_num)}
        if "pmf" in df:
            models["ukf"] = df["pmf"].to_numpy().reshape(-1, k_num)
        if "pmf_cal" in df:
            models["ukf_cal"] = df["pmf_cal"].to_numpy().reshape(-1, k_num)
        e = events[ref.event_ticker]
        for d in ctx.config.decision_times:
            at = utc_to_ns(d.instant(e.city, e.date))
            i = np.searchsorted(times, at)
            for model, values in models.items():
                if i >= len(times) or times[i] != at:
                    missing[model] += 1
                    continue
                p = values[i]
                if not np.all(np.isfinite(p)) or p.sum() <= 0:
                    missing[model] += 1
                    continue
                rows.append((model, d.label, ref.event_ticker, p / p.sum()))
    for model, n in missing.items():
        if n and not quiet:
            ctx.note(
                f"{model}: {n} (event, decision time) rows without a full PMF at that tick "
                "(no two-sided ladder, no UKF step yet, or outside the tick range): not scored"
            )
    return pd.DataFrame(rows, columns=["model", "decision_time", "event_ticker", "probs"])


def run(ctx: RunContext) -> pd.DataFrame:
    """Replay every event, write the tick tables, return the decision-time PMFs."""
    params = _params(ctx.params)
    wanted = set(ctx.params["events"])
    unknown = wanted - {e.event_ticker for e in ctx.data.events}
    if unknown:
        raise ConfigError(f"params.events: {sorted(unknown)} are not events of this config")
    refs = [event_ref(e) for e in ctx.data.events if not wanted or e.event_ticker in wanted]
    tape = ctx.params["tape"] or None
    if tape is not None and not Path(tape).exists():
        raise ConfigError(f"params.tape: {tape!r} does not exist")
    with Progress(
        "[bold]replay[/]",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        "{task.description}",
        console=ctx.console,
    ) as bar:
        task = bar.add_task("", total=len(refs))

        def progress(event: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=event)

        ukf = dict(ctx.params["ukf"])
        use_ukf = ukf.pop("enabled")
        split = {e.event_ticker: e.split for e in ctx.data.events}
        train = [r for r in refs if split[r.event_ticker] == "train"]
        rest = [r for r in refs if split[r.event_ticker] != "train"]
        tape_path = None if tape is None else Path(tape)
        with jax.enable_x64(True):  # the UKF in float64, as the bracket_pmf kind runs it
            build = component_factory(
                ctx.config.decision_times, ukf if use_ukf else None, ctx.params["features"],
                params.tick_s,
            )  # fmt: skip
            # Training days first: the calibration map of the UKF's PMF stream is fitted on
            # their decision-time PMFs only, then applied tick by tick to the other days.
            first = replay_events(
                ctx.data.store, train, build, ctx.out_dir, params, tape=tape_path,
                progress=progress,
            )  # fmt: skip
            intents = [pd.read_parquet(ctx.out_dir / "intents.parquet")]
            cal = fit_stream_calibration(ctx, train) if use_ukf else None
            if cal is not None:
                ctx.fitted["ukf_temperature"] = cal.temperature

                def build_rest(spec: LadderSpec) -> list[Component]:
                    return [*build(spec), CalibratedPMF(cal)]
            else:
                build_rest = build

            def progress_rest(event: str, done: int, total: int) -> None:
                progress(event, len(train) + done, len(refs))

            second = replay_events(
                ctx.data.store, rest, build_rest, ctx.out_dir, params, tape=tape_path,
                progress=progress_rest,
            )  # fmt: skip
            intents.append(pd.read_parquet(ctx.out_dir / "intents.parquet"))
            pd.concat(intents, ignore_index=True).to_parquet(ctx.out_dir / "intents.parquet")
    stats = ReplayStats(
        first.n_events + second.n_events, first.n_ticks + second.n_ticks,
        first.seconds + second.seconds, first.paths + second.paths,
    )  # fmt: skip
    ctx.timings["replay"] = stats.seconds
    for ev in ctx.params["plot"] or [r.event_ticker for r in refs[:1]]:
        table = ctx.out_dir / "features" / f"{ev}.parquet"
        if not table.is_file():
            raise ConfigError(f"params.plot: {ev!r} was not replayed")
        name = f"day_{ev}.png"
        plot_event_day(pd.read_parquet(table), ctx.out_dir / name, f"{ev}: replayed tick table")
        ctx.add_plot(name)
    rate = stats.n_events / stats.seconds if stats.seconds else 0.0
    ctx.note(
        f"replayed {stats.n_events:,} events ({stats.n_ticks:,} ticks) of {len(refs)} "
        f"ladders in {stats.seconds:.1f} s ({rate:,.0f} events/s)"
    )
    return _forecasts(ctx, refs)


KIND = register_kind(
    ExperimentKind(
        name="replay",
        run=run,
        defaults=DEFAULTS,
        description="the pipeline over history: tick tables per event, PMFs scored at decisions",
    )
)
