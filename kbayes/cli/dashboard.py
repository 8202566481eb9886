"""The terminal dashboard of ``kbayes paper``: each ladder's latest tick, and a status line.

It is a sink of the runner (:meth:`Dashboard.on_tick` keeps the last frame of every ladder)
and a renderable factory for ``rich.live.Live`` (:meth:`Dashboard.render`), refreshed by the
caller on a timer rather than per tick, so drawing never sits on the event path. Per bracket
it shows the book (bid, ask, last trade, stale marker), the market PMF (the mids normalised
to sum to one, ``p_j = mid_j / sum_i mid_i``, shown only when every bracket has a two-sided
mid), the model PMF (a component's ``pmf`` column) and every further per-bracket column a
component wrote (features); above the table the running high and the latest report, with
the missing-weather flag; below, the run's counters (events, ticks, stale books, seq gaps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kbayes.execution.intents import Intent
from kbayes.market.events import ns_to_utc
from kbayes.runner.pipeline import LadderPipeline, LadderSpec, TickFrame

# Columns shown in their own places (the rest are features, shown after the PMFs).
BOOK_COLUMNS = ("bid", "ask", "last", "mid", "stale")
HIDDEN_COLUMNS = frozenset(
    {"microprice", "bid_size", "ask_size", "volume", "trades", "temp_f", "high_f", "wx_missing"}
)


def market_pmf(mid: Sequence[float]) -> np.ndarray:
    """The mids normalised to sum to one; all ``nan`` unless every mid is finite (> 0 sum)."""
    m = np.asarray(mid, dtype=float)
    total = m.sum()
    if m.size == 0 or not np.all(np.isfinite(m)) or not total > 0:
        return np.full(m.shape, np.nan)
    return m / total


def _num(v: float, fmt: str = ".2f") -> str:
    return "–" if v is None or not math.isfinite(v) else format(v, fmt)


def _deg(v: float) -> str:
    return f"{v:.1f}°F" if math.isfinite(v) else "–"


def _label(spec: LadderSpec, ticker: str) -> str:
    prefix = spec.event_ticker + "-"
    return ticker[len(prefix) :] if ticker.startswith(prefix) else ticker


class Dashboard:
    """Latest tick per ladder and a status line (see the module docstring).

    Args:
        status: returns the run's counters to show (``{"events": 123, ...}``), called at
            each render.
        max_features: at most this many extra feature columns per ladder.
    """

    def __init__(
        self,
        status: Callable[[], Mapping[str, Any]] | None = None,
        max_features: int = 8,
    ) -> None:
        self.status = status
        self.max_features = max_features
        self.latest: dict[str, tuple[LadderSpec, TickFrame]] = {}
        self.n_intents = 0

    def on_tick(
        self, pipeline: LadderPipeline, frame: TickFrame, intents: Sequence[Intent]
    ) -> None:
        """Keep the ladder's latest frame (the runner's sink protocol)."""
        self.latest[pipeline.spec.event_ticker] = (pipeline.spec, frame)
        self.n_intents += len(intents)

    def ladder_table(self, spec: LadderSpec, frame: TickFrame) -> RenderableType:
        """One ladder at its latest tick: a header line (time, weather) and the table."""
        cols = frame.columns
        k_num = len(spec.tickers)

        def col(name: str) -> list[float]:
            v = cols.get(name)
            return [math.nan] * k_num if v is None else [float(x) for x in v]

        high, temp, missing = col("high_f")[0], col("temp_f")[0], col("wx_missing")[0]
        wx = f"high {_deg(high)}  last {_deg(temp)}"
        if missing == 1.0:
            wx += "  [bold red]WEATHER MISSING[/]"
        elif not spec.station:
            wx = "no station"
        header = f"[bold]{spec.event_ticker}[/]  {ns_to_utc(frame.t_ns):%H:%M:%S} UTC  {wx}"
        table = Table(expand=False)
        table.add_column("bracket")
        for name in ("bid", "ask", "last", "mkt pmf"):
            table.add_column(name, justify="right")
        has_model = "pmf" in cols
        if has_model:
            table.add_column("model pmf", justify="right")
        features = [
            c for c in cols if c not in BOOK_COLUMNS and c not in HIDDEN_COLUMNS and c != "pmf"
        ][: self.max_features]
        for name in features:
            table.add_column(name, justify="right")
        bid, ask, last, stale = col("bid"), col("ask"), col("last"), col("stale")
        pmf = market_pmf(col("mid"))
        model = col("pmf") if has_model else []
        feats = {name: col(name) for name in features}
        for k, ticker in enumerate(spec.tickers):
            row = [
                _label(spec, ticker) + (" [red]stale[/]" if stale[k] == 1.0 else ""),
                _num(bid[k]),
                _num(ask[k]),
                _num(last[k]),
                _num(pmf[k], ".3f"),
            ]
            if has_model:
                row.append(_num(model[k], ".3f"))
            row += [_num(feats[name][k], ".4g") for name in features]
            table.add_row(*row)
        return Group(Text.from_markup(header), table)

    def status_line(self) -> Text:
        """The run's counters on one line."""
        s = dict(self.status() if self.status is not None else {})
        s.setdefault("ladders", len(self.latest))
        if self.n_intents:
            s["intents"] = self.n_intents
        return Text("  ".join(f"{k} {v}" for k, v in s.items()), style="dim")

    def render(self) -> RenderableType:
        """Every ladder's table and the status line."""
        parts: list[RenderableType] = [self.ladder_table(*v) for v in self.latest.values()]
        if not parts:
            parts.append(Text("waiting for the first tick…", style="italic"))
        parts.append(self.status_line())
        return Group(*parts)
