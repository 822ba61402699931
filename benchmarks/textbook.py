"""Textbook SimPy models of the spike's async flow, as speed baselines.

`run_textbook` models the same flow as qsim's async topology, written
the way a SimPy tutorial would: one process per message for its send,
a `simpy.Store` as the queue, one process per poller (a long poll is a
`get` raced against a timeout), one visibility timer per receive, a
deque of warm execution environments, the scaler as a process, and
counters kept per second. It leaves out what the spike never exercises
(faults, errors, function timeouts and back-off, retention, short
polls, partitions, batching windows) and bills nothing, though it
counts the API calls and the GB-seconds.

`run_minimal` is the leaner baseline quoted before: arrivals straight
into the store, pollers that never time out or leave, no sends, no
visibility timeouts, cold starts or metrics. It does much less than
qsim, so it flatters the baseline.

Both draw from Python's `random`, whose scalar draws are faster than
numpy's.
"""

from __future__ import annotations

import math
import random
from collections import deque

import numpy as np
import simpy

__all__ = ["run_minimal", "run_textbook"]


class _Message:
    __slots__ = ("created_at", "receives", "done")

    def __init__(self, created_at: float) -> None:
        self.created_at = created_at
        self.receives = 0
        self.done = False


def _lognormal(rng: random.Random, spec):
    """Return a function drawing from a qsim lognormal or constant spec."""
    if spec.dist not in ("constant", "lognormal"):
        raise ValueError(f"the textbook model draws no {spec.dist!r} times")
    if spec.dist == "constant":
        return lambda: spec.value
    mu, sigma = math.log(spec.median), spec.sigma
    return lambda: rng.lognormvariate(mu, sigma)


