"""Figures of a sweep: a metric against a varied key, and heatmaps.

Each function draws into an optional `ax` and returns it; nothing is
shown. Sync and async keep one colour each across every figure. A key
whose values are all numbers gets a numeric axis (logarithmic when the
values span two decades); any other key gets its values as categories,
in the order given.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd

from qsim.compare import VERDICT_METRICS

__all__ = ["TOPOLOGY_COLOURS", "metric_label", "plot_heatmap", "plot_metric", "svg"]

# Okabe-Ito colours, as in the run report's figures and stylesheet.
TOPOLOGY_COLOURS = {"sync": "#d55e00", "async": "#0072b2"}
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
MAX_VALUE_TICKS = 12
_VERDICT = {metric.key: metric for metric in VERDICT_METRICS}


def metric_label(metric: str) -> str:
    """Return an axis label with the unit: `response_latency_ms.p99 (ms)`."""
    known = _VERDICT.get(metric)
    if known is not None:
        return f"{known.label} ({known.unit})"
    return f"{metric} ({_unit(metric)})" if _unit(metric) else metric


def metric_scale(metric: str) -> float:
    """Return the factor from stored to shown values (availability in %)."""
    known = _VERDICT.get(metric)
    return known.scale if known is not None else 1.0


def _unit(metric: str) -> str:
    if "_ms" in metric:
        return "ms"
    if "usd" in metric:
        return "USD"
    return "req/s" if metric.endswith("_rps") else ""


def plot_metric(
    result: Any,
    metric: str,
    key: str | None = None,
    *,
    ax: Any = None,
    level: float = 0.95,
) -> Any:
    """Draw a metric's mean and confidence band against one varied key."""
    ax = ax if ax is not None else _new_axes()
    if not result.keys:
        raise ValueError("this sweep varies no key: nothing to plot against")
    key = key or result.keys[0]
    if key not in result.keys:
        varied = ", ".join(result.keys)
        raise ValueError(f"{key!r} is not a varied key; varied: {varied}")
    table = result.aggregate([metric], level)
    positions, ticks = _axis(result.plan.labels(key), table[key])
    others = [] if result.plan.zip else [k for k in result.keys if k != key]
    groups = list(table.groupby(others, sort=False)) if others else [((), table)]
    scale = metric_scale(metric)
    for style, (values, group) in enumerate(groups):
        suffix = _group_label(others, values)
        for topology, line in group.groupby("topology", sort=False):
            line = line.assign(x=positions.loc[line.index]).sort_values("x")
            colour = TOPOLOGY_COLOURS.get(topology)
            ax.plot(
                line["x"],
                line["mean"] * scale,
                color=colour,
                linestyle=LINE_STYLES[style % len(LINE_STYLES)],
                marker=MARKERS[style % len(MARKERS)],
                label=topology + suffix,
            )
            ax.fill_between(
                line["x"],
                line["ci_low"] * scale,
                line["ci_high"] * scale,
                color=colour,
                alpha=0.15,
                linewidth=0,
            )
    _x_axis(ax, key, ticks, positions)
    ax.set_ylabel(metric_label(metric))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def _axis(order: list[Any], column: pd.Series) -> tuple[pd.Series, list[Any] | None]:
    """Return x positions for a key's column, and category ticks if any."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float), None
    return column.map({v: i for i, v in enumerate(order)}).astype(float), order


def _x_axis(ax: Any, key: str, ticks: list[Any] | None, positions: pd.Series) -> None:
    ax.set_xlabel(key)
    if ticks is not None:
        ax.set_xticks(range(len(ticks)), [str(t) for t in ticks])
        return
    low, high = positions.min(), positions.max()
    if low > 0 and high / low >= 100:
        ax.set_xscale("log")
    values = sorted(positions.unique())
    if len(values) <= MAX_VALUE_TICKS:  # tick the grid's own values
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()


def _group_label(keys: list[str], values: Any) -> str:
    if not keys:
        return ""
    values = values if isinstance(values, tuple) else (values,)
    return ", " + ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))


def plot_heatmap(
    result: Any, metric: str, topology: str = "async", *, ax: Any = None
) -> Any:
    """Draw the means of a two-key grid as a heatmap, values written in.

    `topology` is "sync", "async" or "difference" (sync − async, paired).
    """
    if len(result.keys) != 2 or result.plan.zip:
        raise ValueError("a heatmap needs a full grid of exactly two varied keys")
    ax = ax if ax is not None else _new_axes()
    if topology == "difference":
        table = result.differences([metric])
    else:
        table = result.aggregate([metric])
        table = table[table["topology"] == topology]
    rows, columns = result.keys
    grid = table.pivot_table(index=rows, columns=columns, values="mean", sort=False)
    grid = grid.reindex(
        index=_present(result, rows, grid.index),
        columns=_present(result, columns, grid.columns),
    )
    values = grid.to_numpy(dtype=float) * metric_scale(metric)
    image = ax.imshow(
        values,
        aspect="auto",
        cmap="viridis" if topology != "difference" else "RdBu_r",
        **_centred(values, topology),
    )
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(
                j,
                i,
                f"{value:.3g}",
                ha="center",
                va="center",
                fontsize="medium",
                color="white",
                path_effects=_outline(),
            )
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(r) for r in grid.index])
    ax.set_xlabel(columns)
    ax.set_ylabel(rows)
    name = "sync − async" if topology == "difference" else topology
    ax.set_title(name)
    ax.figure.colorbar(image, ax=ax, label=metric_label(metric))
    return ax


def _present(result: Any, key: str, found: pd.Index) -> list[Any]:
    return [v for v in result.plan.labels(key) if v in set(found)]


def _centred(values: np.ndarray, topology: str) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if topology != "difference" or not finite.size:
        return {}
    bound = float(np.abs(finite).max()) or 1.0
    return {"vmin": -bound, "vmax": bound}


def _outline() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2, foreground="black")]


def _new_axes() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(6, 4), layout="constrained").add_subplot()


def svg(figure: Any) -> str:
    """Return a figure as an inline `<svg>` element (no XML prologue)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "qsim-sweep", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return re.sub(r"^.*?(?=<svg)", "", text, count=1, flags=re.DOTALL)
