"""The replay log: per-tick columns of every ladder, and the intents, as parquet tables.

Rows are ``(t, event_ticker, k, ticker, <columns>)``, one per bracket and tick, in tick
order; intents are one row each with their decision time. Written with fixed column order
and no wall-clock metadata, so replaying the same data twice gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kbayes.execution.intents import Intent
from kbayes.runner.pipeline import LadderPipeline, TickFrame


class FrameSink:
    """Collects tick frames per ladder in memory; :meth:`frame` / :meth:`write` at the end."""

    def __init__(self) -> None:
        self._ticks: dict[str, list[TickFrame]] = {}
        self._tickers: dict[str, tuple[str, ...]] = {}
        self.intents: list[tuple[int, str, Intent]] = []

    def on_tick(
        self, pipeline: LadderPipeline, frame: TickFrame, intents: Sequence[Intent]
    ) -> None:
        ev = pipeline.spec.event_ticker
        ticks = self._ticks.get(ev)
        if ticks is None:
            ticks = self._ticks[ev] = []
            self._tickers[ev] = pipeline.spec.tickers
        ticks.append(frame)
        if intents:
            self.intents.extend((frame.t_ns, ev, i) for i in intents)

    def events(self) -> list[str]:
        return list(self._ticks)

    def frame(self, event_ticker: str) -> pd.DataFrame:
        """The long table of one ladder."""
        frames = self._ticks.get(event_ticker, [])
        tickers = self._tickers.get(event_ticker, ())
        k_num, t_num = len(tickers), len(frames)
        t = np.repeat(np.array([f.t_ns for f in frames], dtype=np.int64), k_num)
        out = {
            "t": pd.to_datetime(t, utc=True),
            "event_ticker": np.full(t_num * k_num, event_ticker, dtype=object),
            "k": np.tile(np.arange(k_num, dtype=np.int64), t_num),
            "ticker": np.tile(np.array(tickers, dtype=object), t_num),
        }
        names = list(frames[0].columns) if frames else []
        for name in names:
            out[name] = np.array([f.columns[name] for f in frames], dtype=float).reshape(-1)
        return pd.DataFrame(out)

    def intents_frame(self) -> pd.DataFrame:
        rows = [
            {"t": pd.Timestamp(t, unit="ns", tz="UTC"), "event_ticker": ev, **i._asdict()}
            for t, ev, i in self.intents
        ]
        cols = ["t", "event_ticker", *Intent._fields]
        return pd.DataFrame(rows, columns=cols)

    def write_tables(self, out_dir: Path) -> list[Path]:
        """``features/<event>.parquet`` per ladder collected so far."""
        (out_dir / "features").mkdir(parents=True, exist_ok=True)
        paths = []
        for ev in self._ticks:
            path = out_dir / "features" / f"{ev}.parquet"
            self.frame(ev).to_parquet(path, index=False)
            paths.append(path)
        return paths

    def write_intents(self, out_dir: Path) -> Path:
        """``intents.parquet``: every intent collected."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "intents.parquet"
        self.intents_frame().to_parquet(path, index=False)
        return path

    def write(self, out_dir: Path) -> list[Path]:
        """:meth:`write_tables` and :meth:`write_intents`."""
        return [*self.write_tables(out_dir), self.write_intents(out_dir)]

    def clear(self) -> None:
        """Forget the collected ticks (after writing one event's); intents are kept."""
        self._ticks.clear()
        self._tickers.clear()