class TextbookModel:
    """The spike's async flow, one SimPy process per moving part."""

    def __init__(self, scenario, seed: int = 1) -> None:
        rng = random.Random(seed)
        self.rng, self.env = rng, simpy.Environment()
        self.scenario = scenario
        self.queue = simpy.Store(self.env)
        queue, function = scenario.queue, scenario.function
        self.send_latency = _lognormal(rng, queue.send_latency)
        self.work = _lognormal(rng, scenario.backend.service_time)
        self.init = _lognormal(rng, function.init_duration)
        self.invoke_latency = _lognormal(rng, function.invoke_latency)
        self.overhead_s = function.invocation_overhead.value
        self.in_flight: dict[int, list[_Message]] = {}  # receipt -> messages
        self.next_receipt = 0
        self.idle_since: deque[float] = deque()  # warm environments
        self.pollers, self.running = 0, 0
        self.limit = function.scaling.initial_concurrency
        self.latencies: list[float] = []
        self.per_second = {
            name: [0] * (int(scenario.duration) + 1)
            for name in ("arrivals", "processed", "concurrency", "api_calls")
        }
        self.counts = dict.fromkeys(
            ("sent", "processed", "duplicates", "dead_lettered", "invocations",
             "cold_starts", "receive_calls", "empty_receives", "delete_calls"),
            0,
        )  # fmt: skip
        self.gb_s = 0.0

    def run(self) -> dict:
        """Simulate the scenario; return counts and latency percentiles."""
        env = self.env
        env.process(self.arrivals())
        env.process(self.scaler())
        self.spawn()
        env.run(until=self.scenario.duration)
        latencies = np.array(self.latencies)
        p50, p99 = np.percentile(latencies, [50, 99])
        return self.counts | {
            "max_concurrency": max(self.per_second["concurrency"]),
            "latency_p50_ms": 1000 * p50,
            "latency_p99_ms": 1000 * p99,
            "latency_mean_ms": 1000 * latencies.mean(),
        }

    def count(self, series: str, n: int = 1) -> None:
        """Add `n` to this second's bin of `series`."""
        self.per_second[series][int(self.env.now)] += n

    # --- producers and the queue ---------------------------------------

    def arrivals(self):
        """Poisson arrivals, stage by stage; each starts a send."""
        env, rng = self.env, self.rng
        for stage in self.scenario.workload.stages:
            end = env.now + stage.duration
            while stage.rate > 0:
                gap = rng.expovariate(stage.rate)
                if env.now + gap >= end:
                    yield env.timeout(end - env.now)
                    break
                yield env.timeout(gap)
                self.count("arrivals")
                env.process(self.send(_Message(env.now)))
            if env.now < end:  # a silent stage
                yield env.timeout(end - env.now)

    def send(self, message: _Message):
        """SendMessage: the message is in the queue once the call returns."""
        yield self.env.timeout(self.send_latency())
        self.counts["sent"] += 1
        self.count("api_calls")
        self.queue.put(message)

    def visibility_timer(self, receipt: int):
        """Return the receipt's undeleted messages when the timeout ends."""
        queue = self.scenario.queue
        yield self.env.timeout(queue.visibility_timeout)
        for message in self.in_flight.pop(receipt, ()):
            if message.receives >= (queue.max_receive_count or math.inf):
                self.counts["dead_lettered"] += 1
            else:
                self.queue.put(message)

    # --- the event source mapping ---------------------------------------

    def spawn(self) -> None:
        """Start pollers up to the scaler's limit."""
        while self.pollers < int(self.limit):
            self.pollers += 1
            self.env.process(self.poller())

    def scaler(self):
        """Once per interval: scale up while messages wait, down when idle."""
        env, scaling = self.env, self.scenario.function.scaling
        step = scaling.scale_up_per_minute * scaling.interval / 60
        down = scaling.scale_down_per_minute * scaling.interval / 60
        empty_since = None
        while True:
            yield env.timeout(scaling.interval)
            if self.queue.items:
                self.limit = min(scaling.max_concurrency, self.limit + step)
                empty_since = None
            elif empty_since is None:
                empty_since = env.now
            elif env.now - empty_since >= scaling.scale_down_after:
                self.limit = max(scaling.min_concurrency, self.limit - down)
            self.spawn()

    def poller(self):
        """Long-poll, invoke with the batch, repeat while within the limit."""
        env, queue = self.env, self.queue
        wait_s = self.scenario.queue.receive_wait_time
        per_receive = min(10, self.scenario.function.batch_size)
        while self.pollers <= int(self.limit):
            get = queue.get()
            yield get | env.timeout(wait_s)
            self.counts["receive_calls"] += 1
            self.count("api_calls")
            if not get.triggered:
                get.cancel()
                self.counts["empty_receives"] += 1
                continue
            batch = [get.value, *queue.items[: per_receive - 1]]
            del queue.items[: per_receive - 1]
            receipt = self.next_receipt
            self.next_receipt += 1
            for message in batch:
                message.receives += 1
            self.in_flight[receipt] = batch
            env.process(self.visibility_timer(receipt))
            yield from self.invoke(receipt, batch)
        self.pollers -= 1

    # --- the function ---------------------------------------------------

    def invoke(self, receipt: int, batch: list[_Message]):
        """Run the function on a batch, in a warm environment if one is idle."""
        env, function = self.env, self.scenario.function
        self.running += 1
        self.counts["invocations"] += 1
        second = int(env.now)
        concurrency = self.per_second["concurrency"]
        concurrency[second] = max(concurrency[second], self.running)
        idle = self.idle_since
        while idle and idle[0] <= env.now - function.idle_environment_lifetime:
            idle.popleft()
        init_s = 0.0
        if idle:
            idle.pop()
        else:
            self.counts["cold_starts"] += 1
            init_s = min(self.init(), 10.0)
        handler_s = self.overhead_s + sum(self.work() for _ in batch)
        billed_s = math.ceil((init_s + handler_s) * 1000) / 1000
        self.gb_s += billed_s * function.memory / 1024**3
        yield env.timeout(self.invoke_latency() + init_s + handler_s)
        self.running -= 1
        idle.append(env.now)
        self.delete(receipt, batch)

    def delete(self, receipt: int, batch: list[_Message]) -> None:
        """DeleteMessageBatch: record first deliveries as processed."""
        self.counts["delete_calls"] += 1
        self.count("api_calls")
        if self.in_flight.pop(receipt, None) is None:
            return  # the receipt expired: the messages were returned
        now, fresh = self.env.now, 0
        for message in batch:
            if message.done:
                self.counts["duplicates"] += 1
                continue
            message.done = True
            fresh += 1
            self.latencies.append(now - message.created_at)
        self.counts["processed"] += fresh
        self.count("processed", fresh)


def run_textbook(scenario, seed: int = 1) -> dict:
    """Simulate the scenario's async flow the textbook way; return counts."""
    return TextbookModel(scenario, seed).run()


def run_minimal(scenario, seed: int = 1) -> dict:
    """Simulate a stripped-down version of the flow; return counts."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    queue = simpy.Store(env)
    work = scenario.backend.service_time
    sigma = math.log(work.p99 / work.median) / 2.3263478740408408
    done = {"processed": 0, "latency_s": 0.0}
    pollers = {"n": 0}

    def arrivals():
        for stage in scenario.workload.stages:
            end = env.now + stage.duration
            while True:
                gap = rng.exponential(1 / stage.rate)
                if env.now + gap >= end:
                    yield env.timeout(end - env.now)
                    break
                yield env.timeout(gap)
                queue.put(env.now)

    def poller():
        while True:
            first = yield queue.get()
            batch = [first]
            while queue.items and len(batch) < scenario.function.batch_size:
                batch.append(queue.items.pop(0))
            handler = sum(
                work.median * math.exp(sigma * rng.standard_normal()) for _ in batch
            )
            yield env.timeout(handler)
            done["processed"] += len(batch)
            done["latency_s"] += sum(env.now - sent for sent in batch)

    def scaler():
        while True:
            yield env.timeout(1.0)
            if queue.items and pollers["n"] < 1000:
                pollers["n"] += 1
                env.process(poller())

    for _ in range(5):
        pollers["n"] += 1
        env.process(poller())
    env.process(arrivals())
    env.process(scaler())
    env.run(until=scenario.duration)
    return done
