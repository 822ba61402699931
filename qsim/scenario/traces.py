"""Read arrival traces (CSV) for replay.

A trace is read once, when its scenario is loaded, into a tuple of
numbers: arrival offsets in seconds from the first timestamp, or
per-second counts. Bad lines are reported with their line number.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

__all__ = ["read_trace"]


def _timestamp(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def read_trace(path: Path, fmt: str) -> tuple[float, ...]:
    """Return a trace's numbers: timestamps (raw) or per-second counts."""
    if not path.is_file():
        raise ValueError(f"cannot read the trace: no file {str(path)!r}")
    numbers: list[float] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        field = text.split(",")[0 if fmt == "timestamps" else -1].strip()
        try:
            value = _timestamp(field) if fmt == "timestamps" else float(field)
        except ValueError:
            if not numbers and number == 1:
                continue  # a header line
            raise ValueError(
                f"{path.name} line {number}: expected a "
                f"{'timestamp' if fmt == 'timestamps' else 'count'}, got {field!r}"
            ) from None
        if fmt == "counts" and (value < 0 or value != int(value)):
            raise ValueError(
                f"{path.name} line {number}: counts are whole numbers >= 0"
            )
        numbers.append(value)
    if not numbers:
        raise ValueError(f"{path.name}: the trace holds no arrivals")
    return tuple(numbers)
