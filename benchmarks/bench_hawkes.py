"""Benchmark: 8-dimensional exponential Hawkes fit, kbayes against the peers intensify and tick.

One simulated data set (seeded Ogata thinning, :func:`kbayes.pointprocess.simulate`): 4
brackets x 2 taker sides, branching matrix with self (0.3), opposite-side (0.12) and
same-side neighbour (0.07) excitation, shared decay beta = 2, about 18,000 events. Each
library fits it by maximum likelihood once; reported are the wall time (kbayes: first call,
including JIT compilation, and second call) and the largest absolute error of the 64 entries
of ``alpha`` (and of ``mu`` relative). Configurations:

* kbayes: all 64 ``alpha`` free, shared ``beta`` *fitted* from 1.0 (L-BFGS, float64, no
  standard errors, gradient tolerance ``KBAYES_TOL``), and the structured variant (the true
  sparsity pattern, 28 free entries).
* intensify (PyPI ``intensify``): ``MultivariateHawkes`` with an ``ExponentialKernel``,
  ``fit(method="mle")``: ``fit_decay=False`` at the true beta (its fast recursive path), and
  ``fit_decay=True`` (per-pair decays from 1.0, dense path); beta column: median decay.
* tick (PyPI ``tick``): ``HawkesExpKern(decays=true beta, gofit="likelihood", penalty="none")``
  (tick needs the decay given).

The peers are imported if installed; otherwise their row says "not installed" (or "does not
run here: <error>"). Nothing is installed by this script. The last line is
``hawkes_fit_s=<kbayes second call> hawkes_fit_ratio_vs_best_peer=<that / fastest peer>
hawkes_alpha_max_err=<kbayes max |alpha error|>``.

Run: ``.venv/bin/python benchmarks/bench_hawkes.py``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from kbayes.pointprocess import (  # noqa: E402
    bracket_structure,
    fit,
    hawkes_params,
    simulate,
    stationary_rate,
)

BETA = 2.0
SEED = 2024
N_TARGET = 18_000  # expected events: T = N_TARGET / total stationary rate
KBAYES_TOL = 1e-5  # gradient-norm tolerance on the 1/N-scaled objective (intensify: ftol 1e-5)


def truth() -> tuple[np.ndarray, np.ndarray]:
    """``(mu, alpha)`` of the 8-dimensional bracket-flow process."""
    d = 8
    alpha = np.zeros((d, d))
    for i in range(d):
        bi, si = divmod(i, 2)
        for j in range(d):
            bj, sj = divmod(j, 2)
            if i == j:
                alpha[i, j] = 0.3
            elif bi == bj:
                alpha[i, j] = 0.12
            elif abs(bi - bj) == 1 and si == sj:
                alpha[i, j] = 0.07
    mu = np.array([0.10, 0.12, 0.20, 0.18, 0.22, 0.20, 0.12, 0.10])
    return mu, alpha


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_kbayes(events: Any, structure: Any) -> dict[str, Any]:
    run = lambda: fit(
        events, alpha_structure=structure, stderr=False, beta_init=1.0, tol=KBAYES_TOL
    )
    _, t1 = _timed(run)
    second, t2 = _timed(run)
    return {
        "alpha": np.asarray(second.params.alpha),
        "mu": np.asarray(second.params.mu)[:, 0],
        "beta": float(np.asarray(second.params.beta)[0, 0]),
        "first_s": t1,
        "second_s": t2,
        "note": f"{second.info.num_iterations} iters, converged={second.info.converged}",
    }


def bench_intensify(per_dim: list[np.ndarray], T: float, fit_decay: bool) -> dict[str, Any]:
    import intensify as it

    def run() -> Any:
        model = it.MultivariateHawkes(
            n_dims=8,
            mu=0.1,
            kernel=it.ExponentialKernel(alpha=0.05, beta=BETA if not fit_decay else 1.0),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(per_dim, T=T, method="mle", fit_decay=fit_decay)

    _, t1 = _timed(run)
    res, t2 = _timed(run)
    kernels = res.params["kernel_matrix"]
    alpha = np.array([[k.alpha for k in row] for row in kernels], float)
    beta = np.array([[k.beta for k in row] for row in kernels], float)
    return {
        "alpha": alpha,
        "mu": np.asarray(res.params["mu"], float),
        "beta": float(np.median(beta)),
        "first_s": t1,
        "second_s": t2,
        "note": f"{res.convergence_info.get('iterations', '?')} iters",
    }


def bench_tick(per_dim: list[np.ndarray]) -> dict[str, Any]:
    from tick.hawkes import HawkesExpKern

    def run() -> Any:
        learner = HawkesExpKern(
            decays=BETA, gofit="likelihood", penalty="none", max_iter=1000, tol=1e-8
        )
        learner.fit([np.ascontiguousarray(x, dtype=float) for x in per_dim], start=0.1)
        return learner

    learner, t1 = _timed(run)
    learner, t2 = _timed(run)
    return {
        "alpha": np.asarray(learner.adjacency, float),
        "mu": np.asarray(learner.baseline, float),
        "beta": BETA,
        "first_s": t1,
        "second_s": t2,
        "note": "decay given",
    }


def _row(name: str, fn: Callable[[], dict[str, Any]], mu: np.ndarray, alpha: np.ndarray) -> dict:
    try:
        out = fn()
    except ImportError as exc:
        return {"name": name, "status": f"not installed ({exc.name or exc})"}
    except Exception as exc:  # a peer failing must not stop the benchmark
        return {"name": name, "status": f"does not run here: {type(exc).__name__}: {exc}"[:160]}
    out["alpha_err"] = float(np.abs(out["alpha"] - alpha).max())
    out["mu_rel_err"] = float(np.abs(out["mu"] / mu - 1).max())
    return {"name": name, "status": "ok", **out}


def main() -> None:
    mu, alpha = truth()
    T = N_TARGET / float(stationary_rate(hawkes_params(mu, alpha, BETA)).sum())
    events = simulate(hawkes_params(mu, alpha, BETA), T, np.random.default_rng(SEED))
    per_dim = [events.times[events.marks == i] for i in range(8)]
    print(
        f"data: 8 dims, {len(events.times)} events on [0, {T:.0f}], beta = {BETA}, "
        f"rho(alpha) = {np.max(np.abs(np.linalg.eigvals(alpha))):.3f}"
    )
    rows = [
        _row("kbayes (64 alpha, beta fitted)", lambda: bench_kbayes(events, None), mu, alpha),
        _row(
            "kbayes (28 alpha structured, beta fitted)",
            lambda: bench_kbayes(events, bracket_structure(4)),
            mu,
            alpha,
        ),
        _row("intensify (beta given)", lambda: bench_intensify(per_dim, T, False), mu, alpha),
        _row(
            "intensify (per-pair beta fitted)", lambda: bench_intensify(per_dim, T, True), mu, alpha
        ),
        _row("tick HawkesExpKern (beta given)", lambda: bench_tick(per_dim), mu, alpha),
    ]
    header = (
        f"{'library':44s} {'first s':>9s} {'second s':>9s} {'max|da|':>9s} {'mu rel':>8s}"
        f" {'beta':>7s}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['name']:44s} {r['status']}")
            continue
        print(
            f"{r['name']:44s} {r['first_s']:9.3f} {r['second_s']:9.3f} {r['alpha_err']:9.4f} "
            f"{r['mu_rel_err']:8.4f} {r['beta']:7.3f}  {r['note']}"
        )
    main_row = rows[0]
    peers = [r for r in rows[2:] if r["status"] == "ok"]
    best = min(peers, key=lambda r: r["second_s"]) if peers else None
    ratio = main_row["second_s"] / best["second_s"] if best else float("nan")
    if best:
        print(
            f"fastest peer: {best['name']} ({best['second_s']:.3f} s, max|da| "
            f"{best['alpha_err']:.4f}); most accurate peer: "
            f"{min(peers, key=lambda r: r['alpha_err'])['name']}"
        )
    print(
        f"hawkes_fit_s={main_row['second_s']:.3f} hawkes_fit_ratio_vs_best_peer={ratio:.3f} "
        f"hawkes_alpha_max_err={main_row['alpha_err']:.4f}"
    )


if __name__ == "__main__":
    main()
