"""Records a run leaves behind: binned time series and latency histograms.

Memory grows with the run's number of time bins, never with its number
of messages: a finished message adds to counters and to a log-bucketed
histogram whose percentiles are within about 1% of the exact ones.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LatencyRecorder", "TimeSeries", "auto_interval"]

_NICE_INTERVALS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_BINS = 86_400
LATENCY_BINS = 720


def auto_interval(duration_s: float, max_bins: int = MAX_BINS) -> float:
    """Return the smallest nice interval giving at most `max_bins` bins."""
    for interval in _NICE_INTERVALS_S:
        if duration_s / interval <= max_bins:
            return float(interval)
    return float(math.ceil(duration_s / max_bins / 3600) * 3600)


class TimeSeries:
    """Named per-bin arrays: counters summed, levels sampled, peaks kept.

    Vectorised code adds to numpy `column`s; code that counts one event
    at a time adds to a `tally`, a plain list (cheaper to bump than a
    numpy element), merged into the column of the same name at the end.
    """

    def __init__(self, duration_s: float, interval_s: float) -> None:
        self.interval_s = interval_s
        self.n_bins = max(1, math.ceil(duration_s / interval_s - 1e-9))
        self.columns: dict[str, np.ndarray] = {}
        self.tallies: dict[str, list[float]] = {}
        self._peaks: set[str] = set()

    def column(self, name: str, peak: bool = False) -> np.ndarray:
        """Return the array for `name`, creating it if new.

        Arrays have one spare bin for events at exactly the end of the
        run; `frame_columns` folds it into the last bin (by sum, or by
        max for `peak` columns such as concurrency).
        """
        array = self.columns.get(name)
        if array is None:
            array = self.columns[name] = np.zeros(self.n_bins + 1)
        if peak:
            self._peaks.add(name)
        return array

    def tally(self, name: str, peak: bool = False) -> list[float]:
        """Return the list tallying `name` event by event (spare bin too)."""
        self.column(name, peak)
        values = self.tallies.get(name)
        if values is None:
            values = self.tallies[name] = [0] * (self.n_bins + 1)
        return values

    def bin_of(self, at_s: float) -> int:
        """Return the bin index of an instant (the spare bin past the end)."""
        return min(int(at_s / self.interval_s), self.n_bins)

    def add_times(
        self,
        name: str,
        times_s: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        ordered: bool = False,
    ) -> None:
        """Count events (or add `weights`) at the given instants into `name`.

        Touches only the bins the events fall in, so a block of events
        costs the same in a run of a minute as in a run of a day.
        `ordered` says the times are ascending, which saves two scans.
        """
        column = self.column(name)
        if not len(times_s):
            return
        bins = np.minimum((times_s / self.interval_s).astype(np.int64), self.n_bins)
        if ordered:
            low, high = int(bins[0]), int(bins[-1])
        else:
            low, high = int(bins.min()), int(bins.max())
        column[low : high + 1] += np.bincount(
            bins - low, weights=weights, minlength=high - low + 1
        )

    def frame_columns(self) -> dict[str, np.ndarray]:
        """Return the columns (spare bin folded into the last), plus `time_s`."""
        out = {"time_s": np.arange(self.n_bins) * self.interval_s}
        for name, array in self.columns.items():
            fold = np.maximum if name in self._peaks else np.add
            if name in self.tallies:
                array = fold(array, np.array(self.tallies[name], dtype=float))
            folded = array[: self.n_bins].copy()
            folded[-1] = fold(folded[-1], array[-1])
            out[name] = folded
        return out


class _Histogram:
    """Counts in geometric buckets of ratio `growth` from `low_s` up."""

    def __init__(self, growth: float, low_s: float = 1e-6, high_s: float = 1e7) -> None:
        self.growth, self.low_s = growth, low_s
        self._log_growth = math.log(growth)
        self.n_buckets = int(math.log(high_s / low_s) / self._log_growth) + 2

    def index(self, values_s: np.ndarray) -> np.ndarray:
        scaled = (
            np.log(np.maximum(values_s, self.low_s) / self.low_s) / self._log_growth
        )
        return np.minimum(scaled.astype(np.int64) + 1, self.n_buckets - 1) * (
            values_s >= self.low_s
        )

    def value(self, index: np.ndarray) -> np.ndarray:
        """Return each bucket's geometric midpoint, in seconds."""
        index = np.asarray(index, dtype=np.float64)
        mid = self.low_s * self.growth ** (index - 0.5)
        return np.where(index == 0, 0.0, mid)

    def quantiles(self, counts: np.ndarray, qs: np.ndarray) -> np.ndarray:
        """Return quantiles along the last axis of `counts` (NaN if empty)."""
        cumulative = np.cumsum(counts, axis=-1)
        total = cumulative[..., -1:]
        targets = np.asarray(qs) * total  # shape (..., len(qs))
        found = np.empty(targets.shape, dtype=np.int64)
        for position in np.ndindex(cumulative.shape[:-1]):
            found[position] = np.searchsorted(cumulative[position], targets[position])
        values = self.value(np.minimum(found, self.n_buckets - 1))
        return np.where(total > 0, values, np.nan)


