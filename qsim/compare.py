"""Put the two topologies side by side: values, difference, the better one.

One list of verdict metrics serves the terminal table, the HTML report
and sweeps. Differences are always sync minus async.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["VERDICT_METRICS", "Metric", "lookup", "verdict"]


@dataclass(frozen=True)
class Metric:
    """A summary value, how to show it, and which direction is better."""

    key: str  # dotted path into a topology's summary
    label: str
    unit: str
    better: str  # "lower" or "higher"
    scale: float = 1.0  # shown value = stored value x scale


VERDICT_METRICS = (
    Metric("response_latency_ms.p50", "Response latency p50", "ms", "lower"),
    Metric("response_latency_ms.p95", "Response latency p95", "ms", "lower"),
    Metric("response_latency_ms.p99", "Response latency p99", "ms", "lower"),
    Metric("response_latency_ms.mean", "Response latency mean", "ms", "lower"),
    Metric("throughput_rps", "Throughput (work done)", "req/s", "higher"),
    Metric("availability", "Availability (user-facing)", "%", "higher", 100.0),
    Metric("cost_usd.total", "Cost, simulated window", "USD", "lower"),
    Metric("cost_usd.per_month.total", "Cost, per 30-day month", "USD", "lower"),
)


def lookup(summary: dict[str, Any], key: str) -> Any:
    """Return `summary[a][b]...` for key `a.b...`, or None if absent."""
    value: Any = summary
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def verdict(topologies: dict[str, dict]) -> list[dict[str, Any]]:
    """Return one row per verdict metric with both values and the winner."""
    rows = []
    for metric in VERDICT_METRICS:
        values = {
            name: _scaled(lookup(summary, metric.key), metric.scale)
            for name, summary in topologies.items()
        }
        sync, async_ = values.get("sync"), values.get("async")
        difference = better = None
        if sync is not None and async_ is not None:
            difference = sync - async_
            better = _better(sync, async_, metric.better)
        rows.append(
            {
                "metric": metric,
                "values": values,
                "difference": difference,
                "better": better,
            }
        )
    return rows


def _scaled(value: Any, scale: float) -> float | None:
    return None if value is None else float(value) * scale


def _better(sync: float, async_: float, direction: str) -> str:
    if abs(sync - async_) <= 1e-9 * max(abs(sync), abs(async_), 1e-12):
        return "tie"
    sync_wins = sync < async_ if direction == "lower" else sync > async_
    return "sync" if sync_wins else "async"
