"""Run a sweep: plan it, resume it, execute it, keep every row.

A run that fails is recorded with its error and the sweep goes on; the
caller finds the failed points on the returned `SweepResult`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qsim.errors import QsimError
from qsim.scenario import Scenario, load_scenario
from qsim.sweeps.execute import execute
from qsim.sweeps.grid import RunSpec, SweepPlan, make_plan
from qsim.sweeps.result import SweepResult
from qsim.sweeps.store import RunStore
from qsim.sweeps.table import OK, run_rows, tidy

__all__ = ["SweepProgress", "sweep"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepProgress:
    """How far a sweep has got, counting only what this call runs."""

    points_done: int
    points_failed: int
    points_total: int
    runs_done: int
    runs_total: int


def sweep(
    scenario: Scenario | str | Path | Mapping[str, Any],
    vary: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    *,
    replications: int | None = None,
    zip: bool | None = None,
    seed: int | None = None,
    overrides: Mapping[str, Any] | list[str] | None = None,
    workers: int | None = None,
    executor: Any = None,
    out: str | Path | None = None,
    file_format: str = "csv",
    resume: bool = False,
    progress: Callable[[SweepProgress], None] | None = None,
) -> SweepResult:
    """Run every point of a grid `replications` times on both topologies.

    Args:
        scenario: a Scenario, file path, bundled name or dict.
        vary: `{"function.batch_size": [1, 10, 100]}` or `--vary` strings
            (`"function.batch_size=1,10,100"`); default: the scenario's
            `sweep:` block.
        replications: runs per point, each with its own seed.
        zip: pair the lists value by value instead of every combination.
        seed: the root seed (default: the scenario's).
        overrides: applied to the scenario before the grid, as `--set`.
        workers: local processes; None uses every core, 1 this process.
        executor: a `distributed.Client` (or its address, or anything
            with `submit`) to run on instead of local processes.
        out: a folder for `sweep.csv` (or `.parquet`) and `sweep.json`,
            written as runs finish.
        file_format: "csv" or "parquet".
        resume: keep the finished runs already in `out` and run the rest.
        progress: called after each run with a `SweepProgress`.

    Raises:
        ScenarioError: a bad grid or a point the scenario rejects.
        QsimError: the output cannot be resumed, or Dask is missing.
    """
    spec = load_scenario(scenario, overrides)
    plan = make_plan(spec, vary, zip=zip, replications=replications, seed=seed)
    store = RunStore(out, file_format) if out is not None else None
    kept, todo = _resume(store, plan) if resume and store else ([], plan.runs)
    log.info(
        "sweep %s: %d points x %d replications, %d runs to do",
        spec.name,
        len(plan.points),
        plan.replications,
        len(todo),
    )

    started = time.perf_counter()
    tracker = _Tracker(todo, progress)
    rows = _collect(
        plan, todo, kept, store, tracker=tracker, workers=workers, executor=executor
    )
    frame = tidy(rows, plan.points, plan.topologies)
    if store:
        store.finish(frame)
    path = store.path if store else None
    return SweepResult(frame, plan, path, time.perf_counter() - started)


def _collect(
    plan: SweepPlan,
    todo: list[RunSpec],
    kept: list[dict],
    store: RunStore | None,
    *,
    tracker: _Tracker,
    **where: Any,
) -> list[dict]:
    """Run `todo` where asked, saving each run's rows as it finishes."""
    rows = list(kept)
    if store:
        store.start(plan, rows)
    try:
        for run, outcome in execute(todo, plan.scenario, **where):
            new = run_rows(run, outcome, plan.topologies)
            rows += new
            if store:
                store.add(new)
            tracker.finished(run, "summaries" not in outcome)
    finally:
        if store:
            store.flush()
    return rows


def _resume(store: RunStore, plan: SweepPlan) -> tuple[list[dict], list[RunSpec]]:
    """Split the plan into runs already finished in the file and the rest."""
    previous = store.read()
    if previous is None:
        return [], plan.runs
    if not {"point", "replication", "run_hash", "status"} <= set(previous.columns):
        raise QsimError(f"{store.path}: not a sweep table; cannot resume from it")
    digests = {run.digest for run in plan.runs}
    foreign = int((~previous["run_hash"].isin(digests)).sum())
    if foreign:
        raise QsimError(
            f"{store.path}: {foreign} rows come from a different sweep (the scenario, "
            "grid or seed changed), so they cannot be resumed; choose another --out, "
            "or drop --resume to start over"
        )
    ok = previous[previous["status"] == OK]
    counts = ok.groupby(["point", "replication"]).size()
    complete = set(counts[counts == len(plan.topologies)].index)
    pairs = zip(ok["point"], ok["replication"], strict=True)
    kept = ok[[pair in complete for pair in pairs]]
    todo = [
        run for run in plan.runs if (run.point.index, run.replication) not in complete
    ]
    log.info(
        "resuming %s: %d runs kept, %d to run", store.path, len(complete), len(todo)
    )
    return kept.to_dict("records"), todo


class _Tracker:
    """Count finished runs into finished (and failed) points."""

    def __init__(
        self, runs: list[RunSpec], report: Callable[[SweepProgress], None] | None
    ) -> None:
        self._left: dict[int, int] = {}
        for run in runs:
            self._left[run.point.index] = self._left.get(run.point.index, 0) + 1
        self._failed: set[int] = set()
        self._report = report
        self._runs_total, self._runs_done, self._points_done = len(runs), 0, 0
        self._points_total = len(self._left)
        self._send()

    def finished(self, run: RunSpec, failed: bool) -> None:
        self._runs_done += 1
        self._left[run.point.index] -= 1
        if failed:
            self._failed.add(run.point.index)
        if self._left[run.point.index] == 0:
            self._points_done += 1
        self._send()

    def _send(self) -> None:
        if self._report:
            self._report(
                SweepProgress(
                    self._points_done,
                    len(self._failed),
                    self._points_total,
                    self._runs_done,
                    self._runs_total,
                )
            )
