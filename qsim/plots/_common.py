"""What every figure shares: palette, time axis, merged series, helpers.

Time series arrive in bins of the run's interval; a figure merges them
into at most `MAX_POINTS` points per line. Counters are summed and shown
per second; levels and peaks keep each merged bin's highest value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from qsim.results import Result

__all__ = [
    "COLORS",
    "FIGSIZE",
    "LABELS",
    "OKABE_ITO",
    "TimeScale",
    "Trace",
    "all_series",
    "axes_for",
    "draw",
    "floor_at_zero",
    "legend",
    "no_async",
    "note",
    "series",
    "shade_outages",
    "time_axes",
    "title",
    "topologies",
    "twin",
]

MAX_POINTS = 400
FIGSIZE = (9.0, 3.8)

# Okabe & Ito (2008), "Color Universal Design": distinct for colour-blind readers.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
COLORS = {
    "sync": OKABE_ITO["vermillion"],
    "async": OKABE_ITO["blue"],
    "end_to_end": OKABE_ITO["green"],
    "arrivals": "#555555",
    "outage": "#999999",
}
# Outage bands: a pale colour and a hatch per component (prints in grey).
OUTAGE_STYLES = {
    "frontend": (OKABE_ITO["yellow"], "\\\\"),
    "backend": (COLORS["outage"], "//"),
    "queue": (OKABE_ITO["sky_blue"], "xx"),
    "function": (OKABE_ITO["purple"], ".."),
}
LABELS = {"sync": "sync (A → B)", "async": "async (SQS + Lambda)"}

# Columns holding events per bin; every other column is a level or a peak.
COUNTERS = frozenset(
    "arrivals succeeded failed sent received processed api_calls empty_receives "
    "dead_lettered expired invocations errors throttles message_failures "
    "cold_starts duplicate_deliveries redeliveries".split()
)
DASHED = (0, (4, 2))
DOTTED = (0, (1, 1))


@dataclass(frozen=True)
class Trace:
    """One line of a figure: a column of the series and how to draw it."""

    column: str
    label: str
    color: str
    style: str | tuple = "-"
    width: float = 1.4


# --- data -------------------------------------------------------------------


def topologies(result: Result) -> list[str]:
    """Return the run's topologies in column order (sync first)."""
    return [name for name in ("sync", "async") if name in result.topologies]


def series(result: Result, topology: str) -> pd.DataFrame | None:
    """Return one topology's time series merged to at most MAX_POINTS rows.

    Counters become rates per second; levels keep their highest value.
    None when the run has no such topology.
    """
    frame = result.timeseries
    if frame.empty or topology not in set(frame["topology"]):
        return None
    frame = frame[frame["topology"] == topology].drop(columns="topology")
    frame = frame.dropna(axis=1, how="all").reset_index(drop=True)
    width_s = _bin_width_s(frame["time_s"].to_numpy(), result.scenario.duration)

    groups = np.arange(len(frame)) // max(1, math.ceil(len(frame) / MAX_POINTS))
    how = {c: "sum" if c in COUNTERS else "max" for c in frame.columns}
    how["time_s"] = "min"
    merged = frame.groupby(groups).agg(how)
    counters = [c for c in merged.columns if c in COUNTERS]
    seconds = frame.groupby(groups).size() * width_s
    merged[counters] = merged[counters].div(seconds, axis=0)
    return merged


def all_series(result: Result) -> dict[str, pd.DataFrame]:
    """Return `series` of every topology the run recorded, sync first."""
    frames = {name: series(result, name) for name in topologies(result)}
    return {name: frame for name, frame in frames.items() if frame is not None}


def _bin_width_s(times_s: np.ndarray, duration_s: float) -> float:
    if len(times_s) > 1:
        return float(np.min(np.diff(times_s)))
    return float(duration_s)


@dataclass(frozen=True)
class TimeScale:
    """How simulated seconds are shown on the x axis: s, min or h."""

    seconds: float
    unit: str

    def __call__(self, times_s) -> np.ndarray:
        return np.asarray(times_s, dtype=float) / self.seconds

    @classmethod
    def for_duration(cls, duration_s: float) -> TimeScale:
        """Pick the unit that keeps the axis' numbers short."""
        if duration_s <= 300:
            return cls(1.0, "s")
        if duration_s <= 10 * 3600:
            return cls(60.0, "min")
        return cls(3600.0, "h")


# --- drawing ------------------------------------------------------------------


def axes_for(ax: Axes | None) -> Axes:
    """Return `ax`, or the Axes of a new pyplot figure (shown inline)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")
    return ax


def title(ax: Axes, text: str) -> None:
    """Set a figure's title, left-aligned like the report's headings."""
    ax.set_title(text, loc="left", fontsize="medium", fontweight="bold")


def time_axes(ax: Axes, result: Result, text: str, ylabel: str) -> TimeScale:
    """Title and label an Axes over the run's simulated time."""
    scale = TimeScale.for_duration(result.scenario.duration)
    title(ax, text)
    ax.set_xlabel(f"simulated time ({scale.unit})")
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, scale(result.scenario.duration))
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return scale


def draw(ax: Axes, scale: TimeScale, frame: pd.DataFrame, *traces: Trace) -> None:
    """Draw each trace whose column the series has, as steps over time."""
    for trace in traces:
        if trace.column in frame:
            ax.plot(
                scale(frame["time_s"]),
                frame[trace.column],
                drawstyle="steps-post",
                color=trace.color,
                linestyle=trace.style,
                linewidth=trace.width,
                label=trace.label,
            )


def shade_outages(ax: Axes, result: Result, scale: TimeScale) -> None:
    """Shade every component's down windows in its own colour and hatch.

    A window is drawn at least 1/800 of the run wide, so that a 10-second
    outage in a six-hour run still shows.
    """
    min_width_s = result.scenario.duration / 800
    for component, windows in result.outages.items():
        color, hatch = OUTAGE_STYLES.get(component, (COLORS["outage"], ""))
        for i, (start_s, end_s) in enumerate(windows):
            ax.axvspan(
                scale(start_s),
                scale(max(end_s, start_s + min_width_s)),
                facecolor=color,
                alpha=0.3,
                hatch=hatch,
                edgecolor="#666666",
                linewidth=0,
                label=f"{component} down" if i == 0 else None,
                zorder=0,
            )


def twin(ax: Axes, ylabel: str, color: str) -> Axes:
    """Return a right-hand y axis sharing `ax`'s time axis."""
    right = ax.twinx()
    right.set_ylabel(ylabel, color=color)
    right.tick_params(axis="y", colors=color)
    return right


def legend(ax: Axes, *others: Axes, handles: list | None = None) -> None:
    """Put one legend below the plot for `ax` and its twin axes."""
    if handles is None:
        handles = [h for a in (ax, *others) for h in a.get_legend_handles_labels()[0]]
    if not handles:
        return
    width = sum(len(h.get_label()) + 6 for h in handles)
    columns = len(handles) if width <= 110 else math.ceil(len(handles) / 2)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=columns,
        frameon=False,
        fontsize="small",
    )


def note(ax: Axes, text: str) -> None:
    """Write a short message in the middle of the plot."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#444444",
        wrap=True,
    )


def no_async(ax: Axes, what: str) -> Axes:
    """Say on the plot that the run had no async topology, and return it."""
    note(ax, f"No async topology in this run: {what}.")
    ax.set_yticks([])
    return ax


def floor_at_zero(*axes: Axes) -> None:
    """Start y axes at zero (and show at least 0 to 1 when all is zero)."""
    for a in axes:
        a.set_ylim(bottom=0, top=max(a.get_ylim()[1], 1.0))
