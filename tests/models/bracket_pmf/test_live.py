"""The packed live UKF equals the scanned tracker; float32 stays close to float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from models.bracket_pmf import default_params, track, ukf_tracker
from models.bracket_pmf.live import empty_step, live_pmf, live_ukf
from tests.models.bracket_pmf.test_tracker import K, T, _steps


def _data() -> object:
    rng = np.random.default_rng(3)
    price = np.clip(np.array([0.1, 0.5, 0.3, 0.1]) + rng.normal(0, 0.03, (T, K)), 0.01, 0.99)
    price[rng.uniform(size=price.shape) < 0.3] = np.nan
    price[4] = np.nan  # a step with nothing observed
    return _steps(price)


def test_live_equals_scan_step_by_step() -> None:
    steps = _data()
    params = default_params(q_day1=1.0, q_day2=0.5)
    state, info = track(ukf_tracker(params, K), jax.tree_util.tree_map(jnp.asarray, steps))
    live = live_ukf(params, K)
    carry = live.init
    for t in range(T):
        row = jax.tree_util.tree_map(lambda x, t=t: x[t], steps)
        carry = live.update(carry, live.pack_obs(row))
        pmf, ll = live_pmf(live, carry)
        np.testing.assert_allclose(pmf, info.pmf[t], atol=1e-12)
        np.testing.assert_allclose(ll, info.log_likelihood[t], atol=1e-10)
    np.testing.assert_allclose(live.unpack_state(carry).cov, state.cov, atol=1e-12)


def test_float32_live_is_close_to_float64() -> None:
    steps = _data()
    p64 = default_params()
    p32 = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), p64)
    l64, l32 = live_ukf(p64, K), live_ukf(p32, K)
    c64, c32 = l64.init, l32.init
    assert c32.dtype == jnp.float32 and l32.pack_obs(empty_step(K)).dtype == np.float32
    for t in range(T):
        row = jax.tree_util.tree_map(lambda x, t=t: x[t], steps)
        c64, c32 = l64.update(c64, l64.pack_obs(row)), l32.update(c32, l32.pack_obs(row))
    np.testing.assert_allclose(live_pmf(l32, c32)[0], live_pmf(l64, c64)[0], atol=1e-4)
