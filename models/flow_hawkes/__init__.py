"""Order-flow Hawkes model of a bracket ladder (DESIGN.md section 3.3).

Dimensions are taker buys and taker sells of YES per bracket (``dim = 2 k + side``, from the
trade tape's ``taker_side``), time in minutes from the markets' open, a local hour-of-day
baseline, and a structured branching matrix (self, opposite side, neighbouring brackets) fitted
with :mod:`kbayes.pointprocess`, per event-day or pooled over days with shared parameters
(:func:`kbayes.pointprocess.fit_pooled`: the exact sum of per-day log-likelihoods; one day
is the per-day fit).

Typical use::

    days = load_flow_days(store, events)                   # one FlowDay per event
    structure = bracket_structure(6, neighbours="both")
    pooled = fit_pooled([d.events for d in days], [d.grid for d in days],
                        alpha_structure=structure)
    role_sums(pooled.params.alpha, 6)                      # self vs neighbour offspring
"""

from models.flow_hawkes.dims import (
    BUY,
    SELL,
    SIDES,
    bracket_and_side,
    dim_labels,
    flow_dim,
    side_codes,
)
from models.flow_hawkes.events import (
    DEFAULT_HOUR_EDGES,
    FlowDay,
    flow_events,
    load_flow_days,
    lst_hour,
)
from models.flow_hawkes.summary import (
    ROLES,
    day_params,
    ks_by_dim,
    poisson_log_likelihood,
    pooled_ks,
    residuals_by_dim,
    role_matrix,
    role_means,
    role_sums,
)

__all__ = [
    "BUY",
    "DEFAULT_HOUR_EDGES",
    "ROLES",
    "SELL",
    "SIDES",
    "FlowDay",
    "bracket_and_side",
    "day_params",
    "dim_labels",
    "flow_dim",
    "flow_events",
    "ks_by_dim",
    "load_flow_days",
    "lst_hour",
    "poisson_log_likelihood",
    "pooled_ks",
    "residuals_by_dim",
    "role_matrix",
    "role_means",
    "role_sums",
    "side_codes",
]
