"""Arrival times of users' requests, produced a block at a time.

A rate profile λ(t) (flat, k6-style stages, diurnal) drives either a
Poisson process (non-homogeneous, by thinning) or evenly spaced
arrivals (the n-th arrival where the cumulative rate reaches n). A trace
replays recorded timestamps or spreads per-second counts uniformly.
Blocks are contiguous and cover [0, duration) exactly once, so the
stream does not depend on the block length's alignment with anything.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ArrivalSource", "RateProfile"]


class RateProfile:
    """λ(t) in arrivals per second, vectorised over time."""

    def __init__(self, workload) -> None:
        self.kind = "flat"
        if workload.stages:
            self.kind = "stages"
            ends = np.cumsum([stage.duration for stage in workload.stages])
            self.ends = ends
            self.starts = np.concatenate([[0.0], ends[:-1]])
            self.rates = np.array([stage.rate for stage in workload.stages])
            previous = np.concatenate([[workload.start_rate], self.rates[:-1]])
            self.from_rates = previous if workload.ramp == "linear" else self.rates
        elif workload.diurnal is not None:
            self.kind = "diurnal"
            self.diurnal = workload.diurnal
        else:
            self.flat = float(workload.rate or 0.0)

    def rate_at(self, times_s: np.ndarray) -> np.ndarray:
        """Return λ at each time."""
        times_s = np.asarray(times_s, dtype=float)
        if self.kind == "flat":
            return np.full(times_s.shape, self.flat)
        if self.kind == "diurnal":
            d = self.diurnal
            phase = 2 * math.pi * (times_s - d.peak_at) / d.period
            return d.mean_rate * (1 + d.amplitude * np.cos(phase))
        index = np.minimum(np.searchsorted(self.ends, times_s, side="right"), len(self.ends) - 1)
        fraction = np.clip((times_s - self.starts[index]) / (self.ends - self.starts)[index], 0, 1)
        rates = self.from_rates[index] + (self.rates[index] - self.from_rates[index]) * fraction
        return rates

    def max_rate(self, start_s: float, end_s: float) -> float:
        """Return an upper bound of λ over [start_s, end_s]."""
        if self.kind == "flat":
            return self.flat
        if self.kind == "diurnal":
            return self.diurnal.mean_rate * (1 + self.diurnal.amplitude)
        inside = (self.starts < end_s) & (self.ends > start_s)
        inside[-1] |= end_s > self.ends[-1]
        return float(max(self.rates[inside].max(initial=0), self.from_rates[inside].max(initial=0)))


class ArrivalSource:
    """Yield sorted arrival times block by block: `block(start, end)`."""

    def __init__(self, workload, duration_s: float, rng: np.random.Generator) -> None:
        self.process = workload.arrivals
        self.duration_s = duration_s
        self.rng = rng
        if self.process == "trace":
            self._trace = _trace_times(workload.trace, duration_s, rng)
        else:
            self.profile = RateProfile(workload)
            self._cumulative = 0.0  # evenly spaced: Λ(start of the next block)

    def block(self, start_s: float, end_s: float) -> np.ndarray:
        """Return the arrival times in [start_s, end_s), sorted."""
        end_s = min(end_s, self.duration_s)
        if end_s <= start_s:
            return np.empty(0)
        if self.process == "trace":
            low, high = np.searchsorted(self._trace, [start_s, end_s])
            return self._trace[low:high]
        if self.process == "poisson":
            return self._poisson(start_s, end_s)
        return self._evenly(start_s, end_s)

    def _poisson(self, start_s: float, end_s: float) -> np.ndarray:
        bound = self.profile.max_rate(start_s, end_s)
        if bound <= 0:
            return np.empty(0)
        count = self.rng.poisson(bound * (end_s - start_s))
        times = np.sort(self.rng.uniform(start_s, end_s, count))
        if self.profile.kind == "flat":
            return times
        keep = self.rng.random(count) * bound < self.profile.rate_at(times)
        return times[keep]

    def _evenly(self, start_s: float, end_s: float) -> np.ndarray:
        """Arrivals where Λ crosses 0, 1, 2, ... (the first at t = 0)."""
        if self.profile.kind == "flat":
            rate = self.profile.flat
            if rate <= 0:
                return np.empty(0)
            first = math.ceil(start_s * rate - 1e-9)
            last = math.ceil(end_s * rate - 1e-9)
            return np.arange(first, last) / rate
        grid = np.linspace(start_s, end_s, 257)
        rates = self.profile.rate_at(grid)
        steps = (rates[1:] + rates[:-1]) * np.diff(grid) / 2
        cumulative = self._cumulative + np.concatenate([[0.0], np.cumsum(steps)])
        self._cumulative = cumulative[-1]
        first = math.ceil(cumulative[0] - 1e-9)
        last = math.ceil(cumulative[-1] - 1e-9)
        return np.interp(np.arange(first, last), cumulative, grid)


def _trace_times(trace, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    values = np.asarray(trace.values, dtype=float)
    if trace.format == "counts":
        seconds = np.repeat(np.arange(len(values)), values.astype(np.int64))
        times = seconds + rng.random(len(seconds))
    else:
        times = values * (0.001 if trace.unit == "ms" else 1.0)
        times = times - times.min()
    times = np.sort(times) / trace.speedup
    return times[times < duration_s]
