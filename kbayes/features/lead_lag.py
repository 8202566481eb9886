"""Lead/lag between adjacent brackets of a ladder, from the mid changes on the tick grid.

With ``m_t`` the ``(K,)`` mids at tick ``t`` and ``x_t = m_t - m_{t-1}`` their changes over one
tick (NaN when either mid is missing), three families of features, all updated once per tick:

1. **Cross-correlations** of adjacent brackets ``j, j+1`` at lags 0 and 1 tick, from
   exponentially weighted moments (an EWM with weight ``a = 1 - 2^{-1/h}`` per tick, half-life
   ``h = corr_halflife_ticks``):

       corr0_j   = EWM(x_{j,t} x_{j+1,t})   / sqrt(EWM(x_{j,t}^2) EWM(x_{j+1,t}^2))
       lead_up_j = EWM(x_{j+1,t} x_{j,t-1}) / sqrt(EWM(x_{j+1,t}^2) EWM(x_{j,t-1}^2))
       lead_dn_j = EWM(x_{j,t} x_{j+1,t-1}) / sqrt(EWM(x_{j,t}^2) EWM(x_{j+1,t-1}^2))

   (``lead_up``: j's move precedes j+1's; ``lead_dn``: the reverse), each square's EWM taken
   over the ticks where its cross product is observed.

   The moments are uncentred: at a 10 s grid the mean mid change is negligible next to its
   spread, and centring would add a second EWM per series whose start-up bias is worse than
   the mean it removes. Each EWM is the ``adjust=False`` form started at its first observed
   value, ``s_t = (1 - a) s_{t-1} + a y_t``, and *held* at ticks where its product ``y_t`` is
   missing (pandas ``ewm(alpha=a, adjust=False, ignore_na=True).mean()``, the test oracle).
   A cross moment and the two squares it is divided by are updated on the same ticks, from the
   same start, with the same weights, so each correlation is a weighted Cauchy-Schwarz ratio
   in ``[-1, 1]`` (normalising by each bracket's own variance, updated whenever that bracket
   alone moves, gave values near -12 on a simulated day with one-sided wings); it is NaN
   while a square's EWM is 0 or not yet started.

2. **Short VAR(1) innovations**: the one-step prediction error of each bracket's change from
   the previous changes of itself and its two neighbours, a banded VAR(1)
   ``x_{j,t} = g_j^T z_{j,t-1} + e_{j,t}`` with ``z_{j,t-1} = (x_{j-1}, x_j, x_{j+1})_{t-1}``
   (the end brackets' missing neighbour is a structural 0 regressor). Banded because the
   adjacency is what lead/lag is about, and local so that one dead bracket (no two-sided
   book, NaN mids all day, common in the wings) does not blank the whole ladder. The
   coefficients are ridge least squares on exponentially weighted moments (half-life
   ``var_halflife_ticks``; the estimate of recursive least squares with forgetting factor
   ``1 - a`` and a ridge prior, Ljung & Soderstrom 1983),

       G_j = EWM(z_j z_j^T),  h_j = EWM(x_j z_j)   (started at 0),
       g_j = (G_j + lam_j I)^{-1} h_j,  lam_j = ridge tr(G_j) / 3,
       e_{j,t} = x_{j,t} - g_{j,t-1}^T z_{j,t-1},

   the ridge relative to the average variance so the feature does not depend on the price
   unit (``g = 0`` while ``G = 0``). ``g_{j,t-1}`` uses only ticks before ``t`` (a predictive,
   not a fitted, residual). Equation ``j`` moves only at ticks where ``x_{j,t}`` and every
   entry of ``z_{j,t-1}`` are observed; its innovation is NaN elsewhere.

3. **Where the mass of a falling bracket flows**: when bracket ``j``'s mid falls
   (``x_j < 0``) and its neighbours rise by ``r_{j-1} = max(x_{j-1}, 0)`` and
   ``r_{j+1} = max(x_{j+1}, 0)`` with ``r_{j-1} + r_{j+1} > 0``, the share taken by the bracket
   above is ``u_j = r_{j+1} / (r_{j-1} + r_{j+1})``; the feature is its EWM over such events
   (half-life ``share_halflife_events``, held in between; NaN before the first event and at the
   two end brackets, which have one neighbour only). ``u`` near 1: probability mass leaving
   ``j`` moves up the ladder (the market expects a higher maximum).

Missing values are carried, never filled: a NaN mid makes the changes touching it NaN, and
every EWM that would have read them is held (the info's ``valid`` says which brackets had a
change). The batch twin runs each masked EWM as one ``scipy.signal.lfilter`` over its observed
ticks (the same recursion) and the ridge solves as one batched ``np.linalg.solve``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from jaxtyping import Bool, Float
from scipy.signal import lfilter

from kbayes.features.kinematics import GridObs, GridObsBatch, check_mid, check_num_brackets
from kbayes.step import StepAlgorithm

__all__ = [
    "GridObs",
    "GridObsBatch",
    "LeadLagBatch",
    "LeadLagInfo",
    "LeadLagParams",
    "LeadLagState",
    "ewm_weight",
    "lead_lag",
    "lead_lag_batch",
    "stack_infos",
]


class LeadLagParams(NamedTuple):
    """Attributes:
    corr_halflife_ticks: half-life (ticks) of the correlation moments.
    var_halflife_ticks: half-life (ticks) of the VAR(1) moments.
    share_halflife_events: half-life (fall events) of the up-share EWM.
    ridge: ridge of the VAR(1) solve, relative to the mean variance (> 0).
    """

    corr_halflife_ticks: float = 30.0
    var_halflife_ticks: float = 90.0
    share_halflife_events: float = 10.0
    ridge: float = 1e-3


class LeadLagState(NamedTuple):
    """Online state.

    Attributes:
        t_ns: last tick (``-1`` before any).
        mid: ``(K,)`` mids at the last tick.
        dm: ``(K,)`` changes at the last tick.
        moments: ``(10K-9,)`` the correlation EWMs in one array (one update per tick):
            ``var`` ``(K,)`` of ``x_j^2``, then ``c0``, ``c_up``, ``c_dn`` ``(K-1,)`` of the
            cross products at lag 0, ``x_{j+1,t} x_{j,t-1}``, ``x_{j,t} x_{j+1,t-1}``, then
            the two squares of each cross product's pair on its own ticks (``(3, 2, K-1)``).
        gram: ``(K, 3, 3)`` ``G_j`` of the banded VAR(1).
        cross: ``(K, 3)`` ``h_j``.
        coef: ``(K, 3)`` ``g_j`` from the moments so far.
        share: ``(K,)`` EWM up-share.
    """

    t_ns: int
    mid: Float[np.ndarray, " K"]
    dm: Float[np.ndarray, " K"]
    moments: Float[np.ndarray, " M"]
    gram: Float[np.ndarray, "K 3 3"]
    cross: Float[np.ndarray, "K 3"]
    coef: Float[np.ndarray, "K 3"]
    share: Float[np.ndarray, " K"]

    @property
    def var(self) -> Float[np.ndarray, " K"]:
        """EWM of ``x_j^2`` (a view of ``moments``)."""
        return self.moments[: len(self.mid)]

    @property
    def c0(self) -> Float[np.ndarray, " Km1"]:
        """EWM of ``x_{j,t} x_{j+1,t}``."""
        k = len(self.mid)
        return self.moments[k : 2 * k - 1]

    @property
    def c_up(self) -> Float[np.ndarray, " Km1"]:
        """EWM of ``x_{j+1,t} x_{j,t-1}``."""
        k = len(self.mid)
        return self.moments[2 * k - 1 : 3 * k - 2]

    @property
    def c_dn(self) -> Float[np.ndarray, " Km1"]:
        """EWM of ``x_{j,t} x_{j+1,t-1}``."""
        k = len(self.mid)
        return self.moments[3 * k - 2 :]


class LeadLagInfo(NamedTuple):
    """What one tick reports.

    Attributes:
        corr0: ``(K-1,)`` lag-0 correlation of brackets ``j, j+1``.
        lead_up: ``(K-1,)`` ``corr(x_{j+1,t}, x_{j,t-1})``: bracket ``j`` leads ``j+1``.
        lead_down: ``(K-1,)`` ``corr(x_{j,t}, x_{j+1,t-1})``: bracket ``j+1`` leads ``j``.
        innovation: ``(K,)`` banded VAR(1) one-step prediction error (NaN: not computable).
        up_share: ``(K,)`` EWM share of a falling bracket's neighbour rise taken by ``j+1``.
        valid: ``(K,)`` the bracket's change ``x_t`` was observed.
    """

    corr0: Float[np.ndarray, " Km1"]
    lead_up: Float[np.ndarray, " Km1"]
    lead_down: Float[np.ndarray, " Km1"]
    innovation: Float[np.ndarray, " K"]
    up_share: Float[np.ndarray, " K"]
    valid: Bool[np.ndarray, " K"]


class LeadLagBatch(NamedTuple):
    """:class:`LeadLagInfo` stacked over ``T`` ticks."""

    corr0: Float[np.ndarray, "T Km1"]
    lead_up: Float[np.ndarray, "T Km1"]
    lead_down: Float[np.ndarray, "T Km1"]
    innovation: Float[np.ndarray, "T K"]
    up_share: Float[np.ndarray, "T K"]
    valid: Bool[np.ndarray, "T K"]


def ewm_weight(name: str, halflife: float) -> float:
    """``a = 1 - 2^{-1/h}`` for a half-life ``h > 0`` (ValueError naming ``name`` otherwise)."""
    try:
        h = float(halflife)
    except (TypeError, ValueError):
        h = math.nan
    if isinstance(halflife, bool) or not (math.isfinite(h) and h > 0):
        raise ValueError(f"{name} = {halflife!r}: a half-life must be finite and > 0")
    return -math.expm1(-math.log(2.0) / h)


def _check_params(params: LeadLagParams) -> tuple[float, float, float, float]:
    a_c = ewm_weight("corr_halflife_ticks", params.corr_halflife_ticks)
    a_v = ewm_weight("var_halflife_ticks", params.var_halflife_ticks)
    a_s = ewm_weight("share_halflife_events", params.share_halflife_events)
    r = params.ridge
    if isinstance(r, bool) or not isinstance(r, int | float) or not (math.isfinite(r) and r > 0):
        raise ValueError(f"ridge = {r!r}: must be finite and > 0")
    return a_c, a_v, a_s, float(r)


def _ewm_held(s: np.ndarray, y: np.ndarray, a: float, b: float) -> np.ndarray:
    """``s <- y`` at the first observed ``y``, ``b s + a y`` after, held where ``y`` is NaN."""
    return np.where(np.isnan(y), s, np.where(np.isnan(s), y, a * y + b * s))


def _products(x: Float[np.ndarray, "*T K"], x1: Float[np.ndarray, "*T K"]) -> np.ndarray:
    """The ``(*T, 10K-9)`` products whose EWMs are the correlation moments (see the state).

    Each cross product comes with the two squares it is normalised by, observed on exactly
    the ticks where it is (``a^2 + 0 b`` is NaN where ``b`` is): the three EWMs of a pair
    then share their weights and start, so by Cauchy-Schwarz the correlation is in [-1, 1].
    """
    lo, hi, lo1, hi1 = x[..., :-1], x[..., 1:], x1[..., :-1], x1[..., 1:]
    return np.concatenate(
        [
            x * x,
            lo * hi, hi * lo1, lo * hi1,  # c0, c_up, c_dn
            lo * lo + 0.0 * hi, hi * hi + 0.0 * lo,  # the squares of c0's pair
            hi * hi + 0.0 * lo1, lo1 * lo1 + 0.0 * hi,  # of c_up's
            lo * lo + 0.0 * hi1, hi1 * hi1 + 0.0 * lo,  # of c_dn's
        ],
        axis=-1,
    )  # fmt: skip


def _correlations(moments: np.ndarray, k: int) -> Float[np.ndarray, "*T 3 Km1"]:
    """``(corr0, lead_up, lead_down)``: each cross moment over the root of its own pair's
    squares (same ticks, same weights), NaN while one is 0 or not started."""
    lead = moments.shape[:-1]
    num = moments[..., k : 4 * k - 3].reshape(*lead, 3, k - 1)
    sq = moments[..., 4 * k - 3 :].reshape(*lead, 3, 2, k - 1)
    den = sq[..., 0, :] * sq[..., 1, :]
    out = np.full(num.shape, np.nan)
    np.divide(num, np.sqrt(den), out=out, where=den > 0)
    return out


def _up_share(x: np.ndarray) -> np.ndarray:
    """``u_j`` per bracket where defined (interior, falling, a neighbour rising), else NaN."""
    out = np.full(x.shape, np.nan)
    r_lo, r_hi = np.maximum(x[..., :-2], 0.0), np.maximum(x[..., 2:], 0.0)
    tot = r_lo + r_hi
    ok = (x[..., 1:-1] < 0) & (tot > 0)  # NaN compares False: a missing neighbour defines nothing
    np.divide(r_hi, tot, out=out[..., 1:-1], where=ok)
    return out


def _regressors(x1: Float[np.ndarray, "*T K"]) -> Float[np.ndarray, "*T K 3"]:
    """``z_j = (x_{j-1}, x_j, x_{j+1})`` per bracket, 0 beyond the ends of the ladder."""
    pad = np.zeros((*x1.shape[:-1], 1))
    wide = np.concatenate([pad, x1, pad], axis=-1)
    return np.stack([wide[..., :-2], wide[..., 1:-1], wide[..., 2:]], axis=-1)


def _coef(gram: np.ndarray, cross: np.ndarray, ridge: float) -> np.ndarray:
    """``g = (G + lam I)^{-1} h`` over leading axes, ``lam = ridge tr(G) / 3``; 0 where G = 0."""
    lam = ridge * np.trace(gram, axis1=-2, axis2=-1) / 3.0
    live = lam > 0
    eye = np.eye(3)
    reg = np.where(live[..., None, None], gram + lam[..., None, None] * eye, eye)
    g = np.linalg.solve(reg, cross[..., None])[..., 0]
    return np.where(live[..., None], g, 0.0)


def lead_lag(params: LeadLagParams, num_brackets: int) -> StepAlgorithm[LeadLagState, LeadLagInfo]:
    """Lead/lag features of a ``K``-bracket ladder as a grid step (``update(state, GridObs)``).

    Raises:
        ValueError: naming the bad parameter; at update time a wrong ``mid`` shape or a tick
            time that does not increase.
    """
    a_c, a_v, a_s, ridge = _check_params(params)
    b_c, b_v, b_s = 1.0 - a_c, 1.0 - a_v, 1.0 - a_s
    K = check_num_brackets(num_brackets, minimum=2)

    def init(key: Any = None) -> LeadLagState:
        del key  # deterministic
        nan_k, nan_m = np.full(K, np.nan), np.full(10 * K - 9, np.nan)
        gram, vec = np.zeros((K, 3, 3)), np.zeros((K, 3))
        return LeadLagState(-1, nan_k, nan_k, nan_m, gram, vec, vec, nan_k)

    def update(
        state: LeadLagState, obs: GridObs, key: Any = None
    ) -> tuple[LeadLagState, LeadLagInfo]:
        del key
        if obs.t_ns <= state.t_ns:
            raise ValueError(f"t_ns = {obs.t_ns} does not increase (last tick {state.t_ns})")
        mid = check_mid(obs.mid, K)
        x, x1 = mid - state.mid, state.dm
        moments = _ewm_held(state.moments, _products(x, x1), a_c, b_c)
        share = _ewm_held(state.share, _up_share(x), a_s, b_s)
        z = _regressors(x1)
        ok = ~(np.isnan(x) | np.isnan(z).any(axis=1))
        innovation = np.where(ok, x - np.sum(state.coef * z, axis=1), np.nan)
        if ok.any():
            gram = np.where(
                ok[:, None, None],
                a_v * (z[:, :, None] * z[:, None, :]) + b_v * state.gram,
                state.gram,
            )
            cross = np.where(ok[:, None], a_v * (x[:, None] * z) + b_v * state.cross, state.cross)
            coef = np.where(ok[:, None], _coef(gram, cross, ridge), state.coef)
        else:
            gram, cross, coef = state.gram, state.cross, state.coef
        corr = _correlations(moments, K)
        info = LeadLagInfo(
            corr0=corr[0],
            lead_up=corr[1],
            lead_down=corr[2],
            innovation=innovation,
            up_share=share,
            valid=~np.isnan(x),
        )
        new = LeadLagState(obs.t_ns, mid, x, moments, gram, cross, coef, share)
        return new, info

    return StepAlgorithm(init=init, update=update)


def _ewm_columns(y: Float[np.ndarray, "T M"], a: float) -> Float[np.ndarray, "T M"]:
    """Masked EWM of every column: started at its first observed value (NaN before), the
    observed rows filtered by ``lfilter`` (the online recursion), held in between."""
    t, m = y.shape
    out = np.full((t, m), np.nan)
    b = 1.0 - a
    steps = np.arange(t)
    for c in range(m):
        rows = np.flatnonzero(~np.isnan(y[:, c]))
        if not rows.size:
            continue
        v = y[rows, c]
        f = np.empty_like(v)
        f[0] = v[0]
        if len(v) > 1:  # y_n = a v_n + b y_{n-1}, from y_0 = v_0
            f[1:] = lfilter([a], [1.0, -b], v[1:], zi=[b * v[0]])[0]
        last = np.searchsorted(rows, steps, side="right") - 1
        seen = last >= 0
        out[seen, c] = f[last[seen]]
    return out


def lead_lag_batch(params: LeadLagParams, obs: GridObsBatch) -> LeadLagBatch:
    """The batch twin: every tick's :class:`LeadLagInfo` from the stacked mids at once."""
    a_c, a_v, a_s, ridge = _check_params(params)
    mid = np.asarray(obs.mid, np.float64)
    if mid.ndim != 2:
        raise ValueError(f"mid has shape {mid.shape}, expected (T, K)")
    T, K = mid.shape
    check_num_brackets(K, minimum=2)
    t_ns = np.asarray(obs.t_ns)
    if (bad := np.flatnonzero(np.diff(t_ns) <= 0)).size:
        raise ValueError(f"t_ns[{bad[0] + 1}] = {t_ns[bad[0] + 1]} does not increase")
    x = np.full((T, K), np.nan)
    x[1:] = mid[1:] - mid[:-1]
    x1 = np.full((T, K), np.nan)
    x1[1:] = x[:-1]
    corr = _correlations(_ewm_columns(_products(x, x1), a_c), K)
    share = _ewm_columns(_up_share(x), a_s)
    # banded VAR(1): per equation, moments over its observed ticks, coefficients after each
    z = _regressors(x1)
    ok = ~(np.isnan(x) | np.isnan(z).any(axis=2))
    innovation = np.full((T, K), np.nan)
    lf = ([a_v], [1.0, -(1.0 - a_v)])
    for j in range(K):
        rows = np.flatnonzero(ok[:, j])
        if not rows.size:
            continue
        zj, xj = z[rows, j], x[rows, j]
        gram = lfilter(*lf, zj[:, :, None] * zj[:, None, :], axis=0)
        cross = lfilter(*lf, xj[:, None] * zj, axis=0)
        coef = _coef(gram, cross, ridge)
        prev = np.concatenate([np.zeros((1, 3)), coef[:-1]])  # g before each observed tick
        innovation[rows, j] = xj - np.sum(prev * zj, axis=1)
    return LeadLagBatch(
        corr0=corr[:, 0],
        lead_up=corr[:, 1],
        lead_down=corr[:, 2],
        innovation=innovation,
        up_share=share,
        valid=~np.isnan(x),
    )


def stack_infos(infos: list[LeadLagInfo]) -> LeadLagBatch:
    """Online infos stacked as a :class:`LeadLagBatch`."""
    return LeadLagBatch(*(np.array(col) for col in zip(*infos, strict=True)))
