"""Throughput and latency of the bracket-model filters: filterpy vs kbayes (JAX).

Same model, same data, one run (float64 everywhere, like filterpy):

* the bracket model of :mod:`models.bracket_pmf` with ``K = 6`` brackets: alr random walk
  ``z_t = z_{t-1} + w_t``, ``w_t ~ N(0, q dt C)``, prices ``softmax([z, 0]) + e_t`` with
  per-step diagonal noise, every row observed (filterpy has no masking);
* filterpy ``UnscentedKalmanFilter`` + ``MerweScaledSigmaPoints(alpha=1, beta=2, kappa=0)``,
  step by step in Python (Q and R set per step);
* kbayes UKF scanned with ``lax.scan`` (one event), and ``vmap``-ed over 64 events;
* one live ``update`` of the tracker (jitted, dispatch and the PMF output included):
  median and p99 latency;
* the bootstrap particle filter scanned with 1,000 and 10,000 particles.

Run: ``.venv/bin/python benchmarks/bench_filters.py``. The last line is
``ukf_scan_speedup_vs_filterpy=<x> ukf_batched_steps_per_s=<y> live_update_us_p50=<z>``.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from filterpy.kalman import MerweScaledSigmaPoints, UnscentedKalmanFilter  # noqa: E402

from models.bracket_pmf import (  # noqa: E402
    BracketStep,
    default_params,
    market_noise_var,
    pf_tracker,
    track,
    ukf_tracker,
)
from models.bracket_pmf.model import DT_FLOOR, exchangeable_alr_cov  # noqa: E402

K = 6
T = 512
BATCH = 64
FILTERPY_STEPS = 400
PARAMS = default_params(q=0.1, s0=0.02)


def simulate(rng: np.random.Generator, n_events: int, n_steps: int) -> BracketStep:
    """Data from the model (iid log-part random walk, noisy prices), every row observed."""
    q = float(np.exp(PARAMS.log_q))
    dt = rng.uniform(0.02, 0.3, (n_events, n_steps))
    a = rng.normal(0, 1, (n_events, 1, K)) + np.cumsum(
        rng.normal(0, 1, (n_events, n_steps, K)) * np.sqrt(q * dt)[..., None], axis=1
    )
    p = np.exp(a - a.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    volume = rng.integers(0, 20, (n_events, n_steps, K)).astype(float)
    half = np.full((n_events, n_steps, K), 0.01)
    stale = rng.uniform(0, 2, (n_events, n_steps, K))
    var = np.asarray(market_noise_var(half, stale, volume, PARAMS))
    return BracketStep(
        dt=dt,
        price=p + rng.normal(0, np.sqrt(var)),
        half_spread=half,
        staleness_h=stale,
        volume=volume,
        weather_alr=np.full((n_events, n_steps, K - 1), np.nan),
        weather_hours_left=np.zeros((n_events, n_steps)),
    )


def _softmax_ref(z: np.ndarray) -> np.ndarray:
    a = np.append(z, 0.0)
    e = np.exp(a - a.max())
    return e / e.sum()


def bench_filterpy(steps: BracketStep) -> tuple[float, np.ndarray]:
    d = K - 1
    points = MerweScaledSigmaPoints(d, alpha=1.0, beta=2.0, kappa=0.0)
    ukf = UnscentedKalmanFilter(
        dim_x=d, dim_z=K, dt=1.0, fx=lambda x, dt: x, hx=_softmax_ref, points=points
    )
    c = np.asarray(exchangeable_alr_cov(K))
    q = float(np.exp(PARAMS.log_q))
    ukf.x = np.zeros(d)
    ukf.P = float(np.exp(2 * PARAMS.log_p0)) * c
    var = np.asarray(market_noise_var(steps.half_spread, steps.staleness_h, steps.volume, PARAMS))
    n = min(FILTERPY_STEPS, steps.dt.shape[0])
    means = np.empty((n, d))
    t0 = time.perf_counter()
    for t in range(n):
        ukf.Q = q * (steps.dt[t] + DT_FLOOR) * c
        ukf.predict()
        ukf.update(steps.price[t], R=np.diag(var[t]))
        means[t] = ukf.x
    return n / (time.perf_counter() - t0), means


def _time(fn, *args, repeat: int = 5) -> float:
    jax.block_until_ready(fn(*args))
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    data = simulate(rng, BATCH, T)
    one_np = jax.tree_util.tree_map(lambda x: x[0], data)
    one = jax.tree_util.tree_map(jnp.asarray, one_np)
    batch = jax.tree_util.tree_map(jnp.asarray, data)
    print(f"bracket model: K={K} brackets, state dim {K - 1}, {T} steps per event, float64")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs")

    fp_rate, fp_means = bench_filterpy(one_np)
    print(f"filterpy UKF:                    {fp_rate:12,.0f} steps/s")

    def scan_one(steps: BracketStep):
        alg = ukf_tracker(PARAMS, K, with_pmf=False, repair="jitter")
        return track(alg, steps)[0].mean

    # Same filter, same data: the means agree with filterpy (round-off plus the 1e-13 jitter).
    alg_check = ukf_tracker(PARAMS, K, with_pmf=False)
    n = fp_means.shape[0]
    short = jax.tree_util.tree_map(lambda x: x[:n], one)
    check = jax.jit(lambda s: track(alg_check, s)[0].mean)(short)
    print(
        f"  max |mean kbayes - filterpy| after {n} steps: {np.abs(check - fp_means[-1]).max():.2e}"
    )

    scan = jax.jit(scan_one)
    scan_rate = T / _time(scan, one)
    print(f"kbayes UKF, lax.scan:            {scan_rate:12,.0f} steps/s")
    batched = jax.jit(jax.vmap(scan_one))
    batched_rate = BATCH * T / _time(batched, batch)
    print(f"kbayes UKF, vmap over {BATCH} events: {batched_rate:12,.0f} steps/s")

    live = ukf_tracker(PARAMS, K)  # the live tracker: PMF output included
    update = jax.jit(live.update)
    state = live.init(None)
    rows = [jax.tree_util.tree_map(lambda x, t=t: x[t], one) for t in range(T)]
    for t in range(20):
        state, info = update(state, rows[t], None)
    jax.block_until_ready(info.pmf)
    lat = []
    for t in range(2000):
        t0 = time.perf_counter()
        state, info = update(state, rows[t % T], None)
        jax.block_until_ready(info.pmf)
        lat.append(time.perf_counter() - t0)
    lat_us = np.asarray(lat) * 1e6
    p50, p99 = np.percentile(lat_us, 50), np.percentile(lat_us, 99)
    print(f"live update (jit, dispatch + PMF): p50 {p50:8.1f} us   p99 {p99:8.1f} us")

    for n_particles in (1000, 10000):

        def pf_scan(steps, key, n_particles=n_particles):
            alg = pf_tracker(PARAMS, K, n_particles)
            return track(alg, steps, key)[1].pmf

        pf = jax.jit(pf_scan)
        rate = T / _time(pf, one, jax.random.key(0), repeat=3)
        print(f"particle filter, N={n_particles:>6,}:       {rate:12,.0f} steps/s")

    print(
        f"ukf_scan_speedup_vs_filterpy={scan_rate / fp_rate:.1f} "
        f"ukf_batched_steps_per_s={batched_rate:.0f} live_update_us_p50={p50:.1f}"
    )


if __name__ == "__main__":
    main()
