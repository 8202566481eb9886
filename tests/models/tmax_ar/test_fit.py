"""NUTS diagnostics are computed for every parameter and the posterior saves to netCDF."""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np

from models.tmax_ar.fit import diagnostics_summary, save_idata


def test_diagnostics_for_every_parameter(tiny_fit, tmp_path: Path) -> None:
    diag = tiny_fit.diagnostics
    assert {"param", "r_hat", "ess_bulk", "ess_tail"} <= set(diag.columns)
    post = tiny_fit.idata.posterior
    n_scalar = sum(int(np.prod(post[v].shape[2:])) for v in post.data_vars)
    assert len(diag) == n_scalar
    assert np.isfinite(diag["r_hat"]).all() and np.isfinite(diag["ess_bulk"]).all()
    assert post.sizes["chain"] == 2
    summ = diagnostics_summary(diag, tiny_fit.n_divergent)
    assert set(summ) == {"max_r_hat", "min_ess_bulk", "n_divergent", "n_params"}
    path = save_idata(tiny_fit.idata, tmp_path / "post.nc")
    back = az.from_netcdf(str(path))
    assert "phi_coef" in back.posterior and "diverging" in back.sample_stats
