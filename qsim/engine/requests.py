"""Users' requests: where they come from and how service A handles them.

`RequestStream` draws every request's attributes (arrival time, B's
work, message size, poison flag, A's service time) block by block from
named streams, so the sync and async topologies see the very same
requests. `RequestFlow` takes each request through service A, if the
scenario has one, then to its downstream: a synchronous call to B, or a
SendMessage to SQS. A request fails when a component is down, errors,
rejects it (queue full) or when its caller's timeout passes first; work
already started runs on and keeps its worker busy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qsim.engine.sampling import Sampler
from qsim.engine.services import ServicePool
from qsim.engine.workload import ArrivalSource

__all__ = ["Block", "RequestFlow", "RequestStream"]

MAX_MESSAGE_BYTES = 1024**2


@dataclass
class Block:
    """The requests arriving in one block of simulated time."""

    times_s: np.ndarray
    work_s: np.ndarray
    size_bytes: np.ndarray
    poison: np.ndarray
    frontend_s: np.ndarray | None


class RequestStream:
    """Draw requests block by block, identically for every topology."""

    def __init__(self, scenario, streams) -> None:
        self.arrivals = ArrivalSource(
            scenario.workload,
            scenario.duration,
            streams["arrivals"],
            streams["arrivals-thinning"],
        )
        self.work = Sampler(scenario.backend.service_time, streams["work"])
        self.size = Sampler(
            scenario.workload.message_size, streams["size"], upper=MAX_MESSAGE_BYTES
        )
        self.poison_fraction = scenario.workload.poison_fraction
        self.poison_rng = streams["poison"]
        front = scenario.frontend
        self.frontend = (
            Sampler(front.service_time, streams["frontend"]) if front else None
        )

    def block(self, start_s: float, end_s: float) -> Block:
        """Return the requests arriving in [start_s, end_s)."""
        times = self.arrivals.block(start_s, end_s)
        n = len(times)
        poison = np.zeros(n, dtype=bool)
        if self.poison_fraction:
            poison = self.poison_rng.random(n) < self.poison_fraction
        return Block(
            times_s=times,
            work_s=self.work.draw(n),
            size_bytes=np.ceil(self.size.draw(n)).astype(np.int64),
            poison=poison,
            frontend_s=self.frontend.draw(n) if self.frontend else None,
        )


class _Request:
    __slots__ = (
        "arrived_at_s",
        "work_s",
        "poison",
        "size",
        "hold_s",
        "holds_frontend",
        "responded",
        "backend_started",
        "backend_done",
        "deadline_s",
        "deadline_set",
    )

    def __init__(self, arrived_at_s, work_s, poison, size, hold_s) -> None:
        self.arrived_at_s, self.work_s, self.poison = arrived_at_s, work_s, poison
        self.size, self.hold_s = size, hold_s
        self.holds_frontend = self.responded = False
        self.backend_started = self.backend_done = self.deadline_set = False
        self.deadline_s = math.inf


class _Tier:
    """A service's pool with its faults, timeout and error stream."""

    def __init__(self, env, spec, faults, rng, on_start, is_wanted) -> None:
        self.spec, self.faults, self.rng = spec, faults, rng
        self.timeout_s = spec.timeout
        self.pool = ServicePool(env, spec, on_start, is_wanted)

    def errs(self) -> bool:
        rate = self.faults.error_rate
        return rate > 0 and self.rng.random() < rate


