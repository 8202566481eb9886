"""The best official high per station and day: one ranking for outcomes and climatology."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from kbayes.experiment.data import best_official_highs


def _highs(rows: list[tuple[dt.date, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [("KNYC", d, v, s) for d, v, s in rows], columns=["station", "date", "tmax_f", "source"]
    )


def test_cli_first_then_known_order_then_unknown_alphabetically() -> None:
    a, b, c = dt.date(2023, 1, 3), dt.date(2023, 1, 4), dt.date(2023, 1, 5)
    rows = [
        (a, 40, "ghcnd"),
        (a, 41, "cli"),
        (a, 39, "xyz"),
        (b, 50, "zzz"),
        (b, 51, "aaa"),
        (c, 60, "ghcnd"),
        (c, 61, "acis"),
    ]
    best = best_official_highs(_highs(rows)).sort_values("date")
    assert best[["tmax_f", "source"]].values.tolist() == [[41, "cli"], [51, "aaa"], [61, "acis"]]
    assert list(best.columns) == ["station", "date", "tmax_f", "source"]
