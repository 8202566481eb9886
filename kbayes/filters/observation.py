"""One step of input to a filter: values, missing rows, irregular time, per-step noise.

Every filter step consumes an :class:`Observation` (the Kalman filter also accepts the
richer :class:`~kbayes.filters.kalman.LinearGaussianStep`):

* ``y`` (M,): the observed vector; ``NaN`` marks a missing row;
* ``dt``: time since the previous step (``None`` means 1), so irregular sampling is native;
* ``noise_var`` (M,): per-row observation noise variances of this step, added to the
  diagonal of the model's base observation covariance, ``R_t = R + diag(noise_var_t)``
  (e.g. from the half-spread, depth and time since the last trade of each bracket);
* ``mask`` (M,): ``True`` where the row is observed; combined with ``~isnan(y)``;
* ``inputs``: exogenous per-step inputs (any pytree) forwarded to the model functions.

Missing rows contribute nothing to the update or to the log-likelihood; a step with every
row missing is a pure prediction. ``NaN`` in ``y`` or ``noise_var`` on a missing row is
never used in arithmetic, so it cannot leak into values or gradients.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float


class Observation(NamedTuple):
    """Observation input of one filter step (leading time axis ``T`` when scanned).

    Attributes:
        y: observed vector, ``NaN`` for missing rows.
        dt: time elapsed since the previous step; ``None`` means 1.
        noise_var: per-row noise variances added to the diagonal of the base ``R``.
        mask: ``True`` where observed; ``None`` means "every non-NaN row".
        inputs: exogenous inputs forwarded to ``fx``/``hx`` (``None``: not forwarded).
    """

    y: Float[Array, " M"]
    dt: Float[ArrayLike, ""] | None = None
    noise_var: Float[Array, " M"] | None = None
    mask: Bool[Array, " M"] | None = None
    inputs: Any = None


def observed_rows(obs: Any) -> Bool[Array, " M"]:
    """Rows of ``obs.y`` that are observed: not ``NaN`` and not masked out."""
    y = jnp.asarray(obs.y)
    observed = ~jnp.isnan(y)
    if obs.mask is not None:
        observed = observed & jnp.asarray(obs.mask, dtype=bool)
    return observed


def filled_values(obs: Any, observed: Bool[Array, " M"]) -> Float[Array, " M"]:
    """``obs.y`` with missing rows set to 0 (safe to do arithmetic on)."""
    y = jnp.asarray(obs.y)
    return jnp.where(observed, y, jnp.zeros_like(y))


def time_step(obs: Any) -> Float[ArrayLike, ""]:
    """``obs.dt``, or 1 when it is ``None``."""
    return 1.0 if obs.dt is None else jnp.asarray(obs.dt)


def observation_cov(
    base_cov: Float[Array, "M M"], obs: Any, observed: Bool[Array, " M"]
) -> Float[Array, "M M"]:
    """``R_t = R + diag(noise_var_t)``, with the per-step variances of missing rows ignored."""
    base_cov = jnp.asarray(base_cov)
    if obs.noise_var is None:
        return base_cov
    noise_var = jnp.asarray(obs.noise_var, dtype=base_cov.dtype)
    return base_cov + jnp.diag(jnp.where(observed, noise_var, jnp.zeros_like(noise_var)))
