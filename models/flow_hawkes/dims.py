"""Order-flow dimensions: taker buys and taker sells of every bracket of a ladder.

A Kalshi trade print carries the taker's side: ``taker_side = "yes"`` is an aggressive buy of
YES (the taker lifted the YES ask), ``"no"`` an aggressive buy of NO, i.e. an aggressive sell
of YES (the taker hit the YES bid). With ``K`` brackets ordered by temperature there are
``D = 2 K`` dimensions laid out as in :func:`kbayes.pointprocess.bracket_structure`,

    dim(k, s) = 2 k + s,     s = 0 (taker buys YES), 1 (taker sells YES),

so the neighbours of bracket ``k`` are ``k +- 1`` and ``dim ^ 1`` is the opposite side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jaxtyping import Int

SIDES = 2
BUY = 0
SELL = 1
_SIDE_CODES = {"yes": BUY, "no": SELL}


def flow_dim(bracket: Any, side: Any) -> Any:
    """``2 k + s`` for bracket index ``k`` and side ``s`` (scalars or arrays)."""
    return SIDES * np.asarray(bracket) + np.asarray(side)


def bracket_and_side(dim: Any) -> tuple[Any, Any]:
    """Inverse of :func:`flow_dim`: ``(k, s) = divmod(dim, 2)``."""
    return np.divmod(np.asarray(dim), SIDES)


def side_codes(taker_side: Any) -> Int[np.ndarray, " N"]:
    """Map ``taker_side`` strings (``"yes"``/``"no"``, any case) to ``BUY``/``SELL``.

    Raises:
        ValueError: naming the first value that is neither ``yes`` nor ``no`` (missing sides
            are not guessed: a trade without a taker side cannot be placed in a dimension).
    """
    raw = np.asarray(taker_side, dtype=object)
    out = np.empty(raw.shape, np.int64)
    for i, v in enumerate(raw.ravel()):
        code = _SIDE_CODES.get(str(v).strip().lower()) if isinstance(v, str) else None
        if code is None:
            raise ValueError(f"taker_side[{i}] = {v!r}: expected 'yes' (buy) or 'no' (sell)")
        out.flat[i] = code
    return out


def dim_labels(num_brackets: int) -> list[str]:
    """Readable names, ``"k0 buy", "k0 sell", "k1 buy", ...``."""
    return [f"k{k} {'buy' if s == BUY else 'sell'}" for k in range(num_brackets) for s in (0, 1)]
