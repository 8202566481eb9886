"""What a kind's ``run`` receives: :class:`RunContext` (config, data, parameters, outputs)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from kbayes.experiment.config import ExperimentConfig
from kbayes.experiment.data import ExperimentData


@dataclass
class RunContext:
    """What a kind's ``run`` receives."""

    config: ExperimentConfig
    data: ExperimentData
    params: dict[str, Any]
    out_dir: Path
    console: Console
    notes: list[str] = field(default_factory=list)
    fitted: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    tables: dict[str, tuple[str, pd.DataFrame]] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    def add_table(self, name: str, df: pd.DataFrame, title: str) -> None:
        """An extra result table (written as ``<name>.csv`` and shown in the report)."""
        self.tables[name] = (title, df)

    def add_plot(self, filename: str) -> None:
        """A PNG the kind wrote into ``out_dir``, to be linked from the report."""
        self.plots.append(filename)

    def note(self, text: str) -> None:
        """Something the report should say (missing data, defaults used)."""
        self.notes.append(text)
        self.console.log(f"[yellow]note[/]: {text}")

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        with self.console.status(f"{name} ..."):
            yield
        self.timings[name] = time.perf_counter() - t0
        self.console.log(f"{name}: {self.timings[name]:.1f} s")
