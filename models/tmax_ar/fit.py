"""NUTS fit of :func:`models.tmax_ar.model.tmax_ar_model`, ArviZ output and diagnostics.

Several chains (``chain_method="vectorized"`` by default, so no host-device setup is needed;
``"sequential"`` or ``"parallel"`` after ``numpyro.set_host_device_count`` also work). The
diagnostics are, for every scalar element of every sampled parameter: split r-hat (rank
normalised, Vehtari et al. 2021), bulk and tail effective sample size, and the number of
divergent transitions (Betancourt 2017). Defaults aim at r-hat < 1.01, bulk ESS > 400 and no
divergences.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jaxtyping import Array, Float
from numpyro.infer import MCMC, NUTS

from models.tmax_ar.model import FitData, tmax_ar_model


class FitConfig(NamedTuple):
    """NUTS settings."""

    num_warmup: int = 500
    num_samples: int = 1000
    num_chains: int = 4
    chain_method: str = "vectorized"
    target_accept: float = 0.9
    max_tree_depth: int = 8


class Posterior(NamedTuple):
    """Flattened posterior draws of the parameters a new day needs (``N`` draws).

    Attributes:
        phi_coef, sigma_coef: Fourier coefficients ``a``, ``(N, 3)``, and ``c``, ``(N, 5)``.
        mu_delta, tau_delta: day-offset mean and sd per station, ``(N, S)``.
        u, v: station offsets of the intercepts, ``(N, S)``.
        tau_eta: sd of the per-day log-scale intercepts, ``(N,)``.
        obs_jitter_sd: sd ``omega`` of the reports' short-lived fluctuations, ``(N,)``.
    """

    phi_coef: Float[Array, "N 3"]
    sigma_coef: Float[Array, "N 5"]
    mu_delta: Float[Array, "N S"]
    tau_delta: Float[Array, "N S"]
    u: Float[Array, "N S"]
    v: Float[Array, "N S"]
    tau_eta: Float[Array, " N"]
    obs_jitter_sd: Float[Array, " N"]


class NutsFit(NamedTuple):
    """Output of :func:`fit_nuts`.

    Attributes:
        posterior: draws for nowcasting.
        idata: ArviZ ``InferenceData`` (posterior and sample stats).
        diagnostics: one row per scalar parameter: ``param, r_hat, ess_bulk, ess_tail``.
        n_divergent: divergent transitions after warm-up (all chains).
        seconds: wall time of the run (including compilation).
    """

    posterior: Posterior
    idata: az.InferenceData
    diagnostics: pd.DataFrame
    n_divergent: int
    seconds: float


def posterior_from_samples(samples: dict[str, Array], n_stations: int) -> Posterior:
    """:class:`Posterior` from ``MCMC.get_samples()`` (chains flattened)."""
    n = samples["tau_eta"].shape[0]
    if n_stations > 1:
        u = samples["tau_u"][:, None] * samples["u_raw"]
        v = samples["tau_v"][:, None] * samples["v_raw"]
    else:
        u = v = jnp.zeros((n, 1))
    return Posterior(
        samples["phi_coef"],
        samples["sigma_coef"],
        samples["mu_delta"],
        samples["tau_delta"],
        u,
        v,
        samples["tau_eta"],
        samples["obs_jitter_sd"],
    )


def diagnostics_table(idata: az.InferenceData, var_names: list[str] | None = None) -> pd.DataFrame:
    """r-hat, bulk and tail ESS for every scalar element of the sampled parameters."""
    # Unrounded: az.summary rounds to 2 decimals, which would report 1.0149 as 1.01.
    summ = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    out = summ[["r_hat", "ess_bulk", "ess_tail"]].reset_index(names="param")
    return out


def diagnostics_summary(diag: pd.DataFrame, n_divergent: int) -> dict[str, float]:
    """Worst r-hat, smallest bulk ESS and the divergence count."""
    return {
        "max_r_hat": float(diag["r_hat"].max()),
        "min_ess_bulk": float(diag["ess_bulk"].min()),
        "n_divergent": int(n_divergent),
        "n_params": len(diag),
    }


def fit_nuts(key: Array, data: FitData, config: FitConfig | None = None) -> NutsFit:
    """Run NUTS on the training days and collect the diagnostics.

    Args:
        key: PRNG key.
        data: training days.
        config: sampler settings (:class:`FitConfig` defaults when ``None``).
    """
    config = config or FitConfig()
    # float64 locally: the potential sums ~10^5 report terms, and float32 rounding of it
    # (~0.05) is the size of the Hamiltonian errors NUTS accepts or rejects on.
    with jax.enable_x64(True):
        data = data._replace(
            y=jnp.asarray(np.asarray(data.y), dtype=jnp.float64),
            base=jnp.asarray(np.asarray(data.base), dtype=jnp.float64),
        )
        return _fit_nuts_x64(key, data, config)


def _fit_nuts_x64(key: Array, data: FitData, config: FitConfig) -> NutsFit:
    t0 = time.perf_counter()
    kernel = NUTS(
        tmax_ar_model,
        target_accept_prob=config.target_accept,
        max_tree_depth=config.max_tree_depth,
    )
    mcmc = MCMC(
        kernel,
        num_warmup=config.num_warmup,
        num_samples=config.num_samples,
        num_chains=config.num_chains,
        chain_method=config.chain_method,
        progress_bar=False,
    )
    mcmc.run(key, data, extra_fields=("diverging",))
    jax.block_until_ready(mcmc.get_samples())
    seconds = time.perf_counter() - t0
    idata = az.from_numpyro(mcmc)
    diag = diagnostics_table(idata, list(idata.posterior.data_vars))
    n_div = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    # Host arrays: the nowcast runs in the caller's precision.
    post = jax.tree.map(np.asarray, posterior_from_samples(mcmc.get_samples(), data.n_stations))
    return NutsFit(post, idata, diag, n_div, seconds)


def save_idata(idata: az.InferenceData, path: str | Path) -> Path:
    """Write the InferenceData to netCDF."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    idata.to_netcdf(str(p))
    return p
