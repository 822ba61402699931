"""The HTML report of a run: one self-contained file to read or mail.

The report's data is built first, one small dataclass per section
(scenario, verdict, figures, assumptions and warnings), then rendered by
Jinja2 templates shipped in `qsim/templates/` with autoescaping on, so a
scenario named `<script>` shows as text. CSS is inlined and figures are
SVG in `data:` URIs, drawn by `qsim.plots` on Agg-backed figures:
nothing is fetched from the network and no script runs.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from qsim.compare import verdict
from qsim.plots import FIGSIZE, FIGURES, KEY_FIGURE, LABELS, FigureSpec

if TYPE_CHECKING:
    from qsim.results import Result

__all__ = [
    "ASSUMPTIONS",
    "REPORT_FILE",
    "Report",
    "build_report",
    "jinja_environment",
    "notebook_html",
    "render_figure",
    "render_report",
    "write_report",
]

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"

ASSUMPTIONS = (
    "Both topologies see the very same requests: arrival times, work per "
    "request and outage schedules come from the same seed, so their "
    "difference is a paired comparison.",
    "Async response latency ends when SQS acknowledges SendMessage (the "
    "user's answer); end-to-end latency ends when Lambda has finished the "
    "message. Sync response latency covers the whole call chain.",
    "The SQS standard queue is a set of partitions: long polls return as "
    "soon as any message is visible; short polls sample some partitions "
    "and can come back empty while messages wait.",
    "The event source mapping's scaler follows the documented presets; its "
    "scale-down and back-off rates are qsim's choices, as AWS documents "
    "neither.",
    "A new execution environment pays a cold start (INIT, billed); idle "
    "ones are reclaimed after a fixed lifetime. Lambda's own scaling rate "
    "is never the bottleneck.",
    "Synchronous services are perfectly balanced pools of workers with one "
    "FIFO wait queue; an outage only fails work that starts during it.",
    "Costs use the region's list prices without the free tier; the monthly "
    "figure scales the simulated window linearly to 30 days.",
    "Percentiles come from log-bucketed histograms (within about 1%); the "
    "figures merge time bins, keeping the peaks of levels.",
)


# --- the report's data --------------------------------------------------------


@dataclass(frozen=True)
class ParameterGroup:
    """Scenario settings of one component, as (name, value) text pairs."""

    title: str
    items: list[tuple[str, str]]


@dataclass(frozen=True)
class VerdictRow:
    """One verdict metric: each topology's value, the difference, the winner."""

    label: str
    values: dict[str, str]
    difference: str
    better: str  # "sync", "async", "tie" or "" when not comparable


@dataclass(frozen=True)
class ReportFigure:
    """A rendered figure: an SVG `data:` URI with its title, caption and alt."""

    name: str
    title: str
    caption: str
    alt: str
    src: str


@dataclass(frozen=True)
class Report:
    """Everything the report template shows, already formatted as text."""

    name: str
    description: str
    seed: int
    version: str
    wall_time_s: float
    topologies: dict[str, str]  # name -> label, in column order
    parameters: list[ParameterGroup]
    verdict: list[VerdictRow]
    figures: list[ReportFigure]
    assumptions: tuple[str, ...]
    warnings: list[str]


def build_report(result: Result, figures: tuple[str, ...] | None = None) -> Report:
    """Gather the report's sections from a result (figures are rendered here).

    Args:
        figures: names of the figures to draw (default: all, report order).
    """
    scenario = result.scenario
    names = [n for n in ("sync", "async") if n in result.topologies]
    return Report(
        name=scenario.name,
        description=" ".join(scenario.description.split()),
        seed=result.seed,
        version=result.version,
        wall_time_s=result.wall_time_s,
        topologies={n: LABELS[n] for n in names},
        parameters=scenario_parameters(scenario),
        verdict=verdict_rows(result),
        figures=[render_figure(result, FIGURES[n]) for n in figures or FIGURES],
        assumptions=ASSUMPTIONS,
        warnings=list(result.warnings),
    )


# --- scenario -----------------------------------------------------------------

# Shown even when left at their defaults: the settings a reader looks for.
ALWAYS_SHOWN = {
    "frontend": ("workers", "instances", "service_time"),
    "backend": ("workers", "instances", "service_time", "max_queue", "timeout"),
    "queue": ("visibility_timeout", "max_receive_count", "receive_wait_time"),
    "function": (
        "memory",
        "timeout",
        "batch_size",
        "batching_window",
        "scaling.preset",
        "report_batch_item_failures",
    ),
    "pricing": ("region",),
}
SECTION_TITLES = {
    "frontend": "Service A (frontend)",
    "backend": "Service B (backend; Lambda's work in async)",
    "queue": "SQS queue",
    "function": "Lambda function and event source mapping",
    "pricing": "Pricing",
}


