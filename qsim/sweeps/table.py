"""The tidy table of a sweep: one row per point, replication and topology.

Columns, in order: the run's identity (point, replication, seed,
run_hash, topology), one column per varied key, status and error, then
one column per summary metric under its dotted name, sorted by name.
The order of rows and columns depends only on what was run, never on
which worker finished first, so two sweeps of the same grid compare
equal cell by cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from qsim.sweeps.grid import Point, RunSpec

__all__ = ["ID_COLUMNS", "metric_columns", "run_rows", "tidy"]

ID_COLUMNS = ("point", "replication", "seed", "run_hash", "topology")
STATUS_COLUMNS = ("status", "error")
OK, FAILED = "ok", "failed"


def run_rows(
    run: RunSpec, outcome: dict[str, Any], topologies: Sequence[str]
) -> list[dict[str, Any]]:
    """Return the rows of one finished run, one per topology.

    A failed run still gets a row per topology, holding its error and no
    metrics, so the table shows what is missing and why.
    """
    identity = {
        "point": run.point.index,
        "replication": run.replication,
        "seed": run.seed,
        "run_hash": run.digest,
    }
    summaries = outcome.get("summaries")
    if summaries is None:
        status = {"status": FAILED, "error": outcome.get("error") or "unknown error"}
        return [
            {**identity, "topology": name, **run.point.labels, **status}
            for name in topologies
        ]
    return [
        {
            **identity,
            "topology": name,
            **run.point.labels,
            "status": OK,
            "error": "",
            **metrics,
        }
        for name, metrics in summaries.items()
    ]


def tidy(
    rows: list[dict[str, Any]], points: Sequence[Point], topologies: Sequence[str]
) -> pd.DataFrame:
    """Return the rows as the canonical table (see the module docstring)."""
    keys = list(points[0].labels) if points else []
    frame = (
        pd.DataFrame.from_records(rows)
        if rows
        else pd.DataFrame(columns=[*ID_COLUMNS, *keys, *STATUS_COLUMNS])
    )
    frame = frame.drop(columns=[k for k in keys if k in frame.columns])
    labels = pd.DataFrame([{"point": p.index, **p.labels} for p in points])
    if keys:
        frame = frame.merge(labels, on="point", how="left")
    order = {name: i for i, name in enumerate(topologies)}
    frame = (
        frame.assign(_order=frame["topology"].map(order))
        .sort_values(["point", "replication", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    frame["error"] = frame["error"].fillna("").astype(str)
    fixed = [*ID_COLUMNS, *keys, *STATUS_COLUMNS]
    return frame[fixed + sorted(c for c in frame.columns if c not in fixed)]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """Return the metric columns of a sweep table (all but identity)."""
    start = list(frame.columns).index("error") + 1
    return list(frame.columns[start:])
