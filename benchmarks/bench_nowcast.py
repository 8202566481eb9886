"""Benchmark of the Tmax AR nowcaster: NUTS fit on a training set and 1,000 predictive paths.

Usage: ``python benchmarks/bench_nowcast.py [--days 91] [--warmup 500] [--samples 500]
[--chains 4]`` (the defaults are the default fit's, :class:`models.tmax_ar.fit.FitConfig`).
The training set is simulated from the model (``days x 288`` steps, with gaps and whole-°C
reports, like the real KNYC fit set). Reports the fit wall time (compilation included), the
time of one nowcast with 1,000 paths to the end of the day after compilation (median of
repeats), and the memory peak (process max RSS and the Python-heap peak from tracemalloc).
The last line is ``nowcast_fit_s=<a> nowcast_paths_1000_s=<b>``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import numpy as np

from models.tmax_ar.fit import FitConfig, diagnostics_summary, fit_nuts
from models.tmax_ar.gap_5min import DEFAULT_GAP
from models.tmax_ar.nowcast import NowcastDay, nowcast
from models.tmax_ar.simulate import simulate_days


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=91)
    ap.add_argument("--warmup", type=int, default=FitConfig().num_warmup)
    ap.add_argument("--samples", type=int, default=FitConfig().num_samples)
    ap.add_argument("--chains", type=int, default=FitConfig().num_chains)
    ap.add_argument("--tree-depth", type=int, default=FitConfig().max_tree_depth)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    tracemalloc.start()
    sim = simulate_days(0, args.days)
    cfg = FitConfig(args.warmup, args.samples, args.chains, max_tree_depth=args.tree_depth)
    fit = fit_nuts(jax.random.PRNGKey(0), sim.data, cfg)
    summ = diagnostics_summary(fit.diagnostics, fit.n_divergent)
    print(
        f"fit: {args.days} days x 288 steps, {args.chains} chains x {args.samples} draws "
        f"({args.warmup} warm-up): {fit.seconds:.1f} s; max r-hat {summ['max_r_hat']:.3f}, "
        f"min bulk ESS {summ['min_ess_bulk']:.0f}, divergences {summ['n_divergent']}"
    )
    test = simulate_days(99, 1)
    day = NowcastDay(
        np.asarray(test.data.y[0]), np.asarray(test.data.kind[0]), np.asarray(test.data.base[0]), 0
    )
    t0 = time.perf_counter()
    nowcast(jax.random.PRNGKey(0), fit.posterior, DEFAULT_GAP, day, 130, None, 1000)
    compile_s = time.perf_counter() - t0
    times = []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        nowcast(
            jax.random.PRNGKey(r + 1), fit.posterior, DEFAULT_GAP, day, 100 + 20 * r, None, 1000
        )
        times.append(time.perf_counter() - t0)
    paths_s = float(np.median(times))
    _, py_peak = tracemalloc.get_traced_memory()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"nowcast 1000 paths: first call {compile_s:.2f} s (compile), median {paths_s:.3f} s")
    print(f"memory: max RSS {rss_mb:.0f} MiB, Python heap peak {py_peak / 2**20:.1f} MiB")
    print(f"nowcast_fit_s={fit.seconds:.2f} nowcast_paths_1000_s={paths_s:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
