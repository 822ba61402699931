"""The asynchronous topology: user -> [A] -> SQS -> Lambda doing B's work.

A tick process, once per time-series interval, samples the queue's
levels. Every few ticks it also draws the next block of requests, turns
them into sends (through service A in a side environment run one block
ahead, when the scenario has one) and hands the block to the queue.
Blocks span several ticks (up to `BLOCK_S`, and about `BLOCK_MESSAGES`
at the peak rate): each costs a fixed few dozen numpy calls, and the
results do not depend on where blocks are cut. Pollers, invocations and
the scaler run as their own processes.
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

BLOCK_S = 10.0  # longest block of requests drawn at once
BLOCK_MESSAGES = 16_384  # ... and about its most messages at the peak rate


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
        self.ticks_per_block = _ticks_per_block(
            self.requests.arrivals.peak_rate(), self.interval_s
        )
        self.partition_rng = streams["partitions"]
        self.delay_s = scenario.queue.delay
        self.queue_faults = faults["queue"]
        self.send_errors = streams["queue-send-errors"]
        self.send_latency = Sampler(
            scenario.queue.send_latency, streams["send-latency"]
        )
        self.peak_messages = 0  # most messages in the queue at a sample
        self._oldest_sent_at_s = 0.0  # of live messages, at the last sample
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
        per_block = self.ticks_per_block
        for b in range(self.series.n_bins):
            start, end = b * step, min((b + 1) * step, duration)
            self._sample(b, start)
            if b % per_block == 0:
                block_end = min((b + per_block) * step, duration)
                block = self.requests.block(start, block_end)
                self._enqueue(*self._sends(block, start, block_end))
                self.queue.admit_until(block_end)
            # Nothing sent since the sample can be older than its oldest.
            self.queue.expire_heads(start, self._oldest_sent_at_s)
            if self.progress is not None:
                self.progress(end)
            yield self.env.timeout(end - start)

    def _sample(self, b: int, now: float) -> None:
        """Record the levels just before `now`.

        Messages arriving or returning at exactly `now` (constant rates
        and timeouts often land on the tick) count in the next sample, as
        pollers get no chance to take them at the same instant.
        """
        queue, column = self.queue, self.series.column
        queue.flush()
        before = float(np.nextafter(now, -np.inf))
        visible = queue.visible_count(before)  # first: returns what is due
        in_flight = queue.in_flight_count(before)
        delayed = queue.delayed_count(before)
        column("visible")[b] = visible
        column("in_flight")[b] = in_flight
        column("delayed")[b] = delayed
        self.peak_messages = max(self.peak_messages, visible + in_flight + delayed)
        oldest = self._oldest_sent_at_s = self.store.oldest_sent_at_s()
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
        # Scaled uniforms, not `integers`: the same partitions however the
        # run is cut into blocks.
        partitions = self.partition_rng.random(n) * self.queue.partitions
        store.partition[ids] = partitions.astype(np.int32)
        self.queue.send(ids, stored + self.delay_s)


def _ticks_per_block(peak_rate: float, interval_s: float) -> int:
    """Return how many time-series ticks one block of requests spans."""
    span_s = min(BLOCK_S, BLOCK_MESSAGES / peak_rate) if peak_rate > 0 else BLOCK_S
    return max(1, int(span_s // interval_s))
