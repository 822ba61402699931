"""What one topology records about users' requests during a run."""

from __future__ import annotations

from collections import Counter

import numpy as np

from qsim.engine.metrics import LatencyRecorder, TimeSeries

__all__ = ["TopologyRecord"]


class TopologyRecord:
    """Series, latency recorders and request outcomes of one topology."""

    def __init__(self, duration_s: float, interval_s: float) -> None:
        self.series = TimeSeries(duration_s, interval_s)
        self.response = LatencyRecorder(duration_s)
        self.end_to_end = LatencyRecorder(duration_s)
        self.failures: Counter[str] = Counter()
        self.requests = 0
        self.succeeded = 0
        self._bin = 1.0 / interval_s
        self._arrivals = self.series.column("arrivals")
        self._succeeded = self.series.column("succeeded")
        self._failed = self.series.column("failed")

    def arrival(self, now: float) -> None:
        """Count one request arriving."""
        self.requests += 1
        self._arrivals[min(int(now * self._bin), self.series.n_bins)] += 1

    def answer(self, now: float, latency_s: float, reason: str) -> None:
        """Record one answer to a user: success if `reason` is empty."""
        b = min(int(now * self._bin), self.series.n_bins)
        if reason:
            self.failures[reason] += 1
            self._failed[b] += 1
        else:
            self.succeeded += 1
            self._succeeded[b] += 1
            self.response.add_one(now, latency_s)

    def block_arrivals(self, times_s: np.ndarray) -> None:
        """Count a block of arrivals at once."""
        self.requests += len(times_s)
        self.series.add_times("arrivals", times_s)

    def block_responses(self, at_s: np.ndarray, latency_s: np.ndarray,
                        reasons: np.ndarray) -> None:
        """Record a block of answers; `reasons` is "" where they succeeded."""
        ok = reasons == ""
        self.succeeded += int(ok.sum())
        self.series.add_times("succeeded", at_s[ok])
        self.series.add_times("failed", at_s[~ok])
        for reason, count in zip(*np.unique(reasons[~ok], return_counts=True)):
            self.failures[str(reason)] += int(count)
        self.response.add(at_s[ok], latency_s[ok])

    @property
    def failed(self) -> int:
        return sum(self.failures.values())