class RequestFlow:
    """Requests through service A to B (sync) or to SQS (async).

    Args:
        env: the SimPy environment.
        scenario: the scenario.
        downstream: "backend" (call B and wait) or "queue" (send to SQS).
        faults: fault schedules by component name.
        streams: the run's random streams.
        record: the topology's records (series, latencies, outcomes).
        on_sent: async only, called as `on_sent(request, sent_at_s,
            stored_at_s)` for each message the queue accepted.
    """

    def __init__(
        self, env, scenario, downstream, faults, *, streams, record, on_sent=None
    ):
        self.env, self.record, self.on_sent = env, record, on_sent
        self.downstream = downstream
        self.live: dict[int, _Request] = {}
        self._next_id = 0
        self.frontend = None
        if scenario.frontend is not None:
            self.frontend = _Tier(
                env,
                scenario.frontend,
                faults["frontend"],
                streams["frontend-errors"],
                self._frontend_start,
                self._frontend_wanted,
            )
        if downstream == "backend":
            self.backend = _Tier(
                env,
                scenario.backend,
                faults["backend"],
                streams["backend-errors"],
                self._backend_start,
                self._backend_wanted,
            )
        else:
            self.queue_faults = faults["queue"]
            self.queue_rng = streams["queue-send-errors"]
            self.send_latency = Sampler(
                scenario.queue.send_latency, streams["send-latency"]
            )

    # --- arrivals --------------------------------------------------------

    def feed(self, block: Block):
        """A process step: deliver each request of a block at its time."""
        env = self.env
        front = block.frontend_s if block.frontend_s is not None else block.work_s * 0
        rows = zip(
            block.times_s.tolist(),
            block.work_s.tolist(),
            block.poison.tolist(),
            block.size_bytes.tolist(),
            front.tolist(),
            strict=True,
        )
        for arrived_at_s, work_s, poison, size, hold_s in rows:
            if arrived_at_s > env.now:
                yield env.timeout(arrived_at_s - env.now)
            rid = self._next_id
            self._next_id += 1
            self.live[rid] = _Request(arrived_at_s, work_s, poison, size, hold_s)
            self._arrive(rid)

    def _arrive(self, rid: int) -> None:
        self.record.arrival(self.env.now)
        tier = self.frontend
        if tier is None:
            self._downstream(rid)
            return
        if tier.faults.is_down(self.env.now):
            self._respond(rid, False, "frontend_down")
            self._forget(rid)
            return
        if tier.timeout_s is not None:
            self._after(tier.timeout_s, self._user_gives_up, rid)
        if not tier.pool.offer(rid):
            self._respond(rid, False, "frontend_overload")
            self._forget(rid)

    def _downstream(self, rid: int) -> None:
        if self.downstream == "backend":
            self._call_backend(rid)
        else:
            self._send(rid)

    # --- service A -------------------------------------------------------

    def _frontend_wanted(self, rid: int) -> bool:
        request = self.live.get(rid)
        return request is not None and not request.responded

    def _frontend_start(self, rid: int) -> None:
        request = self.live[rid]
        request.holds_frontend = True
        hold = request.hold_s + self.frontend.faults.extra_latency(self.env.now)
        self._after(hold, self._frontend_done, rid)

    def _frontend_done(self, event) -> None:
        rid = event.value
        if self.frontend.errs():
            self._finish(rid, False, "frontend_error")
        else:
            self._downstream(rid)

    def _user_gives_up(self, event) -> None:
        rid = event.value
        request = self.live.get(rid)
        if request is None or request.responded:
            return
        self._respond(rid, False, "frontend_timeout")
        if not request.holds_frontend:
            self._forget(rid)  # still queued: it will be skipped

    # --- service B, called synchronously ---------------------------------

    def _call_backend(self, rid: int) -> None:
        tier, now = self.backend, self.env.now
        if tier.faults.is_down(now):
            self._finish(rid, False, "backend_down")
            return
        request = self.live[rid]
        if tier.timeout_s is not None:
            request.deadline_s = now + tier.timeout_s
        if not tier.pool.offer(rid):
            self._finish(rid, False, "backend_overload")
        elif not request.backend_started and tier.timeout_s is not None:
            # Queued: the caller may give up before a worker is free.
            request.deadline_set = True
            self._after(tier.timeout_s, self._backend_deadline, rid)

    def _backend_wanted(self, rid: int) -> bool:
        request = self.live.get(rid)
        return request is not None and not request.backend_done

    def _backend_start(self, rid: int) -> None:
        request, now = self.live[rid], self.env.now
        request.backend_started = True
        work = request.work_s + self.backend.faults.extra_latency(now)
        if now + work > request.deadline_s and not request.deadline_set:
            request.deadline_set = True
            self._after(request.deadline_s - now, self._backend_deadline, rid)
        self._after(work, self._backend_end, rid)

    def _backend_end(self, event) -> None:
        rid = event.value
        self.backend.pool.release()
        request = self.live.get(rid)
        if request is None or request.backend_done:
            return  # the caller timed out; the worker was busy till now
        if request.poison or self.backend.errs():
            self._finish(rid, False, "backend_error")
        else:
            self._finish(rid, True, "")

    def _backend_deadline(self, event) -> None:
        rid = event.value
        request = self.live.get(rid)
        if request is not None and not request.backend_done:
            self._finish(rid, False, "backend_timeout")

    # --- SendMessage to SQS (async) --------------------------------------

    def _send(self, rid: int) -> None:
        now, request = self.env.now, self.live[rid]
        if self.queue_faults.is_down(now):
            reason = "queue_down"
        elif (
            self.queue_faults.error_rate
            and self.queue_rng.random() < self.queue_faults.error_rate
        ):
            reason = "queue_error"
        else:
            reason = ""
        latency = self.send_latency.one() + self.queue_faults.extra_latency(now)
        if not reason:
            self.on_sent(request, now, now + latency)
        self._after(latency, self._sent, (rid, reason))

    def _sent(self, event) -> None:
        rid, reason = event.value
        self._finish(rid, not reason, reason)

    # --- endings ---------------------------------------------------------

    def _finish(self, rid: int, ok: bool, reason: str) -> None:
        request = self.live[rid]
        request.backend_done = True
        if request.holds_frontend:
            self.frontend.pool.release()
        self._respond(rid, ok, reason)
        self._forget(rid)

    def _respond(self, rid: int, ok: bool, reason: str) -> None:
        request = self.live[rid]
        if not request.responded:
            request.responded = True
            self.record.answer(
                self.env.now, self.env.now - request.arrived_at_s, reason
            )

    def _forget(self, rid: int) -> None:
        del self.live[rid]

    def _after(self, delay_s: float, callback, value) -> None:
        """Call `callback(value)` after `delay_s` (one timeout, no closure)."""
        self.env.timeout(delay_s, value).callbacks.append(callback)

    def pools(self) -> dict[str, ServicePool]:
        """Return the service pools by component name."""
        found = {}
        if self.frontend is not None:
            found["frontend"] = self.frontend.pool
        if self.downstream == "backend":
            found["backend"] = self.backend.pool
        return found
