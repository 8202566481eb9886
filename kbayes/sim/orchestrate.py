"""Orchestration: simulate market days with known truth and emit them as store records.

``simulate(config)`` runs, for every city and climate day of the config:

1. weather (:mod:`kbayes.sim.weather`) and forecasts (:mod:`kbayes.sim.forecast`), plus the
   official highs of ``n_prior_years`` earlier years over the same calendar span;
2. the daily forecast means and the ladder listed at open (:mod:`kbayes.sim.ladder`);
3. the oracle PMF of the official high over the ladder at knots (every ``knot_minutes``
   from 06:00 to 22:00 LST of the climate day, every ``night_knot_minutes`` outside those
   hours, at open and at every forecast issue; :mod:`kbayes.sim.posterior`);
4. the market: quotes, book and trades (:mod:`kbayes.sim.market`);
5. typed frames for every record kind (columns exactly those of
   :mod:`kbayes.market.records`, validated by :func:`kbayes.io.frames.conform`) plus the
   truth tables ``truth`` (per event), ``fair`` (oracle PMF per knot) and ``paths`` (true
   5-minute temperatures).

Timing: the market opens at 10:00 ET (civil, DST-aware) the day before and closes at 23:59 LST
of the climate day; the oracle at time ``t`` uses only observations stamped before ``t``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from kbayes.io.frames import conform
from kbayes.io.store import Store
from kbayes.market.cities import CITIES, City
from kbayes.market.records import (
    BookDeltaRecord,
    BookLevelRecord,
    BookTopRecord,
    CandleRecord,
    EventRecord,
    ForecastDailyRecord,
    ForecastHourlyRecord,
    MarketRecord,
    OfficialHighRecord,
    TradeRecord,
    WeatherObsRecord,
)
from kbayes.sim.climate import climate_params
from kbayes.sim.emit import EventMeta, market_frames, str_col, ts_col
from kbayes.sim.forecast import ForecastInfo, daily_frame, hourly_frame, simulate_forecasts
from kbayes.sim.ladder import MarketSpec, build_ladder, event_ticker, interior_edges, ladder_specs
from kbayes.sim.market import EventInputs, EventTape, MarketParams, simulate_event_market
from kbayes.sim.posterior import (
    EventPaths,
    MCDraws,
    bracket_pmf,
    gls_stats,
    max_cdf,
    mc_draws,
    theta_posterior,
)
from kbayes.sim.seeds import rng_for
from kbayes.sim.weather import STEP_NS, STEPS, WeatherBatch, simulate_weather, station_reports

NS = 10**9
MIN_NS = 60 * NS
HOUR_NS = 60 * MIN_NS
ET = ZoneInfo("America/New_York")
_EVENT_BLOCK = 24  # events per Monte Carlo block (bounds memory)
_FORECAST_PATHS = 64  # Monte Carlo paths for the published daily forecast mean


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    Attributes:
        start: first climate day.
        n_days: number of consecutive climate days.
        cities: city keys of :data:`kbayes.market.cities.CITIES` (with simulator climate).
        seed: master seed; every (city, day, component) stream derives from it.
        n_prior_years: earlier years of official highs to emit (same calendar span).
        n_mc: Monte Carlo paths of the oracle posterior per event.
        knot_minutes: spacing of oracle updates 06:00-22:00 LST of the climate day
            (a multiple of 5 dividing 60).
        night_knot_minutes: spacing of oracle updates outside those hours (a multiple of
            ``knot_minutes`` dividing 60); the night posterior moves slowly and costs most.
        market: quote, book and order-flow parameters.
        source: the ``source`` / ``provider`` value of every record.
    """

    start: dt.date = dt.date(2025, 1, 6)
    n_days: int = 60
    cities: tuple[str, ...] = ("NY", "CHI", "MIA")
    seed: int = 0
    n_prior_years: int = 5
    n_mc: int = 256
    knot_minutes: int = 15
    night_knot_minutes: int = 60
    market: MarketParams = field(default_factory=MarketParams)
    source: str = "sim"

    def __post_init__(self) -> None:
        if self.n_days < 1:
            raise ValueError(f"n_days={self.n_days}: need at least one day")
        if self.knot_minutes % 5 or self.knot_minutes <= 0 or 60 % self.knot_minutes:
            raise ValueError(f"knot_minutes={self.knot_minutes}: a multiple of 5 dividing 60")
        if self.night_knot_minutes % self.knot_minutes or 60 % self.night_knot_minutes:
            raise ValueError(
                f"night_knot_minutes={self.night_knot_minutes}: a multiple of knot_minutes "
                "dividing 60"
            )
        if self.market.quote_minutes % 5 or self.market.quote_minutes <= 0:
            raise ValueError("market.quote_minutes must be a positive multiple of 5")
        if self.market.requote_minutes % self.market.quote_minutes:
            raise ValueError("market.requote_minutes must be a multiple of market.quote_minutes")
        for c in self.cities:
            if c not in CITIES:
                raise KeyError(f"unknown city {c!r}; known: {sorted(CITIES)}")
            climate_params(c)
        if len(set(self.cities)) != len(self.cities):
            raise ValueError(f"cities={self.cities}: duplicates")

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.n_days)]

    def source_file(self, city: str) -> str:
        """``source_file`` of every row of ``city`` (writing it again replaces those rows)."""
        return f"sim://seed={self.seed}/{city}/{self.start.isoformat()}+{self.n_days}d"