def scenario_parameters(scenario: Any) -> list[ParameterGroup]:
    """Return the settings that matter: the key ones and every non-default."""
    groups = [
        ParameterGroup(
            "Run",
            [
                ("duration", _text(_dump(scenario)["duration"])),
                ("topologies", ", ".join(scenario.topologies)),
            ],
        ),
        ParameterGroup("Workload", _workload_items(scenario.workload)),
    ]
    for key, title in SECTION_TITLES.items():
        section = getattr(scenario, key, None)
        if section is not None:
            groups.append(ParameterGroup(title, _section_items(key, section)))
    return groups


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def _section_items(key: str, section: Any) -> list[tuple[str, str]]:
    values = _flat(_dump(section))
    try:
        defaults = _flat(_dump(type(section)()))
    except ValueError:  # a section with required fields: show it all
        defaults = {}
    shown = ALWAYS_SHOWN.get(key, ())
    return [
        (name, _text(value))
        for name, value in values.items()
        if name in shown or defaults.get(name, object()) != value
    ]


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested sections to dotted keys, keeping distributions whole."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and "dist" not in value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _workload_items(workload: Any) -> list[tuple[str, str]]:
    data = _dump(workload)
    items = [("arrivals", data["arrivals"])]
    if data.get("rate") is not None:
        items.append(("rate", f"{data['rate']:g}/s"))
    if data.get("stages"):
        stages = [f"{s['duration']} at {s['rate']:g}/s" for s in data["stages"]]
        items.append(("stages", ", then ".join(stages)))
        items.append(("ramp", data["ramp"]))
    for key in ("diurnal", "trace"):
        if data.get(key):
            items.append((key, _text(data[key])))
    items.append(("message_size", _text(data["message_size"])))
    if data.get("poison_fraction"):
        items.append(("poison_fraction", f"{100 * data['poison_fraction']:g}%"))
    return items


def _text(value: Any) -> str:
    """Write a scenario value (file form) the way a reader expects it."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return _mapping_text(value)
    return str(value)


def _mapping_text(value: dict[str, Any]) -> str:
    if {"start", "duration"} <= value.keys():  # an outage or slowdown window
        extra = f", {value['extra']} slower" if "extra" in value else ""
        return f"from {value['start']} for {value['duration']}{extra}"
    if value.get("dist") == "constant":
        return _text(value.get("value"))
    rest = ", ".join(f"{k} {_text(v)}" for k, v in value.items() if k != "dist")
    return f"{value['dist']} ({rest})" if "dist" in value else rest


# --- verdict ------------------------------------------------------------------


def verdict_rows(result: Result) -> list[VerdictRow]:
    """Return the verdict table, values formatted with their units."""
    rows = []
    for row in verdict(result.topologies):
        metric = row["metric"]
        rows.append(
            VerdictRow(
                label=f"{metric.label} ({metric.unit})",
                values={n: _number(v, metric.unit) for n, v in row["values"].items()},
                difference=_number(row["difference"], metric.unit, signed=True),
                better=row["better"] or "",
            )
        )
    return rows


def _number(value: float | None, unit: str, *, signed: bool = False) -> str:
    """Format a metric: two decimals for %, else about four significant."""
    if value is None:
        return "–"
    if unit == "%":
        decimals = 2
    elif value == 0:
        decimals = 0
    else:
        magnitude = len(str(int(abs(value)))) if abs(value) >= 1 else 0
        decimals = max(0, 4 - magnitude) if magnitude else 4
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return text.replace("-", "−")


# --- figures ------------------------------------------------------------------


def render_figure(result: Result, spec: FigureSpec) -> ReportFigure:
    """Draw one figure on an Agg-backed Figure and return it as an SVG URI."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGSIZE, layout="constrained")
    FigureCanvasAgg(figure)
    spec.draw(result, ax=figure.add_subplot())
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "qsim", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return ReportFigure(
        spec.name,
        spec.title,
        spec.caption,
        spec.alt,
        f"data:image/svg+xml;base64,{encoded}",
    )


# --- rendering ----------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def jinja_environment() -> jinja2.Environment:
    """Return the Jinja2 environment of qsim's templates (autoescaping on).

    `style.css` is meant to be included inline: `{% include "style.css" %}`.
    """
    return jinja2.Environment(
        loader=jinja2.PackageLoader("qsim", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(result: Result) -> str:
    """Return the report of a run as one self-contained HTML page."""
    report = build_report(result)
    return jinja_environment().get_template("report.html").render(report=report)


def write_report(result: Result, folder: str | Path) -> Path:
    """Write `report.html` into `folder` and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_FILE
    path.write_text(render_report(result), encoding="utf-8")
    log.info("wrote %s", path)
    return path


def notebook_html(result: Result) -> str:
    """Return a compact view for Jupyter: the verdict table and the key figure."""
    report = build_report(result, figures=(KEY_FIGURE,))
    template = jinja_environment().get_template("notebook.html")
    return template.render(report=report, figure_names=list(FIGURES))