class LatencyRecorder:
    """Latency statistics of one kind (e.g. end-to-end) over a run.

    Keeps exact count, mean, min and max; percentiles from a 1%-ratio
    histogram; and a coarse (10%) histogram per time bin for plots.
    """

    QUANTILES = (0.5, 0.95, 0.99)
    _BUFFER = 1 << 16

    def __init__(self, duration_s: float, bins: int = LATENCY_BINS) -> None:
        self.fine = _Histogram(1.02)
        self.coarse = _Histogram(1.1)
        self.counts = np.zeros(self.fine.n_buckets, dtype=np.int64)
        self.bin_s = auto_interval(duration_s, bins)
        self.n_bins = max(1, math.ceil(duration_s / self.bin_s - 1e-9))
        self.by_time = np.zeros((self.n_bins, self.coarse.n_buckets), dtype=np.int64)
        # The total in whole microseconds: integer sums do not depend on
        # the order latencies arrive in, so neither does the mean.
        self.count, self.total_us = 0, 0
        self.min_s, self.max_s = math.inf, 0.0
        self._values = np.empty(self._BUFFER)
        self._times = np.empty(self._BUFFER)
        self._used = 0

    def add(self, at_s: float | np.ndarray, values_s: np.ndarray) -> None:
        """Record latencies of work that finished at `at_s` (one or each)."""
        n = len(values_s)
        if n == 0:
            return
        if self._used + n > self._BUFFER:
            self.flush()
            if n > self._BUFFER:
                self._record(
                    np.broadcast_to(at_s, n), np.asarray(values_s, dtype=float)
                )
                return
        self._values[self._used : self._used + n] = values_s
        self._times[self._used : self._used + n] = at_s
        self._used += n

    def add_one(self, at_s: float, value_s: float) -> None:
        """Record a single latency."""
        if self._used >= self._BUFFER:
            self.flush()
        self._values[self._used] = value_s
        self._times[self._used] = at_s
        self._used += 1

    def flush(self) -> None:
        """Fold buffered latencies into the histograms."""
        if self._used:
            self._record(self._times[: self._used], self._values[: self._used])
            self._used = 0

    def _record(self, times_s: np.ndarray, values_s: np.ndarray) -> None:
        self.count += len(values_s)
        self.total_us += _whole_microseconds(values_s)
        self.min_s = min(self.min_s, float(values_s.min()))
        self.max_s = max(self.max_s, float(values_s.max()))
        self.counts += np.bincount(
            self.fine.index(values_s), minlength=len(self.counts)
        )
        rows = np.minimum((times_s / self.bin_s).astype(np.int64), self.n_bins - 1)
        flat = rows * self.coarse.n_buckets + self.coarse.index(values_s)
        self.by_time += np.bincount(flat, minlength=self.by_time.size).reshape(
            self.by_time.shape
        )

    def stats_ms(self) -> dict[str, float | None]:
        """Return p50, p95, p99, max and mean in milliseconds (None if empty)."""
        self.flush()
        if self.count == 0:
            return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
        values = self.fine.quantiles(self.counts, np.array(self.QUANTILES))
        values = np.clip(values, self.min_s, self.max_s)
        out = {
            f"p{round(q * 100)}": float(v) * 1000
            for q, v in zip(self.QUANTILES, values, strict=True)
        }
        out["max"] = self.max_s * 1000
        out["mean"] = self.total_us / self.count / 1000
        return out

    def over_time_ms(self) -> dict[str, np.ndarray]:
        """Return per-bin percentiles (ms) and counts for plotting."""
        self.flush()
        values = self.coarse.quantiles(self.by_time, np.array(self.QUANTILES)) * 1000
        out = {"time_s": np.arange(self.n_bins) * self.bin_s}
        for column, q in enumerate(self.QUANTILES):
            out[f"p{round(q * 100)}_ms"] = values[:, column]
        out["count"] = self.by_time.sum(axis=1)
        return out


def _whole_microseconds(values_s: np.ndarray) -> int:
    """Return the sum of `values_s` in whole microseconds, exactly.

    Summed in int64 pieces of 4,096, each safe from overflow for values
    up to 70 years, then as Python integers.
    """
    micros = np.rint(values_s * 1e6).astype(np.int64)
    return sum(np.add.reduceat(micros, np.arange(0, len(micros), 4096)).tolist())
