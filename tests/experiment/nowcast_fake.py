"""A stand-in for the nowcast kind's NUTS fit that records what it was given.

Compiling the NUTS program takes about 20 s, too long for the default test run. The guard
tests replace ``experiments.nowcast.fit_nuts`` with :func:`fake_nuts`'s function, which keeps
every ``FitData`` it receives (so a test can check that NUTS would see bit-identical inputs)
and returns a small posterior that is a deterministic function of those inputs (so a leak into
the data also moves every nowcast). ``test_guards_train_only`` runs the real NUTS once, marked
slow.
"""

from __future__ import annotations

import arviz as az
import jax
import numpy as np
import pandas as pd
import pytest

from models.tmax_ar.fit import NutsFit, Posterior
from models.tmax_ar.grid import TENTHS
from models.tmax_ar.model import FitData

N_DRAWS = 8


def fake_posterior(data: FitData) -> Posterior:
    """Prior-like draws with each station's day offset set to its mean residual."""
    y, kind, base = np.asarray(data.y), np.asarray(data.kind), np.asarray(data.base)
    station = np.asarray(data.station)
    s = int(data.n_stations)
    mu = np.zeros(s)
    for g in range(s):
        use = (station[:, None] == g) & (kind == TENTHS)
        if use.any():
            mu[g] = float(np.mean((y - base)[use]))
    rng = np.random.default_rng(0)
    n = N_DRAWS
    return Posterior(
        phi_coef=np.array([6.0, 0.0, 0.0]) + 0.05 * rng.standard_normal((n, 3)),
        sigma_coef=np.array([np.log(0.15), 0.0, 0.0, 0.0, 0.0])
        + 0.05 * rng.standard_normal((n, 5)),
        mu_delta=np.tile(mu, (n, 1)),
        tau_delta=np.ones((n, s)),
        u=np.zeros((n, s)),
        v=np.zeros((n, s)),
        tau_eta=np.full(n, 0.2),
        obs_jitter_sd=np.full(n, 0.1),
    )


def fake_nuts(monkeypatch: pytest.MonkeyPatch) -> list[FitData]:
    """Patch the nowcast kind's ``fit_nuts``; returns the list its calls' inputs go to."""
    calls: list[FitData] = []

    def fit(key: jax.Array, data: FitData, config: object = None) -> NutsFit:
        del key, config
        data = FitData(*(np.asarray(x) if hasattr(x, "shape") else x for x in data))
        calls.append(data)
        post = fake_posterior(data)
        idata = az.from_dict(posterior={k: np.asarray(v)[None] for k, v in post._asdict().items()})
        diag = pd.DataFrame(
            {"param": ["mu_delta"], "r_hat": [1.0], "ess_bulk": [1000.0], "ess_tail": [1000.0]}
        )
        return NutsFit(post, idata, diag, 0, 0.0)

    monkeypatch.setattr("experiments.nowcast.fit_nuts", fit)
    return calls
