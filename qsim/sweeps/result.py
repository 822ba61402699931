"""The outcome of a sweep: the tidy table, its statistics and pictures."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qsim.sweeps import stats
from qsim.sweeps.grid import Point, SweepPlan
from qsim.sweeps.table import FAILED, metric_columns

__all__ = ["SweepResult"]


class SweepResult:
    """A finished sweep: one row per point, replication and topology.

    `runs` is the tidy table (see `qsim.sweeps.table`); `aggregate()` and
    `differences()` reduce it to means with confidence intervals.
    """

    def __init__(
        self, runs: pd.DataFrame, plan: SweepPlan, path: Path | None, wall_time_s: float
    ) -> None:
        self.runs = runs
        self.plan = plan
        self.path = path
        self.wall_time_s = wall_time_s

    @property
    def keys(self) -> list[str]:
        """The varied keys."""
        return self.plan.keys

    @property
    def metrics(self) -> list[str]:
        """Every metric column of `runs`."""
        return metric_columns(self.runs)

    @property
    def points(self) -> pd.DataFrame:
        """One row per point: its values, runs done and runs failed."""
        frame = pd.DataFrame([{"point": p.index, **p.labels} for p in self.plan.points])
        per_run = self.runs.drop_duplicates(["point", "replication"])
        failed = per_run[per_run["status"] == FAILED].groupby("point").size()
        done = per_run.groupby("point").size()
        frame["runs"] = frame["point"].map(done).fillna(0).astype(int)
        frame["failed"] = frame["point"].map(failed).fillna(0).astype(int)
        return frame

    @property
    def failures(self) -> pd.DataFrame:
        """One row per failed run: point, replication, seed and error."""
        failed = self.runs[self.runs["status"] == FAILED]
        columns = ["point", "replication", "seed", *self.keys, "error"]
        return failed.drop_duplicates(["point", "replication"])[columns].reset_index(
            drop=True
        )

    @property
    def failed_points(self) -> list[Point]:
        """The points with at least one failed run."""
        indices = set(self.failures["point"])
        return [point for point in self.plan.points if point.index in indices]

    @property
    def ok(self) -> bool:
        """True when every run succeeded."""
        return not (self.runs["status"] == FAILED).any()

    def aggregate(
        self, metrics: Sequence[str] | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        """Return each metric's mean and confidence interval per point and topology.

        Columns: point, the varied keys, topology, metric, n (successful
        replications), mean, std, ci_low and ci_high (Student t at `level`).
        """
        metrics = self.check_metrics(metrics)
        table = stats.aggregate(self.runs, metrics, self.plan.topologies, level)
        return self._with_labels(table)

    def differences(
        self, metrics: Sequence[str] | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        """Return the sync − async difference per point and metric, paired.

        Each replication's two topologies share its seed, hence its
        arrivals, so the interval is taken over the per-replication
        differences. Columns as `aggregate` without topology.
        """
        metrics = self.check_metrics(metrics)
        return self._with_labels(stats.differences(self.runs, metrics, level))

    def check_metrics(self, metrics: Sequence[str] | None) -> list[str]:
        """Return `metrics` (default: all), or raise naming an unknown one."""
        known = self.metrics
        if metrics is None:
            return known
        for name in metrics:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"no metric {name!r} in this sweep{hint}")
        return list(metrics)

    def plot(
        self,
        metric: str,
        key: str | None = None,
        *,
        ax: Any = None,
        level: float = 0.95,
    ) -> Any:
        """Draw `metric` against a varied key, sync and async, with CI bands."""
        from qsim.sweeps.figures import plot_metric

        return plot_metric(self, metric, key, ax=ax, level=level)

    def heatmap(self, metric: str, topology: str = "async", *, ax: Any = None) -> Any:
        """Draw a two-key grid's means of `metric` as a heatmap.

        `topology` is "sync", "async" or "difference" (sync − async).
        """
        from qsim.sweeps.figures import plot_heatmap

        return plot_heatmap(self, metric, topology, ax=ax)

    def write_report(
        self, folder: str | Path, metrics: Sequence[str] | None = None
    ) -> Path:
        """Write `sweep.html` into `folder` and return its path."""
        from qsim.sweeps.report import write_report

        return write_report(self, folder, metrics)

    def _with_labels(self, table: pd.DataFrame) -> pd.DataFrame:
        if not self.keys:
            return table
        labels = pd.DataFrame(
            [{"point": p.index, **p.labels} for p in self.plan.points]
        )
        table = table.merge(labels, on="point", how="left")
        first = ["point", *self.keys]
        return table[first + [c for c in table.columns if c not in first]]

    def __repr__(self) -> str:
        return (
            f"<SweepResult {self.plan.scenario.get('name')!r}: "
            f"{len(self.plan.points)} points x {self.plan.replications} "
            f"replications, {len(self.failures)} failed runs>"
        )
