"""The asynchronous topology: user -> [A] -> SQS -> Lambda doing B's work.

A tick process, once per time-series interval, samples the queue's
levels, draws the next block of requests, turns them into sends (through
service A in a side environment run one block ahead, when the scenario
has one) and hands the block to the queue. Pollers, invocations and the
scaler run as their own processes.
"""

from __future__ import annotations

import numpy as np
import simpy

from qsim.engine.event_source import EventSourceMapping
from qsim.engine.function import ExecutionEnvironments, Handler
from qsim.engine.queue import SqsQueue
from qsim.engine.records import MessageLog, TopologyRecord
from qsim.engine.requests import MAX_MESSAGE_BYTES, RequestFlow, RequestStream
from qsim.engine.sampling import Sampler
from qsim.engine.store import MessageStore

__all__ = ["AsyncTopology"]


class AsyncTopology:
    """Build and run the async topology for one scenario and seed."""

    name = "async"

    def __init__(
        self,
        scenario,
        streams,
        faults,
        record: TopologyRecord,
        *,
        progress=None,
        keep_messages: bool = False,
    ):
        self.scenario, self.record, self.progress = scenario, record, progress
        self.env = simpy.Environment()
        self.series = record.series
        self.interval_s = self.series.interval_s
        self._build_lambda_side(scenario, streams, faults, keep_messages)
        self.requests = RequestStream(scenario, streams)
        self.partition_rng = streams["partitions"]
        self.delay_s = scenario.queue.delay
        self.queue_faults = faults["queue"]
        self.send_errors = streams["queue-send-errors"]
        self.send_latency = Sampler(
            scenario.queue.send_latency, streams["send-latency"]
        )
        self.flow = None
        if scenario.frontend is not None:
            self.side_env = simpy.Environment()
            self.flow = RequestFlow(
                self.side_env,
                scenario,
                "queue",
                faults,
                streams=streams,
                record=record,
                on_sent=self._collect,
            )
            self._sent: list[tuple] = []

    def _build_lambda_side(self, scenario, streams, faults, keep_messages) -> None:
        """Build the queue, the function and the event source mapping."""
        self.store = MessageStore()
        size = scenario.workload.message_size
        largest = size.value if size.dist == "constant" else MAX_MESSAGE_BYTES
        self.queue = SqsQueue(
            self.env,
            scenario.queue,
            self.store,
            rng=streams["queue"],
            series=self.series,
            faults=faults["queue"],
            max_message_bytes=largest,
        )
        if keep_messages:
            self.queue.log = MessageLog(self.store)
        lifetime_s = scenario.function.idle_environment_lifetime
        self.environments = ExecutionEnvironments(lifetime_s)
        handler = Handler(
            scenario.function,
            scenario.backend,
            streams,
            (faults["function"], faults["backend"]),
            poison_possible=scenario.workload.poison_fraction > 0,
        )
        self.esm = EventSourceMapping(
            self.env,
            scenario,
            self.queue,
            environments=self.environments,
            handler=handler,
            series=self.series,
            latency=self.record.end_to_end,
        )

    def run(self) -> None:
        """Simulate the whole scenario."""
        self.env.process(self._ticks())
        self.esm.start()
        self.env.run(until=self.scenario.duration)
        if self.flow is not None:
            for pool in self.flow.pools().values():
                pool.close()

    # --- the tick --------------------------------------------------------

    def _ticks(self):
        duration, step = self.scenario.duration, self.interval_s
        for b in range(self.series.n_bins):
            start, end = b * step, min((b + 1) * step, duration)
            self._sample(b, start)
            block = self.requests.block(start, end)
            self._enqueue(*self._sends(block, start, end))
            self.queue.admit_until(end)
            self.queue.expire_heads(start)
            if self.progress is not None:
                self.progress(end)
            yield self.env.timeout(end - start)

    def _sample(self, b: int, now: float) -> None:
        queue, column = self.queue, self.series.column
        queue.flush()
        visible = queue.visible_count(now)  # first: returns what is due
        in_flight, staged = queue.inflight.count, queue.staged_count()
        column("visible")[b] = visible
        column("in_flight")[b] = in_flight
        column("delayed")[b] = staged
        oldest = self.store.oldest_sent_at_s()
        column("oldest_age_s")[b] = max(0.0, now - oldest) if oldest < np.inf else 0.0
        column("environments")[b] = self.environments.count(now)
        column("dlq_size")[b] = queue.totals["dead_lettered"]
        column("pollers")[b] = self.esm.pollers
        limit = column("scaler_limit")
        limit[b] = max(limit[b], int(self.esm.limit))

    # --- requests become messages ----------------------------------------

    def _sends(self, block, start: float, end: float):
        """Return (created, sent, stored, work, size, poison) arrays."""
        if self.flow is not None:
            self.side_env.process(self.flow.feed(block))
            self.side_env.run(until=end)
            rows, self._sent = self._sent, []
            if not rows:
                return (np.empty(0),) * 6
            return tuple(np.array(column) for column in zip(*rows, strict=True))
        times = block.times_s
        n = len(times)
        self.record.block_arrivals(times)
        faults = self.queue_faults
        latency = self.send_latency.draw(n)
        if not faults.no_slowdowns:
            latency += faults.extra_latency_at(times)
        failures = {"queue_down": faults.down_mask(times)}
        if faults.error_rate:
            errors = self.send_errors.random(n) < faults.error_rate
            failures["queue_error"] = errors & ~failures["queue_down"]
        self.record.block_responses(times + latency, latency, failures)
        ok = ~np.logical_or.reduce(list(failures.values()))
        stored = times[ok] + latency[ok]
        return (
            times[ok],
            times[ok],
            stored,
            block.work_s[ok],
            block.size_bytes[ok],
            block.poison[ok],
        )

    def _collect(self, request, sent_at_s: float, stored_at_s: float) -> None:
        self._sent.append(
            (
                request.arrived_at_s,
                sent_at_s,
                stored_at_s,
                request.work_s,
                request.size,
                request.poison,
            )
        )

    def _enqueue(self, created, sent, stored, work, size, poison) -> None:
        n = len(created)
        if not n:
            return
        store = self.store
        ids = store.allocate(n)
        store.created_at_s[ids] = created
        store.sent_at_s[ids] = sent
        store.work_s[ids] = work
        store.size_bytes[ids] = size
        store.poison[ids] = poison
        store.partition[ids] = self.partition_rng.integers(0, self.queue.partitions, n)
        self.queue.send(ids, stored + self.delay_s)
