"""Throughput and latency of the bracket-model filters: filterpy vs kbayes (JAX).

Same model, same data, one run:

* the bracket model of :mod:`models.bracket_pmf` with ``K = 6`` brackets: alr random walk
  ``z_t = z_{t-1} + w_t``, ``w_t ~ N(0, q dt C)``, prices ``softmax([z, 0]) + e_t`` with
  per-step diagonal noise, every row observed (filterpy has no masking);
* filterpy ``UnscentedKalmanFilter`` + ``MerweScaledSigmaPoints(alpha=1, beta=2, kappa=0)``,
  step by step in Python (Q and R set per step), float64;
* the kbayes UKF (same sigma points, sigma-point predict and update, jitter repair) scanned
  with ``lax.scan`` (one event), and ``vmap``-ed over 64 events inside one ``jit``;
* one live step of the tracker: :func:`models.bracket_pmf.live.live_ukf`, the UKF update
  compiled ahead of time on one flat carry (state + PMF): a packed device row in, the new
  carry out (dispatch, filter and PMF), median and p99 latency; the same from a host-side
  ``BracketStep`` (packing and host-to-device copy included) for context;
* the bootstrap particle filter scanned with 1,000 and 10,000 particles.

Precision: float64 (``jax_enable_x64``) is the oracle: it reproduces filterpy to round-off
(printed). The production path, and the headline numbers, run the same filter on the same
data in float32; the largest PMF difference to the float64 run over all 64 x 512 steps is
printed next to them. The float64 rates are printed too.

Process settings (both production choices for small filters on a small CPU, set before JAX
starts): Eigen's intra-op thread pool off (``--xla_cpu_multi_thread_eigen=false``: for
``5 x 11`` matrices the hand-off to a pool thread costs more than the product) and
synchronous CPU dispatch (``jax_cpu_enable_async_dispatch=False``: a step runs inline in
the calling thread instead of being queued to a worker and waited for). The cost of
dispatching a trivial compiled function is printed for context.

Run: ``.venv/bin/python benchmarks/bench_filters.py``. The last line is
``ukf_scan_speedup_vs_filterpy=<x> ukf_batched_steps_per_s=<y> live_update_us_p50=<z>``.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_enable_async_dispatch", False)

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
from models.bracket_pmf.live import live_pmf, live_ukf  # noqa: E402
from models.bracket_pmf.model import DT_FLOOR, exchangeable_alr_cov  # noqa: E402

K = 6
T = 512
BATCH = 64
FILTERPY_STEPS = 400
LIVE_CALLS = 3000
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


def _latency_us(call, n: int) -> np.ndarray:
    """Wall time of ``n`` calls of ``call(i)`` (each blocks on its result), in µs."""
    for i in range(50):
        call(i)
    lat = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        lat[i] = time.perf_counter() - t0
    return lat * 1e6


def _cast(tree, dtype):
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), tree)


def main() -> None:
    rng = np.random.default_rng(0)
    data = simulate(rng, BATCH, T)
    one_np = jax.tree_util.tree_map(lambda x: x[0], data)
    print(f"bracket model: K={K} brackets, state dim {K - 1}, {T} steps per event")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs")

    fp_rate, fp_means = bench_filterpy(one_np)
    print(f"filterpy UKF (float64):               {fp_rate:12,.0f} steps/s")

    # Same filter, same data: the float64 means agree with filterpy (round-off plus the
    # 2e-13 jitter).
    alg_check = ukf_tracker(PARAMS, K, with_pmf=False)
    n = fp_means.shape[0]
    short = jax.tree_util.tree_map(lambda x: jnp.asarray(x[:n]), one_np)
    check = jax.jit(lambda s: track(alg_check, s)[0].mean)(short)
    err = np.abs(check - fp_means[-1]).max()
    print(f"  max |mean kbayes - filterpy| (float64, {n} steps): {err:.2e}")

    rates: dict[str, tuple[float, float]] = {}
    pmfs = {}
    for name, dtype in (("float64", jnp.float64), ("float32", jnp.float32)):
        params = _cast(PARAMS, dtype)
        batch = _cast(data, dtype)
        one = jax.tree_util.tree_map(lambda x: x[0], batch)

        def scan_one(steps, params=params):
            return track(ukf_tracker(params, K, with_pmf=False), steps)[0].mean

        def pmf_path(steps, params=params):
            return track(ukf_tracker(params, K), steps)[1].pmf

        scan_rate = T / _time(jax.jit(scan_one), one, repeat=20)
        batched_rate = BATCH * T / _time(jax.jit(jax.vmap(scan_one)), batch, repeat=10)
        rates[name] = (scan_rate, batched_rate)
        pmfs[name] = np.asarray(jax.jit(jax.vmap(pmf_path))(batch), dtype=np.float64)
        print(f"kbayes UKF ({name}), lax.scan:        {scan_rate:12,.0f} steps/s")
        print(f"kbayes UKF ({name}), vmap {BATCH} events: {batched_rate:12,.0f} steps/s")
    diff = np.abs(pmfs["float32"] - pmfs["float64"])
    print(
        f"  PMF float32 vs float64 over {BATCH}x{T} steps: max |diff| {diff.max():.1e}, "
        f"mean {diff.mean():.1e}"
    )
    scan_rate, batched_rate = rates["float32"]

    # Live: one packed device row in, the new carry (state + PMF) out, float32, compiled
    # ahead of time. Rows are prepared before timing, as device arrays, like the pytree rows
    # of the jit(update) measurement below; the host-side packing is timed separately.
    params32 = _cast(PARAMS, jnp.float32)
    live = live_ukf(params32, K)
    rows = [jax.tree_util.tree_map(lambda x, t=t: x[t], one_np) for t in range(T)]
    packed = [jnp.asarray(live.pack_obs(r)) for r in rows]
    carry = [live.init]

    def live_step(i: int) -> None:
        carry[0] = live.update(carry[0], packed[i % T])
        jax.block_until_ready(carry[0])

    def live_step_from_host(i: int) -> None:
        carry[0] = live.update(carry[0], live.pack_obs(rows[i % T]))
        jax.block_until_ready(carry[0])

    lat = _latency_us(live_step, LIVE_CALLS)
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    pmf_live, _ = live_pmf(live, carry[0])
    print(
        f"live update (packed, AOT, float32):    p50 {p50:8.1f} us   p99 {p99:8.1f} us"
        f"   (PMF sums to {pmf_live.sum():.6f})"
    )
    lat_host = _latency_us(live_step_from_host, LIVE_CALLS)
    print(
        f"  from a host BracketStep (pack + copy): p50 {np.percentile(lat_host, 50):6.1f} us"
        f"   p99 {np.percentile(lat_host, 99):8.1f} us"
    )
    # Context: the pytree update under jax.jit (16 buffers per call), and bare dispatch.
    tracker = ukf_tracker(params32, K)
    update = jax.jit(tracker.update)
    rows_dev = _cast(rows, jnp.float32)
    state = [tracker.init(None)]

    def pytree_step(i: int) -> None:
        state[0], info = update(state[0], rows_dev[i % T], None)
        jax.block_until_ready(info.pmf)

    lat_tree = _latency_us(pytree_step, LIVE_CALLS // 3)
    trivial = jax.jit(lambda x: x + 1.0).lower(live.init).compile()
    lat_triv = _latency_us(lambda i: jax.block_until_ready(trivial(live.init)), LIVE_CALLS)
    print(
        f"  context: jit(pytree update) p50 {np.percentile(lat_tree, 50):.1f} us; "
        f"trivial compiled call p50 {np.percentile(lat_triv, 50):.1f} us"
    )

    for n_particles in (1000, 10000):

        def pf_scan(steps, key, n_particles=n_particles):
            alg = pf_tracker(PARAMS, K, n_particles)
            return track(alg, steps, key)[1].pmf

        pf = jax.jit(pf_scan)
        one64 = jax.tree_util.tree_map(jnp.asarray, one_np)
        rate = T / _time(pf, one64, jax.random.key(0), repeat=3)
        print(f"particle filter (float64), N={n_particles:>6,}:   {rate:12,.0f} steps/s")

    print(
        f"ukf_scan_speedup_vs_filterpy={scan_rate / fp_rate:.1f} "
        f"ukf_batched_steps_per_s={batched_rate:.0f} live_update_us_p50={p50:.1f}"
    )


if __name__ == "__main__":
    main()
