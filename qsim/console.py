"""Terminal output of `qsim`: summary tables and the progress bar (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from qsim.compare import lookup, verdict

__all__ = ["print_summary", "progress_bar"]

_ASYNC_DETAILS = (
    ("messages_sent", "Messages sent"),
    ("processed", "Processed"),
    ("dead_lettered", "Dead-lettered"),
    ("expired", "Expired"),
    ("in_queue_at_end", "Still in the queue at the end"),
    ("duplicate_deliveries", "Duplicate deliveries (apart)"),
    ("invocations", "Invocations"),
    ("errors", "Failed invocations"),
    ("throttles", "Throttles"),
    ("cold_starts", "Cold starts"),
    ("max_concurrency", "Peak concurrency"),
    ("end_to_end_latency_ms.p50", "End-to-end latency p50 (ms)"),
    ("end_to_end_latency_ms.p99", "End-to-end latency p99 (ms)"),
    ("api_calls.billable", "Billable SQS requests"),
)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if unit == "USD":
        return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.0f}"
    if unit == "%":
        return f"{value:.3f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.3g}"


def print_summary(result, console: Console, folder: str | None = None) -> None:
    """Print the verdict table (and the async details) for a result."""
    names = list(result.topologies)
    table = Table(
        title=f"{result.scenario.name}: seed {result.seed}, "
        f"{result.scenario.duration:g} s simulated"
    )
    table.add_column("Metric")
    for name in names:
        table.add_column(name, justify="right")
    if len(names) == 2:
        table.add_column("sync − async", justify="right")
        table.add_column("better")
    for row in verdict(result.topologies):
        metric = row["metric"]
        cells = [_fmt(row["values"].get(name), metric.unit) for name in names]
        if len(names) == 2:
            cells += [_fmt(row["difference"], metric.unit), row["better"] or "-"]
        table.add_row(f"{metric.label} ({metric.unit})", *cells)
    console.print(table)
    summary = result.topologies.get("async")
    if summary is not None:
        details = Table(title="async: what happened to the messages")
        details.add_column("Metric")
        details.add_column("value", justify="right")
        for key, label in _ASYNC_DETAILS:
            details.add_row(label, _fmt(lookup(summary, key)))
        balanced = summary["conservation"]["balanced"]
        details.add_row("Every message accounted for", _fmt(balanced))
        console.print(details)
    for line in result.warnings:
        console.print(f"[yellow]warning:[/] {line}")
    if folder:
        console.print(f"results written to {folder}")


def progress_bar(console: Console) -> Progress:
    """Return a progress bar over simulated seconds (not yet started)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} s simulated"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