@dataclass
class SimResult:
    """Frames of one simulation: one per record table, plus the truth.

    Record frames (conformed to their record types): ``markets``, ``events``, ``trades``,
    ``book_top``, ``book_levels``, ``book_deltas``, ``candles``, ``weather_obs``,
    ``forecast_hourly``, ``forecast_daily``, ``official_highs``.

    Truth frames (not store tables): ``truth`` (one row per event: curve parameters, 5-minute
    and 1-minute maxima, official high, outcome bracket, forecast at open), ``fair`` (the
    oracle bracket PMF: ``event_ticker, ticker, ts, step, p`` at every knot, ``step`` being the
    last 5-minute observation it used, ``-1`` before the climate day; it holds until the next
    knot) and ``paths`` (the true 5-minute temperature and 1-minute excursion of every day).
    """

    config: SimConfig
    markets: pd.DataFrame
    events: pd.DataFrame
    trades: pd.DataFrame
    book_top: pd.DataFrame
    book_levels: pd.DataFrame
    book_deltas: pd.DataFrame
    candles: pd.DataFrame
    weather_obs: pd.DataFrame
    forecast_hourly: pd.DataFrame
    forecast_daily: pd.DataFrame
    official_highs: pd.DataFrame
    truth: pd.DataFrame
    fair: pd.DataFrame
    paths: pd.DataFrame

    RECORD_TYPES: ClassVar[tuple[type, ...]] = (
        MarketRecord,
        EventRecord,
        TradeRecord,
        BookTopRecord,
        BookLevelRecord,
        BookDeltaRecord,
        CandleRecord,
        WeatherObsRecord,
        ForecastHourlyRecord,
        ForecastDailyRecord,
        OfficialHighRecord,
    )

    def tables(self) -> dict[type, pd.DataFrame]:
        """``{record type: frame}`` for every store table the simulator fills."""
        return {rt: getattr(self, rt.TABLE) for rt in self.RECORD_TYPES}

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame by name (record tables and truth tables)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "config"}


@dataclass
class _Event:
    city: City
    day_index: int
    day: dt.date
    ticker: str
    open_ns: int
    close_ns: int
    ws_ns: int
    specs: list[MarketSpec] = field(default_factory=list)
    forecast_open: float = float("nan")
    knot_ns: np.ndarray | None = None
    knot_step: np.ndarray | None = None
    knot_pmf: np.ndarray | None = None


def _open_ns(day: dt.date) -> int:
    """10:00 ET (civil time, DST-aware) on the day before the climate day."""
    local = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(10), tzinfo=ET)
    return int(local.timestamp()) * NS


