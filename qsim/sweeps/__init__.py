"""Parameter sweeps: a grid of overrides, replicated, on every core or Dask.

    >>> import qsim
    >>> result = qsim.sweep("steady", {"function.batch_size": [1, 10]},
    ...                     replications=5)
    >>> result.aggregate(["response_latency_ms.p99"])
    >>> result.differences(["cost_usd.per_month.total"])

Modules: `grid` (points, runs and seeds), `execute` (where runs run),
`worker` (what a run does), `table` (the tidy rows), `store` (files and
resuming), `stats` (confidence intervals), `runner` (the sweep itself),
`result`, `figures` and `report`.
"""

from qsim.sweeps.grid import Point, expand_grid, parse_vary
from qsim.sweeps.result import SweepResult
from qsim.sweeps.runner import SweepProgress, sweep

__all__ = [
    "Point",
    "SweepProgress",
    "SweepResult",
    "expand_grid",
    "parse_vary",
    "sweep",
]
