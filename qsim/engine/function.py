"""The Lambda function: execution environments and the handler's work.

An invocation needs an execution environment. A warm idle one is reused
(most recently used first); otherwise a new one is created and pays a
cold start, the INIT phase, billed since August 2025 (§6.6). Idle
environments are reclaimed after `idle_environment_lifetime` (§6.15).
The handler's duration is a per-invocation overhead plus the work of
each message in turn, capped by the function timeout (§6.10).

Simplifications: INIT is capped at Lambda's 10 s limit (§6.13) instead
of being retried; environments are never pre-initialised (§6.14);
Lambda's own per-function scaling rate (§6.9) is never the bottleneck.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from qsim.engine.sampling import Sampler

__all__ = ["ExecutionEnvironments", "Handler", "Outcome"]

INIT_LIMIT_S = 10.0  # §6.13
_SMALL_BATCH = 16


class ExecutionEnvironments:
    """Warm and busy execution environments of one function."""

    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._idle_since: deque[float] = deque()
        self.busy = 0
        self.cold_starts = 0

    def acquire(self, now: float) -> bool:
        """Take an environment; return True when it is a cold start."""
        self._reclaim(now)
        self.busy += 1
        if self._idle_since:
            self._idle_since.pop()
            return False
        self.cold_starts += 1
        return True

    def release(self, now: float) -> None:
        """Hand an environment back, idle from `now`."""
        self.busy -= 1
        self._idle_since.append(now)

    def count(self, now: float) -> int:
        """Return the environments alive (busy or warm) at `now`."""
        self._reclaim(now)
        return self.busy + len(self._idle_since)

    def _reclaim(self, now: float) -> None:
        idle, oldest = self._idle_since, now - self.lifetime_s
        while idle and idle[0] <= oldest:
            idle.popleft()


@dataclass(slots=True)
class Outcome:
    """What one invocation did to its batch."""

    duration_s: float  # from the invoke to the handler's return
    billed_s: float  # init plus handler, rounded up to 1 ms
    failed: np.ndarray | None  # per message: True to retry; None if all passed
    error: bool  # the invocation as a whole failed (error or timeout)
    timed_out: bool


class Handler:
    """Draw an invocation's duration and outcome from the scenario.

    Args:
        function: the scenario's `function` section.
        backend: the scenario's `backend` section (B's work, per message).
        streams: the run's random streams.
        faults: `(function_faults, backend_faults)` schedules.
    """

    def __init__(
        self, function, backend, streams, faults, poison_possible: bool
    ) -> None:
        self.timeout_s = function.timeout
        self.poison_possible = poison_possible
        self.report_item_failures = function.report_batch_item_failures
        self.function_faults, self.backend_faults = faults
        self.init = Sampler(function.init_duration, streams["init"], upper=INIT_LIMIT_S)
        self.overhead = Sampler(function.invocation_overhead, streams["overhead"])
        self.invoke_latency = Sampler(function.invoke_latency, streams["invoke"])
        self._rng = streams["handler-errors"]
        # Nothing can fail or slow down: `run` needs no fault checks.
        self._flawless = not poison_possible and all(
            faults.always_up and faults.no_slowdowns and not faults.error_rate
            for faults in (self.function_faults, self.backend_faults)
        )

    def run(self, now: float, cold: bool, store, ids: list[int]) -> Outcome:
        """Return the outcome of invoking the handler on a batch at `now`."""
        if len(ids) == 1:
            work_s = store.work_s.item(ids[0])
        elif len(ids) <= _SMALL_BATCH:  # scalar reads beat numpy's call overhead
            work_s = sum(map(store.work_s.item, ids))
        else:
            work_s = float(store.work_s[ids].sum())
        init_s = self.init.one() if cold else 0.0
        latency_s = self.invoke_latency.one()
        handler_s = self.overhead.one() + work_s
        if self._flawless and handler_s <= self.timeout_s:
            billed_s = math.ceil((init_s + handler_s) * 1000 - 1e-9) / 1000
            return Outcome(latency_s + init_s + handler_s, billed_s, None, False, False)
        return self._troubled(
            store,
            ids,
            start=now + latency_s + init_s,
            parts_s=(latency_s, init_s, handler_s),
        )

    def _troubled(
        self, store, ids: list[int], *, start: float, parts_s: tuple[float, ...]
    ) -> Outcome:
        """Finish `run` when faults, errors or a timeout may apply.

        `start` is when the handler starts; `parts_s` holds the invoke
        latency, INIT and the handler's undisturbed duration.
        """
        latency_s, init_s, handler_s = parts_s
        if not (self.backend_faults.no_slowdowns and self.function_faults.no_slowdowns):
            handler_s += self.backend_faults.extra_latency(start) * len(ids)
            handler_s += self.function_faults.extra_latency(start)
        timed_out = handler_s > self.timeout_s
        handler_s = min(handler_s, self.timeout_s)
        error = (
            timed_out
            or self.function_faults.is_down(start)
            or (
                self.function_faults.error_rate > 0
                and self._rng.random() < self.function_faults.error_rate
            )
        )
        if error:
            failed = np.ones(len(ids), dtype=bool)
        else:
            failed = self._failed_messages(start, store, ids)
        billed_s = math.ceil((init_s + handler_s) * 1000 - 1e-9) / 1000
        return Outcome(
            latency_s + init_s + handler_s, billed_s, failed, error, timed_out
        )

    def _failed_messages(
        self, start: float, store, ids: list[int]
    ) -> np.ndarray | None:
        """Return which messages failed, or None when none did."""
        if self.backend_faults.is_down(start):
            return np.ones(len(ids), dtype=bool)
        failed = store.poison[ids] if self.poison_possible else None
        rate = self.backend_faults.error_rate
        if rate > 0:
            errors = self._rng.random(len(ids)) < rate
            failed = errors if failed is None else failed | errors
        return failed if failed is not None and failed.any() else None