def _shift_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def simulate(config: SimConfig | None = None) -> SimResult:
    """Simulate ``config`` (default :class:`SimConfig`); same config, same output bit for bit."""
    cfg = config or SimConfig()
    days = cfg.days
    wx_by_city: dict[str, WeatherBatch] = {}
    fc_by_city: dict[str, ForecastInfo] = {}
    events: list[_Event] = []
    for key in cfg.cities:
        city = CITIES[key]
        wx = simulate_weather(cfg.seed, city, climate_params(key), days)
        wx_by_city[key] = wx
        fc_by_city[key] = simulate_forecasts(cfg.seed, wx)
        for i, d in enumerate(days):
            ws = int(wx.window_start_ns[i])
            events.append(
                _Event(
                    city,
                    i,
                    d,
                    event_ticker(city.series, d),
                    _open_ns(d),
                    ws + 24 * HOUR_NS - MIN_NS,
                    ws,
                )
            )

    tmax_mean = {k: np.full(fc.issue_ns.shape, np.nan) for k, fc in fc_by_city.items()}
    _oracle(cfg, events, wx_by_city, fc_by_city, tmax_mean)

    tapes = [
        simulate_event_market(
            EventInputs(ev.open_ns, ev.close_ns, ev.ws_ns, ev.knot_ns, ev.knot_pmf),
            cfg.market,
            rng_for(cfg.seed, ev.city.key, ev.day, "quotes"),
            rng_for(cfg.seed, ev.city.key, ev.day, "book"),
            rng_for(cfg.seed, ev.city.key, ev.day, "flow"),
        )
        for ev in events
    ]
    return _assemble(cfg, events, tapes, wx_by_city, fc_by_city, tmax_mean)


