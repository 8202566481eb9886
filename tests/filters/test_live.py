"""A filter packed for live use (flat carry, AOT-compiled) equals the scanned filter."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kbayes.filters import Observation, unscented_kalman
from kbayes.step import pack_algorithm
from tests.filters.models import UKF, linear_as_state_space, linear_problem


def test_packed_ukf_equals_scan_step_by_step() -> None:
    problem = linear_problem(np.random.default_rng(40))
    model, ss = linear_as_state_space(problem.params)
    obs = problem.obs
    final, infos = UKF(ss, obs, model=model)
    algorithm = unscented_kalman(model, ss)
    example = jax.tree_util.tree_map(lambda x: x[0], obs)

    def outputs(state, info):
        return jnp.concatenate([info.filtered_mean, jnp.reshape(info.log_likelihood, (1,))])

    live = pack_algorithm(algorithm, example, outputs)
    carry = live.init
    d = final.mean.shape[0]
    for t in range(obs.y.shape[0]):
        step = jax.tree_util.tree_map(lambda x, t=t: np.asarray(x[t]), obs)
        carry = live.update(carry, live.pack_obs(step))
        out = np.asarray(live.outputs(carry))
        np.testing.assert_allclose(out[:d], infos.filtered_mean[t], atol=1e-12)
        np.testing.assert_allclose(out[d], infos.log_likelihood[t], atol=1e-10)
    state = live.unpack_state(carry)
    np.testing.assert_allclose(state.cov, final.cov, atol=1e-12)
    np.testing.assert_allclose(state.log_likelihood, final.log_likelihood, atol=1e-9)
    with pytest.raises(ValueError, match="leaves"):
        live.pack_obs(Observation(np.zeros(obs.y.shape[1])))
