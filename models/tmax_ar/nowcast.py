"""Nowcast of a day's official high: posterior predictive paths, bracket PMF and hazard.

At decision time ``t`` (``s_t`` grid steps of the day lie before ``t``):

1. For ``n_candidates`` posterior draws ``theta_j`` (with replacement) draw the new day's
   intercepts ``k = a_0 + u_g``, ``l = c_0 + v_g + tau_eta eta'`` from their
   hierarchical prior, run the Kalman filter (:mod:`models.tmax_ar.kalman`) over the day with
   the reports at steps ``< s_t`` and weight each candidate by its marginal likelihood
   ``p(y_{<t} | theta_j, k_j, l_j)`` (importance sampling from the prior of the day effects;
   the weights' effective sample size is reported).
2. Resample ``n_paths`` candidates and draw one full-day path each by backward sampling: the
   past (including gaps) is conditioned on the reports, the future is the AR(1) forecast.
3. Reports are simulated as ``round(T + e, 1)``, ``e ~ N(0, 0.03^2 + omega^2)``; the
   5-minute maximum ``M`` uses the actual tenths reports before ``t`` and simulated reports
   elsewhere; the official high is
   ``round_half_up((M + g) 9/5 + 32)`` with the gap ``g`` of :mod:`models.tmax_ar.gap_5min`.

Outputs: the bracket PMF (counts plus a small pseudo-count on brackets not ruled out by the
running maximum, so brackets below it get exactly zero), quantiles of the high, and the hazard
``P(max of reports in [t, t + w) > running max)`` for ``w = 5, 15, 60`` minutes, the first
passage of the reported temperature above the running maximum.

Steps 1-2 are one jitted function, ``vmap``-ped over draws.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from kbayes.market.bracket import Bracket
from kbayes.market.fahrenheit import c_to_f_whole
from kbayes.market.ladder import Ladder
from models.tmax_ar.curves import ar_curves
from models.tmax_ar.fit import Posterior
from models.tmax_ar.gap_5min import GapModel, sample_gap, to_official_f
from models.tmax_ar.grid import STEP_MINUTES, STEPS, TENTHS, WHOLE, observed_max
from models.tmax_ar.kalman import (
    ARFilterParams,
    ARStep,
    backward_sample,
    censored_ar_filter,
    effective_ar,
    report_noise_sd,
    report_var,
)

HAZARD_MINUTES = (5, 15, 60)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class NowcastWarning(UserWarning):
    """The nowcast ran on thin information (no reports yet, a long gap)."""


class NowcastDay(NamedTuple):
    """One day's inputs on the grid.

    Attributes:
        y: reports (°C), ``(288,)``; kind: ``0/1/2`` per step; base: baseline path (°C).
        station: station index into the posterior's station axis.
    """

    y: Float[np.ndarray, " 288"]
    kind: Int[np.ndarray, " 288"]
    base: Float[np.ndarray, " 288"]
    station: int


class Nowcast(NamedTuple):
    """Nowcast at one decision time.

    Attributes:
        high_f: draws of the official high (whole °F), ``(n,)``.
        pmf: probabilities over ``ladder``.
        ladder: the ladder used (the event's, or 2 °F bins).
        quantiles: whole-°F quantiles of the high at :data:`QUANTILES`.
        hazard: ``P(new running high within w)`` for ``w`` in :data:`HAZARD_MINUTES`.
        running_max_c: running 5-minute maximum so far (``-inf`` before any report).
        running_max_f: its whole-°F value (``None`` before any report).
        n_obs: reports before ``t``.
        ess: effective sample size of the importance weights.
        paths: simulated 5-minute reports for the whole day (°C), ``(n, 288)``.
    """

    high_f: Int[np.ndarray, " n"]
    pmf: Float[np.ndarray, " K"]
    ladder: Ladder
    quantiles: Float[np.ndarray, " Q"]
    hazard: Float[np.ndarray, " H"]
    running_max_c: float
    running_max_f: int | None
    n_obs: int
    ess: float
    paths: Float[np.ndarray, "n 288"]


def two_degree_ladder(center_f: int, n_inner: int = 8, name: str = "TWO_DEG") -> Ladder:
    """A ladder of 2 °F brackets around ``center_f`` with open tails (``n_inner`` brackets)."""
    lo0 = int(center_f) - n_inner
    brackets = [Bracket(None, lo0 - 1, f"{name}-T{lo0 - 1}", f"{lo0 - 1}° or below")]
    for i in range(n_inner):
        lo = lo0 + 2 * i
        brackets.append(Bracket(lo, lo + 1, f"{name}-B{lo}.5", f"{lo}° to {lo + 1}°"))
    top = lo0 + 2 * n_inner
    brackets.append(Bracket(top, None, f"{name}-T{top}", f"{top}° or above"))
    return Ladder(name, tuple(brackets))


@partial(jax.jit, static_argnames=("n_candidates", "n_paths"))
def sample_day_paths(
    key: Array,
    post: Posterior,
    y: Float[Array, " T"],
    kind: Int[Array, " T"],
    base: Float[Array, " T"],
    station: Int[Array, ""],
    s_t: Int[Array, ""],
    n_candidates: int,
    n_paths: int,
) -> tuple[Float[Array, "n T"], Float[Array, ""]]:
    """Simulated 5-minute reports of the whole day given the reports before step ``s_t``.

    Returns:
        ``(reports, ess)``: ``(n_paths, T)`` °C (actual tenths reports at steps before
        ``s_t``), and the importance-weight ESS.
    """
    k_draw, k_day, k_res, k_back, k_rep = jax.random.split(key, 5)
    n_post = post.tau_eta.shape[0]
    j = jax.random.randint(k_draw, (n_candidates,), 0, n_post)
    p = jax.tree.map(lambda a: a[j], post)
    z = jax.random.normal(k_day, (n_candidates,))
    k_day_shift = p.phi_coef[:, 0] + p.u[:, station]
    l_day_shift = p.sigma_coef[:, 0] + p.v[:, station] + p.tau_eta * z

    def curves(pc, sc, kd, ld):
        phi, sig = ar_curves(pc.at[0].set(0.0), sc.at[0].set(0.0), kd[None], ld[None])
        return effective_ar(phi[0], sig[0])

    phi, sigma = jax.vmap(curves)(p.phi_coef, p.sigma_coef, k_day_shift, l_day_shift)
    steps = jnp.arange(y.shape[0])
    seen = jnp.where(steps < s_t, kind, 0)
    obs_var = report_var(p.obs_jitter_sd)
    prior = ARFilterParams(p.mu_delta[:, station], p.tau_delta[:, station], obs_var)
    _, info = jax.vmap(censored_ar_filter, in_axes=(0, ARStep(0, 0, None, None, None)))(
        prior, ARStep(phi, sigma, base, y, seen)
    )
    loglik = info.log_likelihood.sum(-1)
    logw = loglik - jnp.max(loglik)
    w = jnp.exp(logw)
    w = w / w.sum()
    ess = 1.0 / jnp.sum(w * w)
    pick = jax.random.choice(k_res, n_candidates, (n_paths,), p=w)
    filt = jax.tree.map(lambda a: a[pick], info.filtered)
    keys = jax.random.split(k_back, n_paths)
    x, delta = jax.vmap(backward_sample)(keys, filt, phi[pick], sigma[pick])
    temp = base[None, :] + delta[:, None] + x
    noise = report_noise_sd(p.obs_jitter_sd[pick, None]) * jax.random.normal(k_rep, temp.shape)
    reports = jnp.round((temp + noise) * 10.0) / 10.0
    actual = (steps < s_t) & (kind == TENTHS)
    return jnp.where(actual[None, :], y[None, :], reports), ess


def hazard_from_paths(
    reports: Float[np.ndarray, "n T"], s_t: int, running_max_c: float
) -> Float[np.ndarray, " H"]:
    """``P(some report in steps [s_t, s_t + w) exceeds the running max)`` per window ``w``.

    Before any report every first report is a new high, so the hazard is 1 for windows that
    contain at least one step; past the end of the day it is 0.
    """
    out = np.zeros(len(HAZARD_MINUTES))
    for i, minutes in enumerate(HAZARD_MINUTES):
        stop = min(s_t + minutes // STEP_MINUTES, STEPS)
        if stop <= s_t:
            continue
        if not np.isfinite(running_max_c):
            out[i] = 1.0
            continue
        out[i] = float(np.mean((reports[:, s_t:stop] > running_max_c + 1e-6).any(axis=1)))
    return out


def pmf_over_ladder(
    high_f: Int[np.ndarray, " n"], ladder: Ladder, floor_f: int | None, pseudo: float = 0.1
) -> Float[np.ndarray, " K"]:
    """Bracket frequencies of ``high_f`` plus ``pseudo`` counts on brackets reaching ``floor_f``.

    Brackets entirely below ``floor_f`` (the running maximum) keep probability exactly 0.
    """
    uniq, cnt = np.unique(high_f, return_counts=True)
    idx = np.array([ladder.index_of(int(h)) for h in uniq], dtype=np.int64)
    counts = np.zeros(len(ladder))
    np.add.at(counts, idx, cnt)
    feasible = np.array(
        [b.hi is None or floor_f is None or b.hi >= floor_f for b in ladder.brackets], dtype=float
    )
    p = counts + pseudo * feasible
    return p / p.sum()


def nowcast(
    key: Array,
    post: Posterior,
    gap: GapModel,
    day: NowcastDay,
    s_t: int,
    ladder: Ladder | None = None,
    n_paths: int = 1000,
    n_candidates: int = 4000,
    long_gap_minutes: int = 60,
) -> Nowcast:
    """Nowcast of the official high at grid step ``s_t`` (0: nothing seen; 288: day over).

    Warns with :class:`NowcastWarning` when there is no report yet or when the last report is
    more than ``long_gap_minutes`` before ``t``; the result is still fully defined.
    """
    s_t = int(np.clip(s_t, 0, STEPS))
    kind = np.asarray(day.kind)
    y = np.nan_to_num(np.asarray(day.y, dtype=float))
    base = np.asarray(day.base, dtype=float)
    if not np.all(np.isfinite(base)):
        raise ValueError("baseline path has non-finite values")
    seen = np.flatnonzero(kind[:s_t] > 0)
    if s_t > 0 and len(seen) == 0:
        warnings.warn(
            f"no report before step {s_t}: nowcast from the prior of the day",
            NowcastWarning,
            stacklevel=2,
        )
    elif len(seen) and (s_t - 1 - seen[-1]) * STEP_MINUTES > long_gap_minutes:
        warnings.warn(
            f"last report {(s_t - 1 - seen[-1]) * STEP_MINUTES} min before t: long gap",
            NowcastWarning,
            stacklevel=2,
        )
    k_paths, k_gap = jax.random.split(key)
    reports, ess = sample_day_paths(
        k_paths,
        post,
        jnp.asarray(y, dtype=jnp.float32),
        jnp.asarray(kind),
        jnp.asarray(base, dtype=jnp.float32),
        jnp.asarray(day.station),
        jnp.asarray(s_t),
        n_candidates,
        n_paths,
    )
    reports = np.asarray(reports, dtype=np.float64)
    rmax = observed_max(y[:s_t], kind[:s_t])
    m5 = reports.max(axis=1)
    whole_seen = kind[:s_t] == WHOLE
    if whole_seen.any():  # a whole-°C report c proves at least c - 0.5
        m5 = np.maximum(m5, rmax)
    rng = np.random.default_rng(int(jax.random.randint(k_gap, (), 0, 2**31 - 1)))
    high = to_official_f(m5, sample_gap(rng, gap, n_paths))
    rmax_f = c_to_f_whole(round(rmax, 1)) if np.isfinite(rmax) else None
    if rmax_f is not None:
        high = np.maximum(high, rmax_f)
    if ladder is None:
        ladder = two_degree_ladder(int(np.median(high)))
    pmf = pmf_over_ladder(high, ladder, rmax_f)
    quant = np.quantile(high, QUANTILES, method="inverted_cdf").astype(float)
    hazard = hazard_from_paths(reports, s_t, rmax)
    return Nowcast(high, pmf, ladder, quant, hazard, rmax, rmax_f, len(seen), float(ess), reports)
