"""The 5-minute grid of a climate day in local standard time, and observations placed on it.

A climate day ``d`` of a station runs ``[00:00, 24:00)`` LST (DESIGN 1; NWS climate day). Step
``s = 0 .. 287`` is the instant ``start(d) + 5 s`` minutes; time of day is ``tau_s = s / 288``.
Each step carries at most one report, coded by ``kind``:

* ``0``: missing (no report, or a report without a usable temperature);
* ``1``: tenths-°C value (the ``T`` remark group), taken as ``T + e``, ``e ~ N(0, 0.03^2)``;
* ``2``: whole-°C value ``c`` only: the truth lies in ``[c - 0.5, c + 0.5)`` (censored).
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import pandas as pd
from jaxtyping import Float, Int

from kbayes.market.cities import City

STEPS = 288
STEP_MINUTES = 5
MISSING, TENTHS, WHOLE = 0, 1, 2


class DayObs(NamedTuple):
    """Observations of several climate days on the 5-minute LST grid.

    Attributes:
        station: ICAO id per day.
        dates: climate date per day.
        y: reported °C (0 where missing), ``(D, 288)``.
        kind: ``0`` missing, ``1`` tenths, ``2`` whole °C, ``(D, 288)``.
    """

    station: list[str]
    dates: list[dt.date]
    y: Float[np.ndarray, "D 288"]
    kind: Int[np.ndarray, "D 288"]


def steps_before(city: City, day: dt.date, t: dt.datetime | pd.Timestamp) -> int:
    """Number of grid steps of ``day`` whose reports are all stamped strictly before ``t``.

    Step ``s`` holds the reports stamped in ``[start + 5 s, start + 5 (s + 1))`` minutes
    (:func:`day_grid` puts a report at the step at or before it), so it lies before ``t`` when
    its end does: ``floor(minutes / 5)`` steps (0..288). On the 5-minute marks this is the
    number of steps stamped before ``t``; off them the step containing ``t`` is left out, since
    its report may be stamped after ``t`` (DESIGN 4: no look-ahead).
    """
    start, _ = city.climate_day_window(day)
    minutes = (pd.Timestamp(t) - pd.Timestamp(start)).total_seconds() / 60.0
    return int(np.clip(np.floor(minutes / STEP_MINUTES), 0, STEPS))


def day_grid(obs: pd.DataFrame, city: City, days: list[dt.date]) -> DayObs:
    """Place ``weather_obs`` rows of ``city.station`` onto the grid of each day in ``days``.

    Reports off the 5-minute marks go to the step at or before them; when a step has several
    reports, a tenths value wins over a whole one and then the latest report wins. Reports
    in whole °F (``temp_source = "whole_f"``) are left out.

    Args:
        obs: rows with ``station, ts (UTC), temp_c, temp_source``.
        city: the settlement city (station and LST offset).
        days: climate dates.

    Returns:
        :class:`DayObs` with one row per requested day (all-missing when no data).
    """
    n = len(days)
    y = np.zeros((n, STEPS))
    kind = np.zeros((n, STEPS), dtype=np.int64)
    # The censored likelihood knows tenths and whole °C; whole-°F reports (Weather
    # Underground, ``whole_f``) need an interval of their own and are not placed yet.
    precision = obs["temp_source"].astype(str).isin(("tenths", "whole"))
    o = obs[(obs["station"] == city.station) & obs["temp_c"].notna() & precision]
    if n and not o.empty:
        ts = pd.to_datetime(o["ts"], utc=True)
        lst = ts.dt.tz_convert(None) + pd.Timedelta(hours=city.lst_offset_hours)
        date = lst.dt.date.to_numpy()
        minute = (lst.dt.hour * 60 + lst.dt.minute).to_numpy()
        step = minute // STEP_MINUTES
        k = np.where(o["temp_source"].astype(str).to_numpy() == "tenths", TENTHS, WHOLE)
        index = {d: i for i, d in enumerate(days)}
        di = np.array([index.get(d, -1) for d in date])
        keep = di >= 0
        frame = pd.DataFrame(
            {
                "d": di[keep],
                "s": step[keep],
                "k": k[keep],
                "v": o["temp_c"].to_numpy(dtype=float)[keep],
                "t": ts.to_numpy()[keep],
            }
        )
        # Prefer tenths, then the latest report: sort so that the wanted row comes last.
        frame["pref"] = (frame["k"] == TENTHS).astype(int)
        frame = frame.sort_values(["d", "s", "pref", "t"]).drop_duplicates(["d", "s"], keep="last")
        y[frame["d"], frame["s"]] = frame["v"]
        kind[frame["d"], frame["s"]] = frame["k"]
    return DayObs([city.station] * n, list(days), y, kind)


def observed_max(y: Float[np.ndarray, " T"], kind: Int[np.ndarray, " T"]) -> float:
    """Largest value the reports prove was reached (whole °C ``c`` proves ``c - 0.5``).

    Returns ``-inf`` when there is no report.
    """
    lower = np.where(kind == TENTHS, y, np.where(kind == WHOLE, y - 0.5, -np.inf))
    return float(lower.max()) if len(lower) else float("-inf")
