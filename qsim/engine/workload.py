"""Arrival times of users' requests, produced a block at a time.

A rate profile λ(t) (flat, k6-style stages, diurnal) drives either a
Poisson process (non-homogeneous, by thinning a homogeneous one at the
profile's peak rate) or evenly spaced arrivals (the n-th arrival where
the cumulative rate reaches n). A trace replays recorded timestamps or
spreads per-second counts uniformly. The times drawn do not depend on
how the run is cut into blocks, so changing the time-series interval
does not change the requests.
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
        index = np.minimum(
            np.searchsorted(self.ends, times_s, side="right"), len(self.ends) - 1
        )
        fraction = np.clip(
            (times_s - self.starts[index]) / (self.ends - self.starts)[index], 0, 1
        )
        rates = (
            self.from_rates[index]
            + (self.rates[index] - self.from_rates[index]) * fraction
        )
        return np.where(times_s < self.ends[-1], rates, 0.0)  # k6: then it stops

    def cumulative(self, times_s: np.ndarray) -> np.ndarray:
        """Return Λ(t), the expected number of arrivals in [0, t], exactly."""
        t = np.asarray(times_s, dtype=float)
        if self.kind == "flat":
            return self.flat * t
        if self.kind == "diurnal":
            d = self.diurnal
            omega = 2 * math.pi / d.period
            wave = np.sin(omega * (t - d.peak_at)) - math.sin(-omega * d.peak_at)
            return d.mean_rate * (t + d.amplitude * wave / omega)
        lengths = self.ends - self.starts
        areas = (self.from_rates + self.rates) / 2 * lengths
        before = np.concatenate([[0.0], np.cumsum(areas)])
        index = np.minimum(
            np.searchsorted(self.ends, t, side="right"), len(self.ends) - 1
        )
        into = np.clip(t - self.starts[index], 0, lengths[index])
        slope = (self.rates[index] - self.from_rates[index]) / lengths[index]
        within = self.from_rates[index] * into + slope * into**2 / 2
        return before[index] + within

    @property
    def changes_at(self) -> np.ndarray:
        """Return the times where λ's formula changes (stage boundaries)."""
        return self.ends if self.kind == "stages" else np.empty(0)

    def max_rate(self) -> float:
        """Return the largest λ over the whole profile."""
        if self.kind == "flat":
            return self.flat
        if self.kind == "diurnal":
            return self.diurnal.mean_rate * (1 + self.diurnal.amplitude)
        return float(max(self.rates.max(), self.from_rates.max()))


class _Candidates:
    """A homogeneous Poisson process at `rate`, read off in time order.

    Gaps are drawn in fixed batches, so the times do not depend on how
    the run is cut into blocks (or on the time-series interval).
    """

    _BATCH = 4096

    def __init__(self, rate: float, rng: np.random.Generator) -> None:
        self.rate, self.rng = rate, rng
        self._times = np.empty(0)
        self._last = 0.0

    def until(self, end_s: float) -> np.ndarray:
        """Return (and consume) the candidate times before `end_s`."""
        while not len(self._times) or self._times[-1] < end_s:
            gaps = self.rng.exponential(1 / self.rate, self._BATCH)
            times = self._last + np.cumsum(gaps)
            self._last = times[-1]
            self._times = np.concatenate([self._times, times])
        cut = int(np.searchsorted(self._times, end_s))
        taken, self._times = self._times[:cut], self._times[cut:]
        return taken


class ArrivalSource:
    """Yield sorted arrival times block by block: `block(start, end)`."""

    def __init__(
        self,
        workload,
        duration_s: float,
        rng: np.random.Generator,
        thinning_rng: np.random.Generator,
    ) -> None:
        self.process = workload.arrivals
        self.duration_s = duration_s
        self.rng, self.thinning_rng = rng, thinning_rng
        if self.process == "trace":
            self._trace = _trace_times(workload.trace, duration_s, rng)
            return
        self.profile = RateProfile(workload)
        bound = self.profile.max_rate()
        self._candidates = _Candidates(bound, rng) if bound > 0 else None

    def peak_rate(self) -> float:
        """Return the highest arrival rate (per second) the run can see."""
        if self.process == "trace":
            if not len(self._trace):
                return 0.0
            return float(np.bincount(self._trace.astype(np.int64)).max())
        return self.profile.max_rate()

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
        """Candidates at the profile's peak rate, thinned to λ(t)."""
        if self._candidates is None:
            return np.empty(0)
        times = self._candidates.until(end_s)
        if self.profile.kind == "flat":
            return times
        u = self.thinning_rng.random(len(times))
        return times[u * self._candidates.rate < self.profile.rate_at(times)]

    def _evenly(self, start_s: float, end_s: float) -> np.ndarray:
        """Arrivals where Λ crosses 0, 1, 2, ... (the first at t = 0)."""
        if self.profile.kind == "flat":
            rate = self.profile.flat
            if rate <= 0:
                return np.empty(0)
            first = math.ceil(start_s * rate - 1e-9)
            last = math.ceil(end_s * rate - 1e-9)
            return np.arange(first, last) / rate
        # Λ is exact at every grid point; the grid (fixed 50 ms steps plus
        # stage boundaries) makes the inversion exact for steps and within
        # microseconds for ramps and the diurnal wave, whatever the blocks.
        step = 0.05
        inner = (
            np.arange(math.floor(start_s / step) + 1, math.ceil(end_s / step)) * step
        )
        changes = self.profile.changes_at
        changes = changes[(changes > start_s) & (changes < end_s)]
        grid = np.unique(np.concatenate([[start_s], inner, changes, [end_s]]))
        cumulative = self.profile.cumulative(grid)
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
