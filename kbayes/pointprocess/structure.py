"""Structure of the branching matrix: which entries of ``alpha`` are free and which are tied.

A structure is an integer ``(D, D)`` tying matrix: ``-1`` fixes ``alpha_ij = 0`` and entries
sharing a label ``k >= 0`` share one free parameter. A boolean mask is the special case where
every allowed entry has its own parameter. For bracket order flow the dimensions are laid out
as ``dim = sides * bracket + side`` (side 0 = taker buys YES, 1 = taker sells YES), and
:func:`bracket_structure` allows self-excitation, the opposite side of the same bracket, and
the neighbouring brackets ``+-1`` (same side, or both sides).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from jaxtyping import Int


def as_tying(structure: Any, num_dims: int) -> Int[np.ndarray, "D D"]:
    """Normalise ``None`` (all free), a bool mask, or an integer tying matrix.

    Labels are renumbered ``0..K-1`` in order of first appearance (row-major).

    Raises:
        ValueError: naming ``alpha_structure`` and the first bad entry.
    """
    if structure is None:
        return np.arange(num_dims * num_dims, dtype=np.int64).reshape(num_dims, num_dims)
    s = np.asarray(structure)
    if s.shape != (num_dims, num_dims):
        raise ValueError(f"alpha_structure must have shape ({num_dims}, {num_dims}), got {s.shape}")
    if s.dtype == bool:
        tying = np.where(s, 0, -1).astype(np.int64)
        tying[s] = np.arange(int(s.sum()))
        return tying
    if s.dtype.kind not in "iu":
        raise ValueError(f"alpha_structure must be bool or integer, got dtype {s.dtype}")
    bad = np.argwhere(s < -1)
    if len(bad):
        i, j = (int(x) for x in bad[0])
        raise ValueError(f"alpha_structure[{i}, {j}] = {s[i, j]}: labels must be >= -1")
    out = np.full(s.shape, -1, dtype=np.int64)
    relabel: dict[int, int] = {}
    for (i, j), k in np.ndenumerate(s):
        if k >= 0:
            out[i, j] = relabel.setdefault(int(k), len(relabel))
    return out


def bracket_structure(
    num_brackets: int,
    *,
    sides: int = 2,
    self_excitation: bool = True,
    opposite: bool = True,
    neighbours: Literal["none", "same", "both"] = "same",
    tied: bool = False,
) -> Int[np.ndarray, "D D"]:
    """Tying matrix for ``num_brackets * sides`` order-flow dimensions.

    Args:
        num_brackets: brackets in the ladder.
        sides: taker sides per bracket (2: buy/sell).
        self_excitation: allow ``alpha_ii``.
        opposite: allow the other side(s) of the same bracket.
        neighbours: brackets ``+-1`` excite: ``"same"`` side only, ``"both"`` sides, ``"none"``.
        tied: share one parameter per role (self, opposite, neighbour same side, neighbour
            other side) across brackets and sides; otherwise every allowed entry is free.

    Returns:
        ``(D, D)`` integer tying matrix (``-1`` = fixed at 0).
    """
    if num_brackets < 1 or sides < 1:
        raise ValueError(f"num_brackets = {num_brackets} and sides = {sides} must be >= 1")
    if neighbours not in ("none", "same", "both"):
        raise ValueError(f"neighbours must be 'none', 'same' or 'both', got {neighbours!r}")
    d = num_brackets * sides
    role = np.full((d, d), -1, dtype=np.int64)  # 0 self, 1 opposite, 2 nb same, 3 nb other
    for i in range(d):
        bi, si = divmod(i, sides)
        for j in range(d):
            bj, sj = divmod(j, sides)
            if bi == bj and si == sj:
                role[i, j] = 0 if self_excitation else -1
            elif bi == bj:
                role[i, j] = 1 if opposite else -1
            elif abs(bi - bj) == 1 and neighbours != "none":
                if si == sj:
                    role[i, j] = 2
                elif neighbours == "both":
                    role[i, j] = 3
    return as_tying(role if tied else role >= 0, d)
