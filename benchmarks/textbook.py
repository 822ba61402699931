"""A textbook SimPy model of the spike flow, as a speed baseline.

One timeout per arrival, a `simpy.Store` as the queue, one process per
poller, the classic scaler (+1 poller a second while messages wait, from
5 up to 1,000) and the same handler time per message. No visibility
timeouts, failures or billing: it does less than qsim, on purpose, so
the comparison flatters the baseline.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

__all__ = ["run_textbook"]


def run_textbook(scenario, seed: int = 1) -> dict:
    """Simulate the scenario's async flow the plain way; return counts."""
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
