"""Helpers for the Kalshi importer tests: tiny hand-made data roots and one-call imports."""

from __future__ import annotations

import io
import json
import lzma
import tarfile
from pathlib import Path
from typing import Any

from kbayes.io.importers import all_importers
from kbayes.io.ingest import ImportReport, run_import
from kbayes.io.store import DuckDBStore


def write_tar(path: Path, members: dict[str, Any], mode: str = "w:xz") -> Path:
    """A tar (xz by default) whose members are JSON objects, or raw text/bytes as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as tar:
        for name, content in members.items():
            if isinstance(content, bytes):
                data = content
            elif isinstance(content, str):
                data = content.encode()
            else:
                data = json.dumps(content, indent=2).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_text(path: Path, text: str, xz: bool = False) -> Path:
    """A text file (optionally xz-compressed) under a fake data root."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if xz:
        path.write_bytes(lzma.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def kalshi_names() -> set[str]:
    """Names of every registered Kalshi importer."""
    return {i.name for i in all_importers() if i.name.startswith("kalshi.")}


def import_root(root: Path, store: DuckDBStore | None = None) -> tuple[DuckDBStore, ImportReport]:
    """Import every Kalshi file under ``root`` (forced) into ``store`` (default: in memory)."""
    store = store or DuckDBStore(":memory:")
    return store, run_import(root, store, force=True, only=kalshi_names())


def issues_of(report: ImportReport, file_part: str = "") -> list[str]:
    """The report's issues as strings, optionally only those of files containing a string."""
    return [str(i) for i in report.issues if file_part in i.source_file]


def market(
    ticker: str,
    strike_type: str | None,
    floor: float | None,
    cap: float | None,
    label: str,
    *,
    result: str = "no",
    expiration: str = "",
    volume: int = 10,
    close: str = "2024-11-11T04:59:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A legacy (integer-cent) market object as in the cpratim events files."""
    m: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_type": "binary",
        "subtitle": label,
        "yes_sub_title": label,
        "no_sub_title": label,
        "open_time": "2024-11-09T15:00:00Z",
        "close_time": close,
        "status": "finalized",
        "response_price_units": "usd_cent",
        "yes_bid": 0,
        "no_bid": 0,
        "last_price": 1,
        "volume": volume,
        "result": result,
        "expiration_value": expiration,
        **extra,
    }
    if strike_type is not None:
        m["strike_type"] = strike_type
    if floor is not None:
        m["floor_strike"] = floor
    if cap is not None:
        m["cap_strike"] = cap
    return m


def ny_ladder(day: str, winner: str | None = None, expiration: str = "") -> list[dict[str, Any]]:
    """A tiling six-market KXHIGHNY ladder for event ``KXHIGHNY-<day>`` (e.g. ``24NOV10``)."""
    ev = f"KXHIGHNY-{day}"
    spec = [
        ("T55", "less", None, 55, "54° or below"),
        ("B55.5", "between", 55, 56, "55° to 56°"),
        ("B57.5", "between", 57, 58, "57° to 58°"),
        ("B59.5", "between", 59, 60, "59° to 60°"),
        ("B61.5", "between", 61, 62, "61° to 62°"),
        ("T62", "greater", 62, None, "63° or above"),
    ]
    return [
        market(
            f"{ev}-{sfx}",
            st,
            fl,
            cp,
            lab,
            result="yes" if winner == sfx else "no",
            expiration=expiration,
        )
        for sfx, st, fl, cp, lab in spec
    ]