def _oracle(
    cfg: SimConfig,
    events: list[_Event],
    wx_by_city: dict[str, WeatherBatch],
    fc_by_city: dict[str, ForecastInfo],
    tmax_mean: dict[str, np.ndarray],
) -> None:
    """Forecast means, ladders and the oracle PMF at every knot, block by block of events."""
    minutes = np.arange(0, 24 * 60, cfg.knot_minutes)
    hour = minutes // 60
    day_offsets = minutes[((hour >= 6) & (hour < 22)) | (minutes % cfg.night_knot_minutes == 0)]
    day_offsets_ns = day_offsets.astype(np.int64) * MIN_NS
    for b in range(0, len(events), _EVENT_BLOCK):
        block = events[b : b + _EVENT_BLOCK]
        models = [wx_by_city[ev.city.key].model for ev in block]
        temp = np.stack([wx_by_city[ev.city.key].temp_f[ev.day_index] for ev in block])
        paths = EventPaths.stack(models, temp)
        rngs = [rng_for(cfg.seed, ev.city.key, ev.day, "mc") for ev in block]
        mc = mc_draws(rngs, paths, cfg.n_mc)
        prec, info = gls_stats(paths)

        # 1. published daily forecast: predictive mean of M1 given each issue (no obs)
        fc_list = [fc_by_city[ev.city.key] for ev in block]
        n_issue = fc_list[0].issue_ns.shape[1]
        q_ev = np.repeat(np.arange(len(block)), n_issue)
        pm = np.concatenate([fc.mean[ev.day_index] for fc, ev in zip(fc_list, block, strict=True)])
        ps = np.concatenate([fc.sd[ev.day_index] for fc, ev in zip(fc_list, block, strict=True)])
        mean, chol = theta_posterior(pm, ps)
        few = MCDraws(
            mc.z[:, :_FORECAST_PATHS], mc.rho[:, :_FORECAST_PATHS], mc.fut[:, :_FORECAST_PATHS]
        )
        _, m1 = max_cdf(
            paths, few, q_ev, np.full(len(q_ev), -1), mean, chol, np.zeros((len(block), 1))
        )
        m1 = m1.reshape(len(block), n_issue)
        for i, ev in enumerate(block):
            tmax_mean[ev.city.key][ev.day_index] = m1[i]

        # 2. ladder listed at open, centred on the latest published forecast
        for i, ev in enumerate(block):
            fc = fc_by_city[ev.city.key]
            k_open = fc.latest(ev.day_index, ev.open_ns)
            ev.forecast_open = float(np.round(m1[i, k_open], 1))
            ev.specs = ladder_specs(ev.ticker, ev.forecast_open)
            build_ladder(ev.ticker, ev.specs)  # validates the tiling

        # 3. knots and the oracle PMF
        q_ev, q_step, q_issue, q_ns = [], [], [], []
        for i, ev in enumerate(block):
            fc = fc_by_city[ev.city.key]
            issues = fc.issue_ns[ev.day_index]
            day_knots = ev.ws_ns + day_offsets_ns
            t = np.unique(np.concatenate([[ev.open_ns], issues[issues > ev.open_ns], day_knots]))
            t = t[(t >= ev.open_ns) & (t < ev.close_ns)]
            step = np.clip(-((ev.ws_ns - t) // STEP_NS) - 1, -1, STEPS - 1)  # obs stamped < t
            ev.knot_ns, ev.knot_step = t, step
            q_ev.append(np.full(len(t), i))
            q_step.append(step)
            q_issue.append(np.searchsorted(issues, t, side="right") - 1)
            q_ns.append(t)
        q_ev_a, q_step_a, q_issue_a = (np.concatenate(x) for x in (q_ev, q_step, q_issue))
        d_idx = np.array([ev.day_index for ev in block])[q_ev_a]
        pm = np.stack(
            [fc_list[e].mean[d, i] for e, d, i in zip(q_ev_a, d_idx, q_issue_a, strict=True)]
        )
        ps = np.stack(
            [fc_list[e].sd[d, i] for e, d, i in zip(q_ev_a, d_idx, q_issue_a, strict=True)]
        )
        mean = np.empty_like(pm)
        chol = np.empty((*pm.shape, 3))
        pre = q_step_a < 0
        if pre.any():
            mean[pre], chol[pre] = theta_posterior(pm[pre], ps[pre])
        if (~pre).any():
            e_, s_ = q_ev_a[~pre], q_step_a[~pre]
            mean[~pre], chol[~pre] = theta_posterior(pm[~pre], ps[~pre], prec[e_, s_], info[e_, s_])
        thr = np.array([interior_edges(ev.specs) for ev in block], dtype=float) + 0.5
        cdf, _ = max_cdf(paths, mc, q_ev_a, q_step_a, mean, chol, thr)
        pmf = bracket_pmf(cdf)
        for i, ev in enumerate(block):
            ev.knot_pmf = pmf[q_ev_a == i]


def _assemble(
    cfg: SimConfig,
    events: list[_Event],
    tapes: list[EventTape],
    wx_by_city: dict[str, WeatherBatch],
    fc_by_city: dict[str, ForecastInfo],
    tmax_mean: dict[str, np.ndarray],
) -> SimResult:
    """Build the record frames (conformed) and the truth frames."""
    src = cfg.source
    metas = []
    truth, fair = [], []
    for ev in events:
        wx = wx_by_city[ev.city.key]
        official = int(wx.official_f[ev.day_index])
        win = build_ladder(ev.ticker, ev.specs).index_of(official)
        metas.append(
            EventMeta(
                ev.ticker,
                ev.city,
                ev.day,
                ev.open_ns,
                ev.close_ns,
                ev.ws_ns,
                tuple(ev.specs),
                official,
                win,
                cfg.source_file(ev.city.key),
            )
        )
        th = wx.theta[ev.day_index]
        truth.append(
            {
                "event_ticker": ev.ticker,
                "city": ev.city.key,
                "date": ev.day,
                "peak_level_f": th[0],
                "diurnal_range_f": th[1],
                "trend_f_per_day": th[2],
                "max5_f": wx.max5_f[ev.day_index],
                "max1_f": wx.max1_f[ev.day_index],
                "official_f": official,
                "outcome_index": win,
                "outcome_ticker": ev.specs[win].ticker,
                "forecast_at_open_f": ev.forecast_open,
            }
        )
        fair.append(ev)
    frames = market_frames(metas, tapes, src)
    obs, hourly, daily, official_rows, paths = [], [], [], [], []
    for key, wx in wx_by_city.items():
        sf = cfg.source_file(key)
        rep = station_reports(cfg.seed, wx)
        n = len(rep["ts_ns"])
        obs.append(
            pd.DataFrame(
                {
                    "station": [wx.city.station] * n,
                    "ts": ts_col(rep["ts_ns"]),
                    "temp_c": rep["temp_c"],
                    "temp_source": rep["temp_source"].astype(object),
                    "dewpoint_c": rep["dewpoint_c"],
                    "report_type": "5-MIN",
                    "source": src,
                    "source_file": sf,
                }
            )
        )
        hourly.append(hourly_frame(wx, fc_by_city[key], src, sf))
        daily.append(daily_frame(wx, fc_by_city[key], tmax_mean[key], src, sf))
        official_rows.append(_official_rows(cfg, wx, src, sf))
        ts = wx.window_start_ns[:, None] + STEP_NS * np.arange(STEPS)[None, :]
        paths.append(
            pd.DataFrame(
                {
                    "city": key,
                    "station": wx.city.station,
                    "date": np.repeat(np.array(wx.days, dtype=object), STEPS),
                    "ts": ts_col(ts.ravel()),
                    "temp_f": wx.temp_f.ravel(),
                    "excursion_f": wx.excursion.ravel(),
                }
            )
        )
    frames["weather_obs"] = pd.concat(obs, ignore_index=True)
    frames["forecast_hourly"] = pd.concat(hourly, ignore_index=True)
    frames["forecast_daily"] = pd.concat(daily, ignore_index=True)
    frames["official_highs"] = pd.concat(official_rows, ignore_index=True)
    out = {rt.TABLE: conform(rt, frames[rt.TABLE]) for rt in SimResult.RECORD_TYPES}
    return SimResult(
        config=cfg,
        **out,
        truth=pd.DataFrame(truth),
        fair=_fair_frame(fair),
        paths=pd.concat(paths, ignore_index=True),
    )


def _fair_frame(events: list[_Event]) -> pd.DataFrame:
    """The oracle PMF at every knot: ``event_ticker, ticker, ts, step, p`` (long format)."""
    k = len(events[0].specs)
    n_knots = np.array([len(ev.knot_ns) for ev in events])
    ev_idx = np.repeat(np.arange(len(events)), n_knots * k)
    j = np.concatenate([np.tile(np.arange(k), n) for n in n_knots])
    tickers = [s.ticker for ev in events for s in ev.specs]
    return pd.DataFrame(
        {
            "event_ticker": str_col(ev_idx, [ev.ticker for ev in events]),
            "ticker": str_col(ev_idx * k + j, tickers),
            "ts": ts_col(np.concatenate([np.repeat(ev.knot_ns, k) for ev in events])),
            "step": np.concatenate([np.repeat(ev.knot_step, k) for ev in events]),
            "p": np.concatenate([ev.knot_pmf.ravel() for ev in events]),
        }
    )


def _official_rows(cfg: SimConfig, wx: WeatherBatch, src: str, sf: str) -> pd.DataFrame:
    """Official highs of the simulated days and of ``n_prior_years`` earlier spans, by date."""
    prior = sorted(
        {
            _shift_years(cfg.start, y) + dt.timedelta(days=i)
            for y in range(1, cfg.n_prior_years + 1)
            for i in range(cfg.n_days)
        }
        - set(wx.days)
    )
    rows = {d: int(v) for d, v in zip(wx.days, wx.official_f, strict=True)}
    if prior:
        old = simulate_weather(cfg.seed, wx.city, wx.params, prior)
        rows.update({d: int(v) for d, v in zip(old.days, old.official_f, strict=True)})
    dates = sorted(rows)
    n = len(dates)
    return pd.DataFrame(
        {
            "station": [wx.city.station] * n,
            "city": [wx.city.key] * n,
            "date": dates,
            "tmax_f": [rows[d] for d in dates],
            "source": [src] * n,
            "source_file": [sf] * n,
        }
    )


def simulate_to_store(store: Store, config: SimConfig | None = None) -> SimResult:
    """Simulate ``config`` and write every record table into ``store``.

    Rows are written per ``(table, source_file)``, i.e. per city and config span, so writing
    the same config again replaces its rows and other cities or spans are left alone.
    """
    result = simulate(config)
    for rt, df in result.tables().items():
        for sf, part in df.groupby("source_file", sort=True):
            store.write(rt, part.reset_index(drop=True), str(sf))
    return result
