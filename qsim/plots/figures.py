"""The report's figures: each draws one Axes from a Result and returns it.

Time figures share the x axis (simulated time) and put both topologies
on the same axes where both apply; the queue and Lambda figures say so
on the plot when the run had no async topology.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.lines import Line2D

from qsim.plots._common import (
    COLORS,
    DASHED,
    DOTTED,
    LABELS,
    OKABE_ITO,
    Trace,
    all_series,
    axes_for,
    draw,
    floor_at_zero,
    legend,
    no_async,
    note,
    series,
    shade_outages,
    time_axes,
    title,
    topologies,
    twin,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from qsim.results import Result

__all__ = [
    "plot_availability",
    "plot_concurrency",
    "plot_cost",
    "plot_errors",
    "plot_latency",
    "plot_queue",
    "plot_throughput",
]

ARRIVALS = Trace("arrivals", "arrivals", COLORS["arrivals"], DASHED, 1.2)
COMPLETED = {
    "sync": Trace("succeeded", f"{LABELS['sync']}: answered OK", COLORS["sync"]),
    "async": Trace(
        "processed", f"{LABELS['async']}: messages processed", COLORS["async"]
    ),
}


def plot_throughput(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw requests arriving and work completed per second, per topology.

    Sync completes a request when B answers it; async when Lambda has
    processed its message, which can be long after the user's answer.
    """
    ax = axes_for(ax)
    scale = time_axes(ax, result, "Arrivals and completed work", "rate (req/s)")
    shade_outages(ax, result, scale)
    frames = all_series(result)
    if not frames:
        note(ax, "This result holds no time series.")
        return ax

    draw(ax, scale, next(iter(frames.values())), ARRIVALS)
    for name, frame in frames.items():
        draw(ax, scale, frame, COMPLETED[name])
    floor_at_zero(ax)
    legend(ax)
    return ax


LATENCY_KINDS = (
    ("sync", "response", COLORS["sync"], "sync: response"),
    ("async", "response", COLORS["async"], "async: response"),
    ("async", "end_to_end", COLORS["end_to_end"], "async: end to end"),
)
PERCENTILES = (("p50_ms", "-", "p50"), ("p95_ms", "--", "p95"), ("p99_ms", ":", "p99"))


