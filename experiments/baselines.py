"""Experiment kind ``baselines``: the reference bracket PMFs every model must beat.

At each decision time ``t`` (local standard time) and for every event with a known outcome:

* ``market_last``: each bracket's last trade price strictly before ``t`` (1 cent if none),
  normalised over the ladder;
* ``market_vwap30``: each bracket's volume-weighted price of trades in ``[t - 30 min, t)``,
  falling back to its last trade before the window (1 cent if none), normalised;
* ``climatology``: a Gaussian-kernel density of the official highs of the same calendar month in
  *earlier* years at the same station (no look-ahead), summed over each bracket's integers;
* ``forecast_normal``: a Normal around the latest daily-high forecast issued before ``t``,
  discretised to whole °F (``P(T = n) = Phi((n + .5 - mu) / s) - Phi((n - .5 - mu) / s)``),
  with ``s`` fitted per decision time on the training split by maximum likelihood of the
  realised brackets (grid search).

Only data stamped before ``t`` is used (DESIGN 4); outcomes are read only as labels. The PMFs
are :mod:`models.baselines`, which every kind that scores a baseline imports.
"""

from __future__ import annotations

import pandas as pd

from kbayes.experiment.context import RunContext
from kbayes.experiment.registry import ExperimentKind, register_kind
from models.baselines import DEFAULTS, MODELS, baseline_forecasts


def run(ctx: RunContext) -> pd.DataFrame:
    """Forecast rows ``(model, decision_time, event_ticker, probs)`` for every baseline."""
    params = ctx.params
    unknown = sorted(set(params["models"]) - set(MODELS))
    if unknown:
        from kbayes.experiment.config import ConfigError

        raise ConfigError(f"params.models: unknown model(s) {unknown}; known: {list(MODELS)}")
    return baseline_forecasts(ctx, params)


KIND = register_kind(
    ExperimentKind(
        name="baselines",
        run=run,
        defaults=DEFAULTS,
        description="market last-trade and 30-min VWAP, climatology, Normal around the forecast",
    )
)
