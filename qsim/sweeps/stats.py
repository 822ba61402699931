"""Means and Student-t confidence intervals over a sweep's replications.

Each replication of a point is an independent run, so a point's mean
over R replications has the interval mean ± t(R-1) · s / √R. The
difference between topologies is paired: both topologies of one
replication see the same arrivals (same seed), so the interval is taken
over the R per-replication differences, which is much narrower than
comparing two independent means. Failed runs are left out; a point with
one good run has a mean but no interval (NaN bounds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from qsim.sweeps.table import OK

__all__ = ["STAT_COLUMNS", "aggregate", "differences", "format_interval", "interval"]

STAT_COLUMNS = ["n", "mean", "std", "ci_low", "ci_high"]


def interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Return the Student-t confidence interval of the mean of `values`."""
    sample = np.asarray(values, dtype=float)
    n = len(sample)
    if n < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf((1 + level) / 2, n - 1) * sample.std(ddof=1) / np.sqrt(n)
    mean = sample.mean()
    return (float(mean - half), float(mean + half))


def aggregate(
    runs: pd.DataFrame,
    metrics: Sequence[str],
    topologies: Sequence[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """Return n, mean, std and interval per point, topology and metric."""
    ok = runs[runs["status"] == OK]
    long = ok.melt(
        id_vars=["point", "topology"],
        value_vars=list(metrics),
        var_name="metric",
        value_name="value",
    )
    table = _summarise(long, ["point", "topology", "metric"], level)
    return _ordered(table, metrics, topologies)


def differences(
    runs: pd.DataFrame, metrics: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Return the paired sync − async difference per point and metric."""
    ok = runs[runs["status"] == OK].set_index(["point", "replication"])
    by_topology = {
        name: ok[ok["topology"] == name][list(metrics)] for name in ("sync", "async")
    }
    paired = by_topology["sync"].sub(by_topology["async"])
    long = paired.reset_index().melt(
        id_vars=["point", "replication"],
        value_vars=list(metrics),
        var_name="metric",
        value_name="value",
    )
    return _ordered(_summarise(long, ["point", "metric"], level), metrics, ())


def _summarise(long: pd.DataFrame, by: list[str], level: float) -> pd.DataFrame:
    long = long.assign(value=pd.to_numeric(long["value"], errors="coerce"))
    long = long.dropna(subset=["value"])
    table = long.groupby(by, sort=False)["value"].agg(["count", "mean", "std"])
    table = table.rename(columns={"count": "n"}).reset_index()
    degrees = (table["n"] - 1).where(table["n"] > 1)
    half = stats.t.ppf((1 + level) / 2, degrees) * table["std"] / np.sqrt(table["n"])
    return table.assign(ci_low=table["mean"] - half, ci_high=table["mean"] + half)


def _ordered(
    table: pd.DataFrame, metrics: Sequence[str], topologies: Sequence[str]
) -> pd.DataFrame:
    """Sort by point, then topology and metric in the order asked for."""
    keys = [table["point"], table["metric"].map({m: i for i, m in enumerate(metrics)})]
    columns = ["point", "metric"]
    if topologies:
        keys.insert(1, table["topology"].map({t: i for i, t in enumerate(topologies)}))
        columns.insert(1, "topology")
    order = np.lexsort([key.to_numpy() for key in reversed(keys)])
    table = table.iloc[order].reset_index(drop=True)
    return table[columns + STAT_COLUMNS]


def format_interval(row: pd.Series, scale: float = 1.0) -> str:
    """Return a statistics row as `412 ± 92` (just the mean without an interval)."""
    mean = row["mean"] * scale
    half = (row["ci_high"] - row["ci_low"]) * scale / 2
    if math.isnan(half):
        return _number(mean)
    return f"{_number(mean)} ± {_number(half)}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
