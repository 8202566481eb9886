"""Branching-matrix structure: masks, tying, bracket neighbourhoods."""

from __future__ import annotations

import numpy as np

from kbayes.pointprocess import as_tying, bracket_structure


def test_bracket_structure_roles() -> None:
    s = bracket_structure(4)  # dims: 2 * bracket + side
    allowed = s >= 0
    assert allowed[0, 0] and allowed[0, 1]  # self, opposite side
    assert allowed[0, 2] and not allowed[0, 3]  # neighbour same side only
    assert not allowed[0, 4]  # two brackets away
    assert allowed.sum() == 8 + 8 + 12
    assert sorted(s[allowed].tolist()) == list(range(28))
    both = bracket_structure(4, neighbours="both")
    assert (both >= 0)[0, 3] and (both >= 0).sum() == 28 + 12
    tied = bracket_structure(4, tied=True)
    assert len(np.unique(tied[tied >= 0])) == 3
    assert len({tied[i, i] for i in range(8)}) == 1


def test_as_tying_normalises() -> None:
    full = as_tying(None, 2)
    assert full.tolist() == [[0, 1], [2, 3]]
    mask = as_tying(np.array([[True, False], [True, True]]), 2)
    assert mask.tolist() == [[0, -1], [1, 2]]
    relabelled = as_tying(np.array([[7, -1], [3, 7]]), 2)
    assert relabelled.tolist() == [[0, -1], [1, 0]]
