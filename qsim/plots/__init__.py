"""Figures of a run, one function per figure of the HTML report.

`plot_<name>(result, *, ax=None)` draws one figure into `ax` (a new
pyplot figure when None) and returns the Axes, so a notebook user can
restyle it; the report renders the very same functions on Agg-backed
figures. `plot(result, name)` picks one by name, and `FIGURES` holds
each figure's title, caption and alt text in report order. Colours
follow the Okabe-Ito palette, which stays distinct for colour-blind
readers: sync is vermillion, async blue, wherever they appear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qsim.plots._common import COLORS, FIGSIZE, LABELS, OKABE_ITO
from qsim.plots.figures import (
    plot_availability,
    plot_concurrency,
    plot_cost,
    plot_errors,
    plot_latency,
    plot_queue,
    plot_throughput,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from qsim.results import Result

__all__ = [
    "COLORS",
    "FIGSIZE",
    "FIGURES",
    "KEY_FIGURE",
    "LABELS",
    "OKABE_ITO",
    "FigureSpec",
    "plot",
    "plot_availability",
    "plot_concurrency",
    "plot_cost",
    "plot_errors",
    "plot_latency",
    "plot_queue",
    "plot_throughput",
]


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the report: how to draw it and how to describe it."""

    name: str
    draw: Callable[..., Axes]
    title: str
    caption: str
    alt: str


_SPECS = (
    FigureSpec(
        "throughput",
        plot_throughput,
        "Arrivals and completed work",
        "Requests arriving per second (dashed) and work completed per second: "
        "requests answered successfully by the synchronous chain, messages "
        "processed by Lambda. Async work below arrivals is a backlog building; "
        "above arrivals, that backlog draining.",
        "Line chart over simulated time of arrivals per second and completed "
        "work per second for each topology.",
    ),
    FigureSpec(
        "latency",
        plot_latency,
        "Latency percentiles over time",
        "p50 (solid), p95 (dashed) and p99 (dotted) latency per time bin, on a "
        "log scale. Response latency is what the user waits for; end-to-end "
        "latency (async only) runs from the request until Lambda has finished "
        "its message.",
        "Line chart over simulated time of response latency percentiles for "
        "each topology and end-to-end latency percentiles for async, log scale.",
    ),
    FigureSpec(
        "queue",
        plot_queue,
        "Queue depth and age of the oldest message",
        "Messages waiting to be received (visible), received and not yet "
        "deleted (in flight) and delayed, with the age of the oldest message "
        "on the right axis.",
        "Line chart over simulated time of visible, in-flight and delayed "
        "messages, with the age of the oldest message in seconds.",
    ),
    FigureSpec(
        "concurrency",
        plot_concurrency,
        "Lambda concurrency and the scaler",
        "Peak concurrent invocations per time bin against the limit the event "
        "source mapping's scaler allows, with cold starts and throttled "
        "invocations per second on the right axis.",
        "Line chart over simulated time of Lambda concurrency and the "
        "scaler's limit, with cold starts and throttles per second.",
    ),
    FigureSpec(
        "errors",
        plot_errors,
        "Errors, retries and the dead-letter queue",
        "Failed user requests per second for each topology, Lambda invocation "
        "errors, failed messages that go back to the queue to be retried, and "
        "messages moved to the dead-letter queue; the DLQ's size is on the "
        "right axis when it holds any.",
        "Line chart over simulated time of failure rates per second and the "
        "size of the dead-letter queue.",
    ),
    FigureSpec(
        "availability",
        plot_availability,
        "Availability over time",
        "Share of answered user requests that succeeded in each time bin. "
        "Shaded bands are windows when a component was down (very short ones "
        "are widened to stay visible).",
        "Line chart over simulated time of the percentage of successful "
        "requests for each topology, with outage windows shaded.",
    ),
    FigureSpec(
        "cost",
        plot_cost,
        "Cost breakdown",
        "Each topology's bill by part, extrapolated from the simulated window "
        "to a 30-day month at the scenario's unit prices.",
        "Horizontal stacked bar chart of monthly cost in USD by part for each "
        "topology.",
    ),
)
FIGURES: dict[str, FigureSpec] = {spec.name: spec for spec in _SPECS}
"""The report's figures by name, in report order."""

KEY_FIGURE = "throughput"
"""The figure a result shows in a notebook beside its verdict table."""


def plot(result: Result, name: str, *, ax: Axes | None = None) -> Axes:
    """Draw the report's figure called `name` (see `FIGURES`) and return it.

    Raises:
        ValueError: `name` is not a figure of the report; the message
            lists the names that are.
    """
    spec = FIGURES.get(name)
    if spec is None:
        valid = ", ".join(FIGURES)
        raise ValueError(f"unknown figure {name!r}; choose one of: {valid}")
    return spec.draw(result, ax=ax)
