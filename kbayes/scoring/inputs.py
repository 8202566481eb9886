"""Argument checks for the calibration diagnostics and continuous scores.

Bad input raises :class:`kbayes.scoring.ScoreInputError` (a ``ValueError``) naming the argument
and the first bad index, e.g. ``"p[4] = nan is not finite"``. Nothing is clipped or repaired.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import Float, Int

from kbayes.scoring.pmf import ScoreInputError, check_pmf


def _where(name: str, mask: np.ndarray) -> str:
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"{name}[{', '.join(map(str, idx))}]"


def check_real(x: object, name: str, ndim: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 array (of ``ndim`` dimensions when given)."""
    arr = np.asarray(x, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ScoreInputError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        at = _where(name, bad) if arr.ndim else name
        raise ScoreInputError(f"{at} = {arr[bad].flat[0]} is not finite")
    return arr


def check_binary(
    p: object, y: object, p_name: str = "p", y_name: str = "y"
) -> tuple[Float[np.ndarray, " N"], Float[np.ndarray, " N"]]:
    """Probabilities in [0, 1] and 0/1 outcomes of equal, non-zero length, as float64."""
    pa = check_real(p, p_name, 1)
    if pa.size == 0:
        raise ScoreInputError(f"{p_name} is empty")
    out = (pa < 0) | (pa > 1)
    if out.any():
        raise ScoreInputError(f"{_where(p_name, out)} = {pa[out][0]} is outside [0, 1]")
    ya = check_real(y, y_name, 1)
    if ya.shape != pa.shape:
        raise ScoreInputError(f"{y_name} has shape {ya.shape}, {p_name} has {pa.shape}")
    notlabel = (ya != 0) & (ya != 1)
    if notlabel.any():
        raise ScoreInputError(f"{_where(y_name, notlabel)} = {ya[notlabel][0]} is not 0/1")
    return pa, ya


def pmf_groups(
    probs: Float[np.ndarray, "N K"] | Sequence[Float[np.ndarray, " K_i"]], outcome: object
) -> list[tuple[Int[np.ndarray, " n_k"], Float[np.ndarray, "n_k K"], Int[np.ndarray, " n_k"]]]:
    """Checked ``(row_indices, PMFs, outcomes)`` per ladder length ``K``.

    ``probs`` is an ``(N, K)`` array or a sequence of 1-D PMFs whose lengths may differ.
    """
    y = np.asarray(outcome)
    if isinstance(probs, np.ndarray) and probs.ndim == 2:
        P = np.asarray(probs, dtype=np.float64)
        yi = y.astype(np.int64) if y.dtype.kind in "iub" else _int_outcome(y)
        check_pmf(P, yi)
        return [(np.arange(len(P)), P, yi)]
    rows = [np.asarray(r, dtype=np.float64) for r in probs]
    if len(rows) != len(y):
        raise ScoreInputError(f"{len(rows)} forecasts but {len(y)} outcomes")
    yi = y.astype(np.int64) if y.dtype.kind in "iub" else _int_outcome(y)
    by_k: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        if r.ndim != 1 or not np.isfinite(r).all() or (r < 0).any() or abs(r.sum() - 1) > 1e-6:
            raise ScoreInputError(f"probs[{i}] is not a PMF: {r.tolist()}")
        if not 0 <= yi[i] < len(r):
            raise ScoreInputError(f"outcome[{i}] = {yi[i]} outside 0..{len(r) - 1}")
        by_k.setdefault(len(r), []).append(i)
    groups = []
    for idx in by_k.values():
        ia = np.asarray(idx, dtype=np.int64)
        groups.append((ia, np.stack([rows[i] for i in idx]), yi[ia]))
    return groups


def _int_outcome(y: np.ndarray) -> np.ndarray:
    ya = check_real(y, "outcome", 1)
    frac = ya != np.round(ya)
    if frac.any():
        raise ScoreInputError(f"{_where('outcome', frac)} = {ya[frac][0]} is not an integer")
    return ya.astype(np.int64)
