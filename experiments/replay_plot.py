"""One event's day from its tick table: prices, kinematics, flow, change points and the PMF.

Eight panels over the replayed ticks of one ladder, one line per bracket (same colour in
every panel): the price the features read (mid, else last trade), EWM velocity and
acceleration, relative acceleration ``a_j - mean(neighbours)``, order-flow imbalance over
60 s, the Hawkes taker-buy intensity, CUSUM alarms on price changes (markers: up / down),
and the bracket UKF's filtered PMF. A panel whose columns are absent or all missing says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PANELS = (
    ("price", "price (mid, else last trade)"),
    ("ewm_velocity", "EWM velocity (1/s)"),
    ("ewm_acceleration", "EWM acceleration (1/s²)"),
    ("rel_accel_mean", "relative acceleration"),
    ("ofi_60s", "OFI, 60 s (contracts)"),
    ("hawkes_buy", "Hawkes taker-buy intensity (1/min)"),
    ("cusum_price_alarm", "CUSUM alarms on price changes"),
    ("pmf", "bracket UKF PMF"),
)


def plot_event_day(df: pd.DataFrame, path: Path, title: str) -> Path:
    """Write the eight-panel figure of one ladder's tick table ``df`` to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # files only; imported here so the CLI starts without it
    import matplotlib.pyplot as plt

    tickers = list(dict.fromkeys(df["ticker"]))
    k = len(tickers)
    t = pd.to_datetime(df["t"].to_numpy().reshape(-1, k)[:, 0], utc=True)
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(11, 2.1 * len(PANELS)), sharex=True)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, k))
    for ax, (col, label) in zip(axes, PANELS, strict=True):
        ax.set_ylabel(label, fontsize=7)
        if col not in df or not df[col].notna().any():
            ax.text(0.5, 0.5, f"{col}: no data for this event", ha="center", transform=ax.transAxes)
            continue
        values = df[col].to_numpy(dtype=float).reshape(-1, k)
        for j in range(k):
            if col == "cusum_price_alarm":
                up, down = values[:, j] > 0, values[:, j] < 0
                ax.plot(t[up], np.full(up.sum(), j), "^", ms=4, color=colours[j])
                ax.plot(t[down], np.full(down.sum(), j), "v", ms=4, color=colours[j])
            else:
                ax.plot(t, values[:, j], lw=0.8, color=colours[j], label=tickers[j].split("-")[-1])
        if col == "cusum_price_alarm":
            ax.set_yticks(range(k), [x.split("-")[-1] for x in tickers], fontsize=6)
    axes[0].legend(fontsize=6, ncol=k, loc="upper left")
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
