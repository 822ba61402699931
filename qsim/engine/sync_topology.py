"""The synchronous topology: user -> [A] -> B, each caller waiting.

A tick process, once per time-series interval, samples the services'
levels and starts a process that delivers the next block of requests
at their arrival times; everything else is callbacks on timeouts.
"""

from __future__ import annotations

import simpy

from qsim.engine.records import TopologyRecord
from qsim.engine.requests import RequestFlow, RequestStream

__all__ = ["SyncTopology"]


class SyncTopology:
    """Build and run the sync topology for one scenario and seed."""

    name = "sync"

    def __init__(
        self, scenario, streams, faults, record: TopologyRecord, *, progress=None
    ):
        self.scenario, self.record, self.progress = scenario, record, progress
        self.env = simpy.Environment()
        self.series = record.series
        self.requests = RequestStream(scenario, streams)
        self.flow = RequestFlow(
            self.env, scenario, "backend", faults, streams=streams, record=record
        )

    def run(self) -> None:
        """Simulate the whole scenario."""
        self.env.process(self._ticks())
        self.env.run(until=self.scenario.duration)
        for pool in self.flow.pools().values():
            pool.close()

    def _ticks(self):
        duration, step = self.scenario.duration, self.series.interval_s
        pools = self.flow.pools()
        column = self.series.column
        for b in range(self.series.n_bins):
            start, end = b * step, min((b + 1) * step, duration)
            for name, pool in pools.items():
                column(f"{name}_busy")[b] = pool.busy
                column(f"{name}_waiting")[b] = len(pool.waiting)
                column(f"{name}_instances")[b] = pool.instances
            self.env.process(self.flow.feed(self.requests.block(start, end)))
            if self.progress is not None:
                self.progress(end)
            yield self.env.timeout(end - start)
