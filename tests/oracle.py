"""A plain SimPy model of the async flow, kept simple on purpose: a test oracle.

Producers put messages on a FIFO queue; a fixed number of pollers
long-poll it: a waiting poll takes, as soon as any message is visible,
everything visible up to the batch size, and runs one invocation. Every
receive starts its own visibility-timeout process that makes its
messages visible again, together, unless deleted with that receipt. A message
received `max_receive_count` times goes to the dead-letter queue on its
next receive. Poison messages always fail; without partial batch
responses a failure returns the whole batch.

Simplifications (the cases compared with qsim avoid them): one partition,
no scaler (fixed pollers), no send, invoke or INIT latency, no throttling,
no retention, no delay, no duplicates from SQS itself, no billing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import simpy

__all__ = ["OracleResult", "OracleSpec", "simulate"]


@dataclass(frozen=True)
class OracleSpec:
    """What to simulate, in seconds and messages per second."""

    duration_s: float
    rate_per_s: float
    work_mean_s: float  # per message
    pollers: int
    batch_size: int = 1  # at most 10: one receive, no batching window
    arrivals: str = "poisson"  # or "constant": k / rate for k = 0, 1, ...
    work: str = "exponential"  # or "constant"
    overhead_s: float = 0.0  # per invocation
    visibility_timeout_s: float = 30.0
    poison_fraction: float = 0.0
    max_receive_count: int | None = None
    report_batch_item_failures: bool = True


@dataclass
class OracleResult:
    """Counts and per-message latencies of one oracle run."""

    sent: int = 0
    processed: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    invocations: int = 0
    received: int = 0
    latencies_s: list[float] = field(default_factory=list)

    @property
    def mean_latency_s(self) -> float:
        return float(np.mean(self.latencies_s)) if self.latencies_s else math.nan


class _Message:
    def __init__(self, sent_at_s: float, work_s: float, poison: bool) -> None:
        self.sent_at_s, self.work_s, self.poison = sent_at_s, work_s, poison
        self.receive_count = 0
        self.receipt: object | None = None
        self.deleted = False
        self.processed = False


class _Queue:
    """Visible messages in order, and long polls waiting for them."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.visible: deque[_Message] = deque()
        self.waiting: deque[tuple[simpy.Event, int]] = deque()

    def put(self, messages: list[_Message]) -> None:
        self.visible.extend(messages)
        self._serve()

    def receive(self, max_messages: int) -> simpy.Event:
        """Long-poll: an event whose value is a list of 1..max messages."""
        event = self.env.event()
        self.waiting.append((event, max_messages))
        self._serve()
        return event

    def _serve(self) -> None:
        while self.waiting and self.visible:
            event, n = self.waiting.popleft()
            take = min(n, len(self.visible))
            event.succeed([self.visible.popleft() for _ in range(take)])


class _Model:
    def __init__(self, spec: OracleSpec, seed: int) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.env = simpy.Environment()
        self.queue = _Queue(self.env)
        self.result = OracleResult()

    def run(self) -> OracleResult:
        self.env.process(self.produce())
        for _ in range(self.spec.pollers):
            self.env.process(self.poll())
        self.env.run(until=self.spec.duration_s)
        return self.result

    def produce(self):
        spec, env = self.spec, self.env
        k = 0
        while True:
            if spec.arrivals == "constant":
                at_s = k / spec.rate_per_s
            else:
                at_s = env.now + self.rng.exponential(1 / spec.rate_per_s)
            if at_s >= spec.duration_s:
                return
            yield env.timeout(at_s - env.now)
            k += 1
            work_s = spec.work_mean_s
            if spec.work == "exponential":
                work_s = self.rng.exponential(spec.work_mean_s)
            poison = self.rng.random() < spec.poison_fraction
            self.result.sent += 1
            self.queue.put([_Message(env.now, work_s, poison)])

    def poll(self):
        spec, env = self.spec, self.env
        while True:
            candidates = yield self.queue.receive(spec.batch_size)
            receipt = object()
            batch = [m for m in candidates if self.receive(m, receipt)]
            if not batch:
                continue
            env.process(self.visibility(batch, receipt))
            self.result.invocations += 1
            yield env.timeout(spec.overhead_s + sum(m.work_s for m in batch))
            self.settle(batch, receipt)

    def receive(self, message: _Message, receipt: object) -> bool:
        """Receive one message; return False if it went to the DLQ instead."""
        limit = self.spec.max_receive_count
        if limit is not None and message.receive_count >= limit:
            if not message.processed:
                self.result.dead_lettered += 1
            return False
        message.receive_count += 1
        message.receipt = receipt
        self.result.received += 1
        return True

    def visibility(self, batch: list[_Message], receipt: object):
        """Make a receive's undeleted messages visible again, together."""
        yield self.env.timeout(self.spec.visibility_timeout_s)
        back = [m for m in batch if not m.deleted and m.receipt is receipt]
        for message in back:
            message.receipt = None
        self.queue.put(back)

    def settle(self, batch: list[_Message], receipt: object) -> None:
        now = self.env.now
        whole_batch = not self.spec.report_batch_item_failures and any(
            m.poison for m in batch
        )
        for message in batch:
            if message.poison:
                continue
            if message.processed:
                self.result.duplicates += 1
            else:
                message.processed = True
                self.result.processed += 1
                self.result.latencies_s.append(now - message.sent_at_s)
            if not whole_batch and message.receipt is receipt:
                message.deleted = True


def simulate(spec: OracleSpec, seed: int) -> OracleResult:
    """Run the oracle once and return its counts and latencies."""
    return _Model(spec, seed).run()
