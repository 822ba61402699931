"""Terminal output of `qsim sweep`: the progress bar and the closing table.

Only the command line uses this module; the library never prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from qsim.sweeps.figures import metric_label, metric_scale
from qsim.sweeps.runner import SweepProgress
from qsim.sweeps.stats import format_interval

__all__ = ["HEADLINE_METRIC", "print_sweep", "sweep_progress"]

HEADLINE_METRIC = "response_latency_ms.p99"
MAX_ROWS = 20


@contextlib.contextmanager
def sweep_progress(
    console: Console,
) -> Iterator[Callable[[SweepProgress], None] | None]:
    """Yield a progress callback drawing a bar, or None off a terminal.

    The bar refreshes only when a run finishes, so it runs no thread of
    its own and the worker processes can be forked safely.
    """
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("[bold]points"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
    )
    task = bar.add_task("sweep", total=None, failed=0)

    def update(state: SweepProgress) -> None:
        bar.update(
            task,
            total=state.points_total,
            completed=state.points_done,
            failed=state.points_failed,
            refresh=True,
        )

    with bar:
        yield update


def print_sweep(result: Any, console: Console) -> None:
    """Print the headline metric per point: sync, async, paired difference."""
    metric = HEADLINE_METRIC if HEADLINE_METRIC in result.metrics else None
    plan = result.plan
    title = (
        f"{plan.scenario.get('name')}: {len(plan.points)} points x "
        f"{plan.replications} replications, root seed {plan.root_seed}"
    )
    if metric is None:
        console.print(title)
        return
    table = Table(title=f"{title}\n{metric_label(metric)}, mean ± 95% CI")
    for column in ["point", *result.keys, *plan.topologies]:
        table.add_column(column, justify="right")
    paired = len(plan.topologies) == 2
    if paired:
        table.add_column("sync − async", justify="right")
    for row in _rows(result, metric, paired)[:MAX_ROWS]:
        table.add_row(*row)
    console.print(table)
    if len(plan.points) > MAX_ROWS:
        console.print(f"... {len(plan.points) - MAX_ROWS} more points in the report")


def _rows(result: Any, metric: str, paired: bool) -> list[list[str]]:
    means = result.aggregate([metric]).set_index(["point", "topology"])
    differences = result.differences([metric]).set_index("point")
    scale = metric_scale(metric)
    rows = []
    for point in result.plan.points:
        cells = [str(point.index), *(str(v) for v in point.labels.values())]
        cells += [
            _cell(means, (point.index, name), scale) for name in result.plan.topologies
        ]
        if paired:
            cells.append(_cell(differences, point.index, scale))
        rows.append(cells)
    return rows


def _cell(frame: Any, where: Any, scale: float) -> str:
    if where not in frame.index:
        return "failed"
    return format_interval(frame.loc[where], scale)
