"""Parse the quantities a scenario file is written in.

Durations (`250ms`, `30s`, `5m`, `4d`), sizes (`4KB`, `1MiB`), rates
(`50`, `50/s`, `3000/min`) and percentages become plain floats in base
units: seconds, bytes and events per second. This is the one place
where units are understood; the engine only ever sees base units.

Sizes follow AWS's own usage: `KB` and `MB` are binary (1 KB = 1,024
bytes), as in SQS's "64 KB chunk" and Lambda's "128 MB".
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

__all__ = [
    "Duration",
    "Size",
    "Rate",
    "format_duration",
    "format_size",
    "parse_duration",
    "parse_rate",
    "parse_size",
]

_NUMBER = r"([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)"

DURATION_UNITS_S = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
SIZE_UNITS_BYTES = {
    "b": 1,
    "kb": 1024,
    "kib": 1024,
    "mb": 1024**2,
    "mib": 1024**2,
    "gb": 1024**3,
    "gib": 1024**3,
}
RATE_UNITS_S = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}

_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-zµ]+)\s*$")
_SIZE_RE = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Z]+)\s*$")
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?:/\s*([a-z]+))?\s*$")


def _reject_bool(value: object, what: str) -> None:
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got {value!r}")


def parse_duration(value: object) -> float:
    """Return a duration in seconds from `30s`, `250ms`, `5m`, `1h`, `4d` or 0."""
    _reject_bool(value, "a duration like 30s")
    if isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        raise ValueError(
            f"a duration needs a unit (ms, s, m, h, d): write {value}s or "
            f"{value}ms, got the bare number {value!r}"
        )
    match = _DURATION_RE.match(str(value)) if isinstance(value, str) else None
    if not match or match.group(2) not in DURATION_UNITS_S:
        raise ValueError(
            f"expected a duration like 250ms, 30s, 5m, 2h or 4d, got {value!r}"
        )
    return float(match.group(1)) * DURATION_UNITS_S[match.group(2)]


def parse_size(value: object) -> float:
    """Return a size in bytes from `512B`, `4KB`, `1MiB` (KB = 1,024 bytes)."""
    _reject_bool(value, "a size like 4KB")
    if isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        raise ValueError(
            f"a size needs a unit (B, KB, MB, GB): write {value}KB or "
            f"{value}B, got the bare number {value!r}"
        )
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if not match or match.group(2).lower() not in SIZE_UNITS_BYTES:
        raise ValueError(f"expected a size like 512B, 4KB or 1MB, got {value!r}")
    return float(match.group(1)) * SIZE_UNITS_BYTES[match.group(2).lower()]


def parse_rate(value: object) -> float:
    """Return a rate per second from `50`, `50/s`, `3000/min` or `100/h`."""
    _reject_bool(value, "a rate like 50/s")
    if isinstance(value, (int, float)):
        rate = float(value)
    else:
        match = _RATE_RE.match(value) if isinstance(value, str) else None
        unit = match.group(2) if match else None
        if not match or (unit is not None and unit not in RATE_UNITS_S):
            raise ValueError(
                f"expected a rate per second like 50, 50/s or 3000/min, got {value!r}"
            )
        rate = float(match.group(1)) / RATE_UNITS_S[unit or "s"]
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"a rate must be a finite number >= 0, got {value!r}")
    return rate


def format_duration(seconds: float) -> str:
    """Write seconds back in the largest unit that keeps the number short."""
    if seconds == 0:
        return "0s"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size) == round(seconds / size, 3):
            return f"{seconds / size:.12g}{unit}"
    return f"{seconds * 1000:.12g}ms"


def format_size(size_bytes: float) -> str:
    """Write a byte count in B, KB or MB (binary, as AWS writes them)."""
    for unit, size in (("MB", 1024**2), ("KB", 1024)):
        if size_bytes >= size and size_bytes % (size / 1024) == 0:
            return f"{size_bytes / size:g}{unit}"
    return f"{size_bytes:g}B"


Duration = Annotated[
    float, BeforeValidator(parse_duration), PlainSerializer(format_duration)
]
"""A duration in seconds, written with a unit in files (`30s`)."""

Size = Annotated[float, BeforeValidator(parse_size), PlainSerializer(format_size)]
"""A size in bytes, written with a unit in files (`4KB`)."""

Rate = Annotated[float, BeforeValidator(parse_rate)]
"""Events per second, written as a number or with a unit (`3000/min`)."""
