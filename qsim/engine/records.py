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
        self._arrivals = self.series.tally("arrivals")
        self._succeeded = self.series.tally("succeeded")
        self._failed = self.series.tally("failed")

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

    def block_responses(
        self, at_s: np.ndarray, latency_s: np.ndarray, failures: dict[str, np.ndarray]
    ) -> None:
        """Record a block of answers, failed where a `failures` mask is set.

        The masks (one per reason) must not overlap.
        """
        failed = np.zeros(len(at_s), dtype=bool)
        for reason, mask in failures.items():
            count = int(mask.sum())
            if count:
                self.failures[reason] += count
                failed |= mask
        ok = ~failed
        self.succeeded += len(at_s) - int(failed.sum())
        self.series.add_times("succeeded", at_s[ok])
        self.series.add_times("failed", at_s[failed])
        self.response.add(at_s[ok], latency_s[ok])

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


class MessageLog:
    """One row per message that left the queue (opt-in: grows with the run).

    Rows: message id (unique per run), created_at_s, sent_at_s,
    finished_at_s, receive_count and outcome (processed, dead_lettered,
    expired, or in_queue at the end of the run).
    """

    def __init__(self, store) -> None:
        self.store = store
        self._chunks: list[tuple] = []

    def record(self, ids: np.ndarray, at_s: np.ndarray | float, outcome: str) -> None:
        """Append rows for `ids` (read from the store before release)."""
        if not len(ids):
            return
        store = self.store
        self._chunks.append(
            (
                store.generation[ids].copy(),
                store.created_at_s[ids].copy(),
                store.sent_at_s[ids].copy(),
                np.broadcast_to(at_s, len(ids)).copy(),
                store.receive_count[ids].copy(),
                np.full(len(ids), outcome, dtype=object),
            )
        )

    def frame_columns(self) -> dict[str, np.ndarray]:
        """Return the rows as columns, sorted by message id."""
        names = (
            "message",
            "created_at_s",
            "sent_at_s",
            "finished_at_s",
            "receive_count",
            "outcome",
        )
        if not self._chunks:
            return {name: np.empty(0) for name in names}
        columns = [np.concatenate(parts) for parts in zip(*self._chunks, strict=True)]
        order = np.argsort(columns[0], kind="stable")
        out = {name: column[order] for name, column in zip(names, columns, strict=True)}
        finished = out["outcome"] != "in_queue"
        out["end_to_end_latency_ms"] = np.where(
            out["outcome"] == "processed",
            (out["finished_at_s"] - out["created_at_s"]) * 1000,
            np.nan,
        )
        out["finished_at_s"] = np.where(finished, out["finished_at_s"], np.nan)
        return out
