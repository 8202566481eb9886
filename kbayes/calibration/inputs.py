"""Validation and clipping of the probabilities, scores and labels that calibration maps take.

Every public fit/apply function in :mod:`kbayes.calibration` passes its array arguments through
these checks, so a bad input fails the same way everywhere: a :class:`CalibrationInputError`
(a ``ValueError``) whose message names the argument and the first bad index, e.g.
``"p[17] = nan is not finite"`` or ``"probs[3, 2] = 1.5 is outside [0, 1]"``. Nothing is
silently repaired except the one documented clip below.

Clipping: maps that take logarithms of probabilities (Platt, temperature, beta, Dirichlet) first
clip every probability to ``[PROB_EPS, 1 - PROB_EPS]`` with ``PROB_EPS = 1e-12``. An exact 0 or
1 therefore becomes ``logit = -/+27.63``, finite and large enough not to distort any realistic
probability (a Kalshi price is at least 1 cent); float64 still resolves ``1 - 1e-12`` to four
significant figures. Isotonic regression takes no logarithm and sees the probabilities as given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import Float, Int

PROB_EPS = 1e-12
"""Clip applied to probabilities before any logarithm: ``p -> clip(p, PROB_EPS, 1 - PROB_EPS)``."""

PMF_ATOL = 1e-6
"""Tolerance on ``|sum(row) - 1|`` for a row of a multiclass PMF."""


class CalibrationInputError(ValueError):
    """An argument of a calibration map that cannot be used (NaN, out of range, bad shape)."""


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _where(name: str, idx: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(str(i) for i in idx)}]"


def check_finite(x: object, name: str, ndim: int = 1) -> np.ndarray:
    """``x`` as a float64 array of ``ndim`` dimensions, non-empty and free of NaN/inf.

    Raises:
        CalibrationInputError: naming ``name`` and the first bad index.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != ndim:
        raise CalibrationInputError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise CalibrationInputError(f"{name} is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = _first(bad)
        raise CalibrationInputError(f"{_where(name, idx)} = {arr[idx]} is not finite")
    return arr


def check_probs(p: object, name: str = "p", ndim: int = 1) -> np.ndarray:
    """``p`` as a float64 array of probabilities in ``[0, 1]`` (no clipping).

    Raises:
        CalibrationInputError: for NaN/inf or a value outside ``[0, 1]``, naming ``name`` and the
            first bad index.
    """
    arr = check_finite(p, name, ndim)
    bad = (arr < 0.0) | (arr > 1.0)
    if bad.any():
        idx = _first(bad)
        raise CalibrationInputError(f"{_where(name, idx)} = {arr[idx]} is outside [0, 1]")
    return arr


def check_pmfs(probs: object, name: str = "probs", atol: float = PMF_ATOL) -> np.ndarray:
    """``probs`` as an ``(N, K)`` float64 array whose rows are PMFs (entries in [0, 1], sum 1).

    Raises:
        CalibrationInputError: naming ``name`` and the first bad entry or row.
    """
    arr = check_probs(probs, name, ndim=2)
    if arr.shape[1] < 2:
        raise CalibrationInputError(f"{name} must have at least 2 columns, got {arr.shape[1]}")
    off = np.abs(arr.sum(axis=1) - 1.0) > atol
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise CalibrationInputError(f"{name} row {i} sums to {arr[i].sum()!r}, not 1")
    return arr


def check_labels(y: object, n: int, name: str = "y") -> np.ndarray:
    """Binary labels of length ``n`` as a float64 array of 0.0/1.0 (bools and ints accepted).

    Raises:
        CalibrationInputError: for a wrong length or a value other than 0/1.
    """
    arr = check_finite(y, name)
    if arr.shape != (n,):
        raise CalibrationInputError(f"{name} has shape {arr.shape}, expected ({n},)")
    bad = (arr != 0.0) & (arr != 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CalibrationInputError(f"{name}[{i}] = {arr[i]} is not a 0/1 label")
    return arr


def check_outcomes(y: object, n: int, k: int, name: str = "outcome") -> np.ndarray:
    """Realised bracket indices of length ``n`` in ``0..k-1`` as an int64 array.

    Raises:
        CalibrationInputError: for a wrong length, a non-integer or an index out of range.
    """
    arr = check_finite(y, name)
    if arr.shape != (n,):
        raise CalibrationInputError(f"{name} has shape {arr.shape}, expected ({n},)")
    bad = (arr != np.round(arr)) | (arr < 0) | (arr > k - 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CalibrationInputError(f"{name}[{i}] = {arr[i]} is not a bracket index in 0..{k - 1}")
    return arr.astype(np.int64)


def check_weights(w: object | None, n: int, name: str = "sample_weight") -> np.ndarray:
    """Non-negative weights of length ``n`` with a positive sum; ``None`` means all ones."""
    if w is None:
        return np.ones(n)
    arr = check_finite(w, name)
    if arr.shape != (n,):
        raise CalibrationInputError(f"{name} has shape {arr.shape}, expected ({n},)")
    if (arr < 0).any():
        i = int(np.flatnonzero(arr < 0)[0])
        raise CalibrationInputError(f"{name}[{i}] = {arr[i]} is negative")
    if arr.sum() <= 0:
        raise CalibrationInputError(f"{name} sums to 0")
    return arr


def clip_probs(p: np.ndarray, eps: float = PROB_EPS) -> np.ndarray:
    """``clip(p, eps, 1 - eps)``: the one repair applied before taking logarithms."""
    return np.clip(p, eps, 1.0 - eps)


def logit(p: Float[np.ndarray, "*shape"], eps: float = PROB_EPS) -> Float[np.ndarray, "*shape"]:
    """``ln(p / (1 - p))`` of already-checked probabilities, clipped to ``[eps, 1 - eps]`` first."""
    q = clip_probs(p, eps)
    return np.log(q) - np.log1p(-q)


def group_by_k(probs_list: Sequence[object]) -> dict[int, Int[np.ndarray, " n_k"]]:
    """Indices of the events whose ladder has ``K`` brackets, keyed by ``K`` (ascending).

    Multiclass maps with a ``(K, K)`` parameter (Dirichlet) are fitted once per ``K``; this is the
    grouping to use when ladders of one city change length over time.
    """
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(probs_list):
        groups.setdefault(len(np.asarray(p)), []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in sorted(groups.items())}


def pad_pmfs(
    probs: object, name: str = "probs", atol: float = PMF_ATOL
) -> tuple[Float[np.ndarray, "N K"], np.ndarray]:
    """Checked PMFs as an ``(N, K_max)`` array padded with zeros, and its ``(N, K_max)`` mask.

    ``probs`` is either an ``(N, K)`` array or a sequence of 1-D PMFs whose lengths may differ
    (ladders of different sizes); ``mask[i, k]`` is True where bracket ``k`` exists in row ``i``.
    """
    if isinstance(probs, np.ndarray) and probs.ndim == 2:
        arr = check_pmfs(probs, name, atol)
        return arr, np.ones(arr.shape, dtype=bool)
    rows = list(probs)  # type: ignore[call-overload]
    if not rows:
        raise CalibrationInputError(f"{name} is empty")
    checked = []
    for i, row in enumerate(rows):
        r = check_probs(row, f"{name}[{i}]")
        if len(r) < 2 or abs(r.sum() - 1.0) > atol:
            raise CalibrationInputError(f"{name}[{i}] is not a PMF of >= 2 brackets: {r.tolist()}")
        checked.append(r)
    k_max = max(len(r) for r in checked)
    out = np.zeros((len(checked), k_max))
    mask = np.zeros((len(checked), k_max), dtype=bool)
    for i, r in enumerate(checked):
        out[i, : len(r)] = r
        mask[i, : len(r)] = True
    return out, mask
