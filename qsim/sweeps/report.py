"""The sweep report: one self-contained `sweep.html`.

The report's data is built first (overview, figures, the table of
points), then rendered by the Jinja2 template `templates/sweep.html`
with autoescaping on. Figures are inline SVG and the stylesheet of the
run report is inlined, so the file needs no network and no other file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qsim.sweeps.figures import (
    metric_label,
    metric_scale,
    plot_heatmap,
    plot_metric,
    svg,
)
from qsim.sweeps.stats import format_interval

__all__ = ["DEFAULT_METRICS", "render_report", "write_report"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
REPORT_FILE = "sweep.html"
DEFAULT_METRICS = (
    "response_latency_ms.p99",
    "availability",
    "throughput_rps",
    "cost_usd.per_month.total",
)
FALLBACK_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5rem 0; } figcaption { color: #555; font-size: 0.9rem; }
svg { max-width: 100%; height: auto; } .failed { color: #b00020; }
"""


@dataclass(frozen=True)
class Figure:
    """A rendered figure with its caption and alternative text."""

    title: str
    caption: str
    alt: str
    svg: str


def write_report(
    result: Any, folder: str | Path, metrics: Sequence[str] | None = None
) -> Path:
    """Write `sweep.html` for a SweepResult into `folder`; return its path."""
    path = Path(folder) / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, metrics), encoding="utf-8")
    return path


def render_report(result: Any, metrics: Sequence[str] | None = None) -> str:
    """Return the sweep report as one HTML string."""
    from jinja2 import Environment, FileSystemLoader

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    return environment.get_template(REPORT_FILE).render(**report_data(result, metrics))


def report_data(result: Any, metrics: Sequence[str] | None = None) -> dict[str, Any]:
    """Return everything the template shows."""
    if metrics is None:
        metrics = [m for m in DEFAULT_METRICS if m in result.metrics]
    metrics = result.check_metrics(metrics)
    from qsim import __version__

    has_runs = bool((result.runs["status"] == "ok").any())
    return {
        "name": str(result.plan.scenario.get("name", "sweep")),
        "version": __version__,
        "root_seed": result.plan.root_seed,
        "overview": _overview(result),
        "grid": [
            (key, ", ".join(map(str, result.plan.labels(key)))) for key in result.keys
        ],
        "figures": _figures(result, metrics) if has_runs and result.keys else [],
        "table": _points_table(result, metrics),
        "failures": result.failures.to_dict("records"),
        "keys": result.keys,
        "css": _css(),
    }


def _overview(result: Any) -> list[tuple[str, str]]:
    plan = result.plan
    return [
        ("points", f"{len(plan.points)} ({'zipped' if plan.zip else 'full grid'})"),
        ("replications", f"{plan.replications} per point"),
        ("root seed", str(plan.root_seed)),
        ("runs", f"{len(plan.runs)}, {len(result.failures)} failed"),
        ("intervals", "95% Student t; differences paired by replication"),
        ("wall time", f"{result.wall_time_s:.1f} s"),
    ]


def _figures(result: Any, metrics: list[str]) -> list[Figure]:
    figures = []
    for metric in metrics:
        figures.append(_lines(result, metric))
        if len(result.keys) == 2 and not result.plan.zip:
            figures.append(_heatmaps(result, metric))
    return figures


def _lines(result: Any, metric: str) -> Figure:
    from matplotlib.figure import Figure as MplFigure

    keys = result.keys
    figure = MplFigure(figsize=(5 * len(keys), 3.6), layout="constrained")
    axes = figure.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys, strict=True):
        plot_metric(result, metric, key, ax=ax)
    label = metric_label(metric)
    per_line = (
        " Each line style is one combination of the other keys."
        if len(keys) > 1 and not result.plan.zip
        else ""
    )
    return Figure(
        title=label,
        caption=f"{label} against {_listed(keys)}: the mean of "
        f"{result.plan.replications} replications per point with its 95% "
        f"confidence band, sync and async together.{per_line}",
        alt=f"Line chart of {label} against {_listed(keys)} for "
        f"{_listed(list(result.plan.topologies))}.",
        svg=svg(figure),
    )


def _heatmaps(result: Any, metric: str) -> Figure:
    from matplotlib.figure import Figure as MplFigure

    panels = list(result.plan.topologies)
    if len(panels) == 2:
        panels.append("difference")
    figure = MplFigure(figsize=(4 * len(panels), 3.2), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        plot_heatmap(result, metric, panel, ax=ax)
    label = metric_label(metric)
    rows, columns = result.keys
    paired = "difference" in panels
    return Figure(
        title=f"{label}: heatmap",
        caption=f"{label} over the grid of {rows} (rows) and {columns} (columns): "
        "the mean per point for each topology"
        + (", then the paired sync − async difference." if paired else "."),
        alt=f"Heatmaps of {label} by {rows} and {columns}, one panel per topology"
        + (" and one for the difference." if paired else "."),
        svg=svg(figure),
    )


def _points_table(result: Any, metrics: list[str]) -> dict[str, Any]:
    """Return the header and rows of the table of every point."""
    means = result.aggregate(metrics).set_index(["point", "topology", "metric"])
    paired = result.differences(metrics).set_index(["point", "metric"])
    columns = [*result.plan.topologies]
    if len(columns) == 2:
        columns.append("sync − async")
    rows = []
    for point in result.points.to_dict("records"):
        cells = []
        for metric in metrics:
            for column in columns:
                where = (
                    (point["point"], metric)
                    if column == "sync − async"
                    else (point["point"], column, metric)
                )
                frame = paired if column == "sync − async" else means
                cells.append(_cell(frame, where, metric_scale(metric)))
        rows.append({"point": point, "cells": cells})
    return {
        "metrics": [metric_label(m) for m in metrics],
        "columns": columns,
        "rows": rows,
    }


def _cell(frame: Any, where: tuple, scale: float) -> str:
    return format_interval(frame.loc[where], scale) if where in frame.index else "–"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _css() -> str:
    path = TEMPLATES / "style.css"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    log.debug("no %s yet; using the sweep report's own styles", path)
    return FALLBACK_CSS
