"""What every baseline returns: PMFs keyed by ``(event_ticker, decision-time label)``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Key = tuple[str, str]
"""``(event_ticker, decision-time label)``: the key of one forecast."""


class BaselinePMFs(NamedTuple):
    """The PMFs of one baseline and the notes it leaves for the run's report."""

    pmfs: dict[Key, np.ndarray]
    notes: list[str]
