"""The outcome of a run: summary, time series, latency over time.

A Result can be written to a folder (`summary.json`, `timeseries.csv`,
`latency.csv`) and read back, so reports are rebuilt without simulating
again.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Result", "flatten_summary"]

SUMMARY_FILE = "summary.json"
TIMESERIES_FILE = "timeseries.csv"
LATENCY_FILE = "latency.csv"
MESSAGES_FILE = "messages.csv"


def _version() -> str:
    from qsim import __version__

    return __version__


class Result:
    """A finished run of one scenario, ready for tables, files and plots."""

    def __init__(
        self,
        scenario,
        seed: int,
        topologies: dict[str, dict],
        series: dict,
        latency: dict,
        warnings: list[str],
        wall_time_s: float,
        outages: dict | None = None,
        version: str | None = None,
        messages: dict | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.topologies = topologies
        self._series = series
        self._latency = latency
        self.warnings = warnings
        self.wall_time_s = wall_time_s
        self.outages = outages or {}
        self.version = version or _version()
        self._messages = messages

    # --- pandas views ------------------------------------------------------

    @property
    def summary(self):
        """The summary as a DataFrame: one row per metric, one column per topology."""
        import pandas as pd

        rows = {
            name: flatten_summary(values) for name, values in self.topologies.items()
        }
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        parts = []
        for name, summary in self.topologies.items():
            p99 = (summary.get("response_latency_ms") or {}).get("p99")
            availability = summary.get("availability")
            parts.append(
                f"{name}: availability "
                + ("n/a" if availability is None else f"{availability:.4f}")
                + ", response p99 "
                + ("n/a" if p99 is None else f"{p99:.1f} ms")
            )
        return (
            f"<Result {self.scenario.name!r} seed={self.seed} "
            f"{self.scenario.duration:g}s: {'; '.join(parts)}>"
        )

    @functools.cached_property
    def timeseries(self):
        """Per-interval series, long format: time_s, topology, then columns."""
        import pandas as pd

        frames = [
            pd.DataFrame(columns).assign(topology=name)
            for name, columns in self._series.items()
        ]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        first = ["time_s", "topology"]
        return frame[first + [c for c in frame.columns if c not in first]]

    @functools.cached_property
    def latency(self):
        """Latency percentiles per time bin: time_s, topology, kind, p50_ms..."""
        import pandas as pd

        frames = [
            pd.DataFrame(values).assign(topology=name, kind=kind)
            for name, kinds in self._latency.items()
            for kind, values in kinds.items()
        ]
        frame = pd.concat(frames, ignore_index=True)
        first = ["time_s", "topology", "kind"]
        return frame[first + [c for c in frame.columns if c not in first]]

    @property
    def messages(self):
        """One row per async message (None unless `keep_messages` was set).

        Columns: message, created_at_s, sent_at_s, finished_at_s,
        receive_count, outcome, end_to_end_latency_ms.
        """
        import pandas as pd

        return None if self._messages is None else pd.DataFrame(self._messages)

    # --- pictures ------------------------------------------------------------

    def plot(self, name: str, *, ax=None):
        """Return one of the report's figures as a matplotlib Axes.

        Args:
            name: a figure of the report, e.g. "queue" (see `qsim.plots`).
            ax: draw into this Axes instead of a new figure.
        """
        from qsim.plots import plot

        return plot(self, name, ax=ax)

    def _repr_html_(self) -> str:
        from qsim.report import notebook_html

        return notebook_html(self)

    # --- files -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return what `summary.json` holds."""
        return _plain(
            {
                "scenario": self.scenario.model_dump(mode="json", by_alias=True),
                "seed": self.seed,
                "duration_s": self.scenario.duration,
                "qsim_version": self.version,
                "wall_time_s": self.wall_time_s,
                "warnings": self.warnings,
                "outages": {k: [list(w) for w in v] for k, v in self.outages.items()},
                "topologies": self.topologies,
            }
        )

    def save(self, folder: str | Path) -> Path:
        """Write summary.json, timeseries.csv and latency.csv into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        (folder / SUMMARY_FILE).write_text(text + "\n")
        self.timeseries.to_csv(folder / TIMESERIES_FILE, index=False)
        self.latency.to_csv(folder / LATENCY_FILE, index=False)
        if self._messages is not None:
            self.messages.to_csv(folder / MESSAGES_FILE, index=False)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Result:
        """Read a Result written by `save` (no simulation)."""
        import pandas as pd

        from qsim.scenario import load_scenario

        folder = Path(folder)
        data = json.loads((folder / SUMMARY_FILE).read_text())
        scenario = load_scenario(data["scenario"], read_files=False)
        series = {
            name: {c: group[c].to_numpy() for c in group.columns if c != "topology"}
            for name, group in pd.read_csv(folder / TIMESERIES_FILE).groupby("topology")
        }
        latency: dict = {}
        for (name, kind), group in pd.read_csv(folder / LATENCY_FILE).groupby(
            ["topology", "kind"]
        ):
            columns = [c for c in group.columns if c not in ("topology", "kind")]
            latency.setdefault(name, {})[kind] = {
                c: group[c].to_numpy() for c in columns
            }
        outages = {k: [tuple(w) for w in v] for k, v in data.get("outages", {}).items()}
        messages = None
        if (folder / MESSAGES_FILE).is_file():
            frame = pd.read_csv(folder / MESSAGES_FILE)
            messages = {c: frame[c].to_numpy() for c in frame.columns}
        return cls(
            scenario,
            data["seed"],
            data["topologies"],
            series,
            latency,
            data.get("warnings", []),
            data.get("wall_time_s", 0.0),
            outages,
            data.get("qsim_version"),
            messages,
        )


def flatten_summary(values: dict, prefix: str = "") -> dict[str, Any]:
    """Return a nested summary as `{dotted.name: leaf value}`."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_summary(value, name + "."))
        else:
            flat[name] = value
    return flat


def _plain(value: Any) -> Any:
    """Make numpy scalars and NaN JSON-safe."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