def plot_latency(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw p50/p95/p99 of response and end-to-end latency over time.

    Response latency is what the user waits for; end to end (async only)
    runs from the request to Lambda finishing its message. Log scale.
    """
    ax = axes_for(ax)
    scale = time_axes(ax, result, "Latency percentiles", "latency (ms, log scale)")
    latency = result.latency
    handles = []
    for topology, kind, color, label in LATENCY_KINDS:
        rows = latency[(latency["topology"] == topology) & (latency["kind"] == kind)]
        if rows.empty or rows["count"].sum() == 0:
            continue
        draw(ax, scale, rows, *(Trace(c, "", color, s, 1.3) for c, s, _ in PERCENTILES))
        handles.append(Line2D([], [], color=color, label=label))

    if handles:
        ax.set_yscale("log")
    handles += [
        Line2D([], [], color="#444444", linestyle=s, label=name)
        for _, s, name in PERCENTILES
    ]
    legend(ax, handles=handles)
    return ax


QUEUE_LEVELS = (
    Trace("visible", "visible", OKABE_ITO["blue"]),
    Trace("in_flight", "in flight", OKABE_ITO["sky_blue"]),
    Trace("delayed", "delayed", OKABE_ITO["purple"]),
)
OLDEST_AGE = Trace("oldest_age_s", "age of oldest message", OKABE_ITO["orange"], DASHED)


def plot_queue(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw the queue's depth (visible, in flight, delayed) and oldest age."""
    ax = axes_for(ax)
    scale = time_axes(
        ax,
        result,
        "Queue depth and age of the oldest message",
        "queue depth (messages)",
    )
    frame = series(result, "async")
    if frame is None:
        return no_async(ax, "there is no queue to show")

    shade_outages(ax, result, scale)
    draw(ax, scale, frame, *QUEUE_LEVELS)
    right = twin(ax, "age of oldest message (s)", OLDEST_AGE.color)
    draw(right, scale, frame, OLDEST_AGE)
    floor_at_zero(ax, right)
    legend(ax, right)
    return ax


SCALER = (
    Trace("scaler_limit", "scaler's limit (pollers)", OKABE_ITO["orange"], width=2.0),
    Trace("concurrency", "concurrency (peak)", OKABE_ITO["blue"]),
)
COLD_STARTS_AND_THROTTLES = (
    Trace("cold_starts", "cold starts", OKABE_ITO["green"], width=1.0),
    Trace("throttles", "throttles", OKABE_ITO["purple"], DOTTED, 1.0),
)


def _concurrency_caps(ax: Axes, result: Result) -> None:
    function = result.scenario.function
    for value, key, style in (
        (function.maximum_concurrency, "maximum_concurrency", "--"),
        (function.reserved_concurrency, "reserved_concurrency", ":"),
    ):
        if value:
            ax.axhline(
                value,
                color=OKABE_ITO["black"],
                linestyle=style,
                linewidth=1.0,
                label=f"{key} ({value})",
            )


def plot_concurrency(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw Lambda's concurrency against the scaler's limit.

    The right axis shows cold starts and throttled invocations per second.
    """
    ax = axes_for(ax)
    scale = time_axes(
        ax,
        result,
        "Lambda concurrency and the scaler's limit",
        "concurrency (invocations)",
    )
    frame = series(result, "async")
    if frame is None:
        return no_async(ax, "Lambda never runs")

    draw(ax, scale, frame, *SCALER)
    _concurrency_caps(ax, result)
    right = twin(ax, "cold starts, throttles (per s)", OKABE_ITO["green"])
    draw(right, scale, frame, *COLD_STARTS_AND_THROTTLES)
    floor_at_zero(ax, right)
    legend(ax, right)
    return ax


FAILURES = {
    "sync": (Trace("failed", "sync: failed requests", COLORS["sync"]),),
    "async": (
        Trace("failed", "async: failed requests", COLORS["async"]),
        Trace("errors", "Lambda invocation errors", OKABE_ITO["sky_blue"], "--"),
        Trace("message_failures", "failed messages (retried)", OKABE_ITO["orange"]),
        Trace("redeliveries", "retries (redeliveries)", OKABE_ITO["green"], ":"),
        Trace("dead_lettered", "moved to the DLQ", OKABE_ITO["purple"]),
    ),
}
DLQ_SIZE = Trace("dlq_size", "DLQ size", OKABE_ITO["black"], DASHED, 1.0)


def plot_errors(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw failed requests, Lambda errors, retried messages and the DLQ.

    Rates on the left axis; the dead-letter queue's size on the right.
    """
    ax = axes_for(ax)
    scale = time_axes(
        ax, result, "Errors, retries and the dead-letter queue", "rate (per s)"
    )
    shade_outages(ax, result, scale)
    frames = all_series(result)
    for name, frame in frames.items():
        draw(ax, scale, frame, *FAILURES[name])

    axes = [ax]
    dlq = frames.get("async")
    if dlq is not None and DLQ_SIZE.column in dlq and dlq[DLQ_SIZE.column].any():
        axes.append(twin(ax, "DLQ size (messages)", DLQ_SIZE.color))
        draw(axes[-1], scale, dlq, DLQ_SIZE)
    if not any(line.get_ydata().any() for a in axes for line in a.get_lines()):
        note(ax, "No failures, retries or dead-lettered messages in this run.")
    floor_at_zero(*axes)
    legend(ax, *axes[1:])
    return ax


def plot_availability(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw the share of answered requests that succeeded, over time.

    Outage windows of every component are shaded.
    """
    ax = axes_for(ax)
    scale = time_axes(ax, result, "Availability seen by users", "availability (%)")
    shade_outages(ax, result, scale)
    for name, frame in all_series(result).items():
        answered = frame["succeeded"] + frame["failed"]
        frame["availability"] = 100 * frame["succeeded"] / answered.where(answered > 0)
        draw(ax, scale, frame, Trace("availability", LABELS[name], COLORS[name]))

    ax.set_ylim(-3, 106)
    ax.set_yticks(range(0, 101, 20))
    legend(ax)
    return ax


COST_PARTS = (
    ("frontend_instances", "service A instances", OKABE_ITO["yellow"]),
    ("backend_instances", "service B instances", OKABE_ITO["vermillion"]),
    ("sqs_requests", "SQS requests", OKABE_ITO["sky_blue"]),
    ("lambda_requests", "Lambda requests", OKABE_ITO["purple"]),
    ("lambda_duration", "Lambda duration (GB-s)", OKABE_ITO["blue"]),
)


def plot_cost(result: Result, *, ax: Axes | None = None) -> Axes:
    """Draw each topology's bill by part, per 30-day month, as stacked bars."""
    ax = axes_for(ax)
    names = topologies(result)
    monthly = {n: result.topologies[n]["cost_usd"]["per_month"] for n in names}
    title(ax, "Cost breakdown")
    ax.set_xlabel("cost per 30-day month (USD)")

    left = np.zeros(len(names))
    for key, label, color in COST_PARTS:
        values = np.array([monthly[n].get(key) or 0.0 for n in names])
        if values.any():
            ax.barh(names, values, left=left, color=color, label=label, height=0.5)
            left += values
    for row, name in enumerate(names):
        total = f" ${monthly[name]['total']:,.2f}"
        ax.annotate(total, (left[row], row), va="center", fontsize="small")

    ax.set_yticks(range(len(names)), [LABELS[n] for n in names])
    ax.invert_yaxis()  # sync on top, as in the verdict table
    ax.set_xlim(0, max(left.max(initial=0.0), 1e-9) * 1.18)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    legend(ax)
    return ax
