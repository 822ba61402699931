"""The sweep's files: the table, written as runs finish, and its settings.

`sweep.csv` grows by appending each finished run's rows, so a sweep
that is interrupted keeps every run it finished; the file is rewritten
only when a run brings a new metric column, and once at the end in the
canonical order. Parquet cannot be appended to, so `sweep.parquet` is
rewritten at most every few seconds (and at the end). `sweep.json`
holds what is needed to reproduce the sweep: scenario, grid, root seed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from qsim.errors import QsimError
from qsim.sweeps.grid import SweepPlan
from qsim.sweeps.table import ID_COLUMNS, STATUS_COLUMNS

__all__ = ["FORMATS", "RunStore"]

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet")
SETTINGS_FILE = "sweep.json"
PARQUET_EVERY_S = 5.0
# pandas 3 reads floats back exactly by default and deprecates the option.
_EXACT_FLOATS = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)


class RunStore:
    """Write a sweep's rows to `folder/sweep.csv` (or `.parquet`)."""

    def __init__(self, folder: str | Path, file_format: str = "csv") -> None:
        if file_format not in FORMATS:
            raise QsimError(
                f"--format must be one of {', '.join(FORMATS)}, got {file_format!r}"
            )
        if file_format == "parquet":
            _need_pyarrow()
        self.folder = Path(folder)
        self.format = file_format
        self.path = self.folder / f"sweep.{file_format}"
        self._rows: list[dict[str, Any]] = []
        self._columns: list[str] = []
        self._written_at = 0.0

    def read(self) -> pd.DataFrame | None:
        """Return the rows already in the file, or None if there is none."""
        if not self.path.is_file():
            return None
        if self.format == "parquet":
            frame = pd.read_parquet(self.path)
        else:
            text = self.path.read_text()
            if not text.endswith("\n"):
                text = text[: text.rfind("\n") + 1]  # a run cut off mid-write
            if not text.strip():
                return None
            frame = pd.read_csv(io.StringIO(text), **_EXACT_FLOATS)
        if "error" in frame.columns:
            frame["error"] = frame["error"].astype(object).fillna("").astype(str)
        return frame

    def start(self, plan: SweepPlan, rows: list[dict[str, Any]]) -> None:
        """Begin the file afresh with `rows` (kept from an earlier attempt)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_settings(self.folder / SETTINGS_FILE, plan)
        self._rows = list(rows)
        self._rewrite()

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Record one finished run's rows."""
        self._rows += rows
        new = [key for row in rows for key in row if key not in self._columns]
        if self.format == "parquet":
            if time.monotonic() - self._written_at >= PARQUET_EVERY_S:
                self._rewrite()
        elif new:
            self._rewrite()
        else:
            frame = pd.DataFrame(rows, columns=self._columns)
            text = frame.to_csv(index=False, header=False)
            with self.path.open("a") as handle:
                handle.write(text)

    def flush(self) -> None:
        """Write whatever has not reached the file yet (Parquet)."""
        if self.format == "parquet" and self._rows:
            self._rewrite()

    def finish(self, frame: pd.DataFrame) -> None:
        """Replace the file with the final table, in canonical order."""
        self._replace(frame)

    def _rewrite(self) -> None:
        frame = pd.DataFrame.from_records(self._rows) if self._rows else pd.DataFrame()
        fixed = [c for c in frame.columns if c in (*ID_COLUMNS, *STATUS_COLUMNS)]
        self._columns = fixed + [c for c in frame.columns if c not in fixed]
        self._replace(frame.reindex(columns=self._columns))

    def _replace(self, frame: pd.DataFrame) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        if self.format == "parquet":
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
        os.replace(partial, self.path)
        self._written_at = time.monotonic()


def _write_settings(path: Path, plan: SweepPlan) -> None:
    from qsim import __version__

    settings = {
        "scenario": plan.scenario,
        "vary": plan.vary,
        "zip": plan.zip,
        "replications": plan.replications,
        "root_seed": plan.root_seed,
        "points": len(plan.points),
        "qsim_version": __version__,
    }
    path.write_text(json.dumps(settings, indent=2, default=str) + "\n")


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise QsimError(
            "--format parquet needs pyarrow: pip install 'qsim[parquet]'"
        ) from None
