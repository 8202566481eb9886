"""PNG figures of calibration diagnostics: reliability diagram and PIT histogram.

Drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas, so writing a PNG neither needs
a display nor changes pyplot's global backend or figure registry. matplotlib is imported only
when a figure is drawn, so importing :mod:`kbayes.scoring` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kbayes.scoring.ece import ece_from_bins
from kbayes.scoring.pit import pit_histogram
from kbayes.scoring.reliability import ReliabilityBins

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _save(fig: Figure, path: str | Path, dpi: int) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, dpi=dpi, format="png")
    return out


def write_reliability_png(
    path: str | Path,
    bins: ReliabilityBins | Mapping[str, ReliabilityBins],
    *,
    title: str = "Reliability",
    dpi: int = 110,
) -> Path:
    """Reliability diagram (observed frequency vs. mean forecast per bin, with the diagonal)
    above a histogram of the forecasts per bin; one series per entry of ``bins``.

    Returns:
        The path written.
    """
    series = {"forecast": bins} if isinstance(bins, ReliabilityBins) else dict(bins)
    fig = _figure(5.0, 6.0)
    ax, hist = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly reliable")
    for name, b in series.items():
        filled = b.count > 0
        ax.plot(
            b.mean_forecast[filled],
            b.frequency[filled],
            marker="o",
            label=f"{name} (ECE {ece_from_bins(b):.3f})",
        )
        centres = np.where(np.isfinite(b.lower + b.upper), 0.5 * (b.lower + b.upper), np.nan)
        widths = np.where(np.isfinite(b.upper - b.lower), b.upper - b.lower, 0.0)
        hist.bar(
            centres[filled],
            b.count[filled],
            width=np.maximum(widths[filled], 0.01),
            alpha=0.4,
            label=name,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed frequency")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    hist.set_xlabel("forecast probability")
    hist.set_ylabel("count")
    hist.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi)


def write_pit_png(
    path: str | Path,
    u: np.ndarray | Mapping[str, np.ndarray],
    *,
    n_bins: int = 10,
    title: str = "PIT histogram",
    dpi: int = 110,
) -> Path:
    """Histogram of PIT values as densities, with the uniform density 1 for reference.

    Returns:
        The path written.
    """
    series = dict(u) if isinstance(u, Mapping) else {"forecast": u}
    fig = _figure(5.0, 3.6)
    ax = fig.subplots()
    for name, values in series.items():
        counts, edges = pit_histogram(values, n_bins)
        density = counts / max(counts.sum(), 1) * n_bins
        ax.stairs(density, edges, label=name, lw=1.5)
    ax.axhline(1.0, color="grey", ls="--", lw=1, label="uniform")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT value")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path, dpi)
