"""The METAR remark temperature group ``T snTTT snTdTdTd`` (tenths of °C, weather-apis §1.8)."""

from __future__ import annotations

import re

_T_GROUP = re.compile(r"\bRMK\b.*?\bT([01])(\d{3})([01])(\d{3})\b")


def t_group(raw: str | None) -> tuple[float, float] | None:
    """``(temp_c, dewpoint_c)`` from a METAR's ``T02440139`` remark, or ``None``."""
    if not raw:
        return None
    m = _T_GROUP.search(raw)
    if not m:
        return None
    t = int(m.group(2)) / 10 * (-1 if m.group(1) == "1" else 1)
    d = int(m.group(4)) / 10 * (-1 if m.group(3) == "1" else 1)
    return t, d
