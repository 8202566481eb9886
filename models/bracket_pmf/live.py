"""The bracket UKF as a live step: one flat carry in, one out, compiled ahead of time.

:func:`live_ukf` packs :func:`~models.bracket_pmf.tracker.ukf_tracker` with
:func:`kbayes.step.pack_algorithm`: the carry is

    [mean (K-1), cov ((K-1)^2), log p(y_1:t), pmf (K), log p(y_t | y_1:t-1)]

and a step is ``carry = live.update(carry, live.pack_obs(step))`` with ``step`` one
:class:`~models.bracket_pmf.model.BracketStep` (NumPy scalars/vectors, host side). The
result is the same filter, step for step, as :func:`~models.bracket_pmf.tracker.track`
(tested), at a fraction of the per-call cost of a ``jax.jit`` of the pytree ``update``
(two buffers per call instead of sixteen, no tracing cache lookup). For the lowest latency
on CPU also turn off async dispatch (see :mod:`kbayes.step`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from kbayes.step import PackedAlgorithm, pack_algorithm
from models.bracket_pmf.model import BracketStep
from models.bracket_pmf.params import BracketPMFParams
from models.bracket_pmf.tracker import ukf_tracker


def empty_step(num_brackets: int, dtype: object = float) -> BracketStep:
    """A step with every row missing (shapes and dtype of one live observation)."""
    k = num_brackets
    nan = np.full(k, np.nan, dtype)
    return BracketStep(
        dt=np.zeros((), dtype),
        price=nan,
        half_spread=np.zeros(k, dtype),
        staleness_h=np.zeros(k, dtype),
        volume=np.zeros(k, dtype),
        weather_alr=np.full(max(k - 1, 0), np.nan, dtype),
        weather_hours_left=np.zeros((), dtype),
    )


def live_ukf(
    params: BracketPMFParams,
    num_brackets: int,
    weather: bool = False,
    repair: str = "jitter",
) -> PackedAlgorithm:
    """The compiled live UKF step of one event (dtype: that of ``params``).

    Args:
        params: model parameters (float32 leaves give a float32 filter).
        num_brackets: ``K``.
        weather: whether steps carry the weather rows.
        repair: covariance repair (see :func:`~models.bracket_pmf.tracker.ukf_tracker`).

    Returns:
        A :class:`~kbayes.step.PackedAlgorithm` whose outputs are
        ``[pmf (K), log p(y_t | y_1:t-1)]`` (read them with :func:`live_pmf`).
    """
    dtype = jnp.result_type(params.log_q, float)
    tracker = ukf_tracker(params, num_brackets, weather, with_pmf=True, repair=repair)

    def outputs(state: object, info: object) -> Float[Array, " O"]:
        del state
        return jnp.concatenate([info.pmf, jnp.reshape(info.log_likelihood, (1,))])

    return pack_algorithm(tracker, empty_step(num_brackets, dtype), outputs)


def live_pmf(
    live: PackedAlgorithm, carry: Float[Array, " C"]
) -> tuple[Float[np.ndarray, " K"], float]:
    """The PMF after the last step and that step's log-likelihood, on the host."""
    out = np.asarray(carry)[live.state_size :]
    return out[:-1], float(out[-1])
