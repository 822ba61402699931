"""When a component is down, erroring or slow.

A component's availability `a` with mean outage `m` becomes an
alternating renewal process: up periods exponential with mean
m·a/(1−a), down periods exponential with mean m, drawn once for the
whole run from the component's own stream and merged with the explicit
outage windows. Queries are by time, scalar or vectorised.

Simplifications: up and down periods are exponential; an outage only
affects work that *starts* during it (requests already being served
finish normally).
"""

from __future__ import annotations

import bisect

import numpy as np

__all__ = ["FaultSchedule"]


class FaultSchedule:
    """Down windows, error rate and slowdowns of one component over a run."""

    def __init__(self, spec, duration_s: float, rng: np.random.Generator) -> None:
        windows = [(w.start, w.end) for w in spec.outages]
        windows += _renewal_outages(
            spec.availability, spec.mean_outage, duration_s, rng
        )
        self.down_starts, self.down_ends = _merge(windows)
        self.error_rate = spec.error_rate
        self._slow = sorted((w.start, w.end, w.extra) for w in spec.slowdowns)
        self.always_up = not self.down_starts
        self.no_slowdowns = not self._slow

    def is_down(self, at_s: float) -> bool:
        """Return True when the component is down at `at_s`."""
        if self.always_up:
            return False
        index = bisect.bisect_right(self.down_starts, at_s) - 1
        return index >= 0 and at_s < self.down_ends[index]

    def up_at(self, at_s: float) -> float:
        """Return when the outage under way at `at_s` ends (`at_s` if up)."""
        index = bisect.bisect_right(self.down_starts, at_s) - 1
        if index >= 0 and at_s < self.down_ends[index]:
            return self.down_ends[index]
        return at_s

    def down_mask(self, times_s: np.ndarray) -> np.ndarray:
        """Return a boolean array: down at each of `times_s`."""
        if self.always_up:
            return np.zeros(len(times_s), dtype=bool)
        index = np.searchsorted(self.down_starts, times_s, side="right") - 1
        ends = np.asarray(self.down_ends)[np.maximum(index, 0)]
        return (index >= 0) & (times_s < ends)

    def extra_latency(self, at_s: float) -> float:
        """Return the slowdown added to work starting at `at_s`."""
        return sum(extra for start, end, extra in self._slow if start <= at_s < end)

    def extra_latency_at(self, times_s: np.ndarray) -> np.ndarray:
        """Return the slowdown added to work starting at each of `times_s`."""
        extra = np.zeros(len(times_s))
        for start, end, added in self._slow:
            extra[(times_s >= start) & (times_s < end)] += added
        return extra

    def windows(self) -> list[tuple[float, float]]:
        """Return the merged down windows as (start_s, end_s) pairs."""
        return list(zip(self.down_starts, self.down_ends, strict=True))


def _renewal_outages(
    availability: float, mean_outage_s: float, duration_s: float, rng
) -> list[tuple[float, float]]:
    if availability >= 1:
        return []
    mean_up_s = mean_outage_s * availability / (1 - availability)
    windows, clock = [], 0.0
    # Start in the stationary state so the first second is no different.
    if rng.random() < 1 - availability:
        length = rng.exponential(mean_outage_s)
        windows.append((0.0, length))
        clock = length
    while clock < duration_s:
        clock += rng.exponential(mean_up_s)
        length = rng.exponential(mean_outage_s)
        if clock < duration_s:
            windows.append((clock, clock + length))
        clock += length
    return windows


def _merge(windows: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    starts: list[float] = []
    ends: list[float] = []
    for start, end in sorted(windows):
        if starts and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends
