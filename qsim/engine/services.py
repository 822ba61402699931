"""Synchronous services: pools of workers with a FIFO wait queue.

A service has `instances` x `workers` workers. A request takes a free
worker or waits in FIFO order (up to `max_queue` waiting, else it is
rejected). The pool only hands out and takes back workers; its owner
decides how long each is held. Optional target-tracking autoscaling
measures utilisation every evaluation period and launches instances
that start serving after `startup_delay` (§8.7), or retires instances
after the cooldown.

Simplifications: an instance being retired stops taking new requests
at once but finishes those it has; load is balanced perfectly, so the
pool behaves as one queue in front of all workers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

__all__ = ["ServicePool"]


class ServicePool:
    """Workers and a FIFO queue of waiting request ids.

    Args:
        env: the SimPy environment.
        spec: a scenario `frontend` or `backend` section.
        on_start: called with a request id when it gets a worker.
        is_wanted: called before starting a waiting request; a request
            whose caller has gone is dropped instead of started.
    """

    def __init__(
        self,
        env,
        spec,
        on_start: Callable[[int], None],
        is_wanted: Callable[[int], bool],
    ) -> None:
        self.env = env
        self.workers_per_instance = spec.workers
        scaling = spec.autoscaling
        self.instances = scaling.min_instances if scaling else spec.instances
        self.capacity = self.instances * spec.workers
        self.max_queue = math.inf if spec.max_queue is None else spec.max_queue
        self.on_start, self.is_wanted = on_start, is_wanted
        self.busy = 0
        self.waiting: deque[int] = deque()
        self.busy_area = 0.0  # worker-seconds in use
        self.capacity_area = 0.0  # worker-seconds available
        self.instance_area = 0.0  # instance-seconds running (billed)
        self._since = 0.0
        self.launching = 0
        self.peak_waiting = 0
        if scaling is not None:
            env.process(_Autoscaler(self, scaling).run())

    def offer(self, rid: int) -> bool:
        """Start `rid` now or queue it; return False if it is rejected."""
        if self.busy < self.capacity:
            self._account()
            self.busy += 1
            self.on_start(rid)
            return True
        if len(self.waiting) >= self.max_queue:
            return False
        self.waiting.append(rid)
        if len(self.waiting) > self.peak_waiting:
            self.peak_waiting = len(self.waiting)
        return True

    def release(self) -> None:
        """Free a worker and give it to the next waiting request."""
        self._account()
        self.busy -= 1
        self._start_waiting()

    def _start_waiting(self) -> None:
        waiting = self.waiting
        while waiting and self.busy < self.capacity:
            rid = waiting.popleft()
            if self.is_wanted(rid):
                self.busy += 1
                self.on_start(rid)

    def resize(self, instances: int) -> None:
        """Change the number of instances serving (autoscaling)."""
        self._account()
        self.instances = instances
        self.capacity = instances * self.workers_per_instance
        self._start_waiting()

    def _account(self) -> None:
        now = self.env.now
        elapsed = now - self._since
        if elapsed > 0:
            self.busy_area += self.busy * elapsed
            self.capacity_area += self.capacity * elapsed
            self.instance_area += (self.instances + self.launching) * elapsed
            self._since = now

    def close(self) -> None:
        """Bring the time integrals up to the current time."""
        self._account()


class _Autoscaler:
    """Target tracking: desired = ceil(instances x utilisation / target)."""

    def __init__(self, pool: ServicePool, spec) -> None:
        self.pool, self.spec = pool, spec
        self.last_change_at = -math.inf

    def run(self):
        pool, spec, env = self.pool, self.spec, self.pool.env
        while True:
            pool._account()
            busy0, capacity0 = pool.busy_area, pool.capacity_area
            yield env.timeout(spec.evaluation_period)
            pool._account()
            capacity = pool.capacity_area - capacity0
            utilisation = (pool.busy_area - busy0) / capacity if capacity else 1.0
            if pool.waiting:
                utilisation = max(utilisation, 1.0)
            desired = math.ceil(pool.instances * utilisation / spec.target_utilization)
            desired = min(spec.max_instances, max(spec.min_instances, desired))
            planned = pool.instances + pool.launching
            if desired > planned:
                self._launch(desired - planned)
            elif (
                desired < pool.instances
                and not pool.launching
                and (env.now - self.last_change_at >= spec.cooldown)
            ):
                pool.resize(desired)
                self.last_change_at = env.now

    def _launch(self, count: int) -> None:
        pool = self.pool
        pool._account()
        pool.launching += count
        self.last_change_at = pool.env.now

        def in_service(_event) -> None:
            pool._account()
            pool.launching -= count
            pool.resize(pool.instances + count)

        pool.env.timeout(self.spec.startup_delay).callbacks.append(in_service)
