"""Fitting ``Q`` and the noise scales by maximising the UKF marginal log-likelihood.

For training events ``e = 1..E`` with steps ``y^e_1:T``, the objective is the prediction-error
decomposition of the likelihood (Harvey 1989, sec. 3.4; Schweppe 1965), computed by the UKF

    L(theta) = sum_e log p(y^e_1:T | theta) = sum_e sum_t log N(y^e_t; y^_t, S_t)

and we minimise ``-L(theta) / (number of observed rows)`` plus a weak Gaussian penalty
``lambda / 2 ||theta - theta_0||^2`` on the log-scales (keeps weakly identified scales, e.g.
the weather scale when no weather rows exist, at their defaults) with Adam (Kingma & Ba 2015,
``optax.adam``). Events are batched by ``K`` (shapes are static), padded to a common length
with all-missing steps (which add 0), and ``jax.vmap``-ed; the whole loss and gradient is one
``jax.jit`` program.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from models.bracket_pmf.model import BracketStep
from models.bracket_pmf.params import BracketPMFParams
from models.bracket_pmf.tracker import ukf_log_likelihood


class TrackerFit(NamedTuple):
    """Result of :func:`fit_params`.

    Attributes:
        params: fitted parameters.
        loss_history: objective per iteration (negative mean log-likelihood per row).
        num_rows: observed rows in the training batches.
    """

    params: BracketPMFParams
    loss_history: np.ndarray
    num_rows: int


def batch_log_likelihood(
    params: BracketPMFParams, steps: BracketStep, num_brackets: int, weather: bool
) -> Float[Array, ""]:
    """Sum over a ``(B, T)`` batch of events of the UKF log-likelihood."""
    lls = jax.vmap(lambda s: ukf_log_likelihood(params, s, num_brackets, weather))(steps)
    return jnp.sum(lls)


def count_rows(steps: BracketStep, weather: bool) -> int:
    """Observed rows (the normaliser of the objective)."""
    n = int(np.sum(np.isfinite(np.asarray(steps.price))))
    if weather:
        n += int(np.sum(np.isfinite(np.asarray(steps.weather_alr))))
    return n


def fit_params(
    init: BracketPMFParams,
    batches: Sequence[BracketStep],
    *,
    weather: bool = False,
    num_iters: int = 100,
    learning_rate: float = 0.05,
    penalty: float = 1e-3,
    fixed: Sequence[str] = (),
) -> TrackerFit:
    """Maximise the UKF log-likelihood over ``batches`` (each ``(B, T)`` with one ``K``).

    Args:
        init: starting point (and centre of the penalty).
        batches: stacked steps; ``K`` is read from each batch's price shape.
        weather: whether the weather rows enter.
        num_iters: Adam iterations (full batch).
        learning_rate: Adam step size on the log-scales.
        penalty: ``lambda`` of the Gaussian penalty per observed row.
        fixed: parameter names held at ``init``.

    Returns:
        A :class:`TrackerFit`.
    """
    batches = [jax.tree_util.tree_map(jnp.asarray, b) for b in batches]
    ks = [int(b.price.shape[-1]) for b in batches]
    n_rows = sum(count_rows(b, weather) for b in batches)
    if n_rows == 0:
        raise ValueError("no observed rows to fit on")
    free = jnp.array([0.0 if name in fixed else 1.0 for name in init._fields])

    def loss(p: BracketPMFParams, batches: Sequence[BracketStep]) -> Float[Array, ""]:
        p = BracketPMFParams(*(i + f * (x - i) for x, i, f in zip(p, init, free, strict=True)))
        ll = sum(batch_log_likelihood(p, b, k, weather) for b, k in zip(batches, ks, strict=True))
        reg = sum(jnp.sum((x - i) ** 2) for x, i in zip(p, init, strict=True))
        return -ll / n_rows + 0.5 * penalty * reg

    opt = optax.adam(learning_rate)

    @jax.jit
    def step(p, state, batches):
        value, grad = jax.value_and_grad(loss)(p, batches)
        grad = jax.tree_util.tree_map(lambda g: jnp.where(jnp.isfinite(g), g, 0.0), grad)
        updates, state = opt.update(grad, state, p)
        return optax.apply_updates(p, updates), state, value

    # Strongly typed leaves: a weak-typed init would recompile ``step`` after the first update.
    dtype = jnp.result_type(float)
    init = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=dtype), init)
    params = init
    state = opt.init(params)
    history = []
    best, best_loss = params, np.inf
    for _ in range(num_iters):
        new, state, value = step(params, state, batches)
        value = float(value)
        history.append(value)
        if np.isfinite(value) and value < best_loss:
            best, best_loss = params, value
        params = new
    best = BracketPMFParams(*(i + f * (x - i) for x, i, f in zip(best, init, free, strict=True)))
    return TrackerFit(best, np.asarray(history), n_rows)
