"""Long polls waiting on an empty queue (ReceiveMessage with a wait).

Waiting polls are served in the order they started (§1.7: a long poll
returns as soon as a message is available). When a message already in
the current block will become available later, the first waiting poll
is handed it at once, due at the message's arrival: one SimPy event per
delivery instead of a wake-up plus a receive. Polls that reach their
wait time return empty, billed as empty receives.
"""

from __future__ import annotations

import math
from collections import deque

from simpy.core import NORMAL
from simpy.events import Event

__all__ = ["LongPolls"]


def succeed_later(event, value, delay_s: float) -> None:
    """Trigger `event` with `value` after `delay_s`, using one event.

    SimPy's `succeed` fires at the current time only; scheduling the
    already-decided event ourselves saves a timeout per delivery.
    """
    event._ok = True
    event._value = value
    event.env.schedule(event, NORMAL, delay_s)


class LongPolls:
    """The queue's waiting long polls, their wake-ups and expiries."""

    def __init__(self, env, queue) -> None:
        self.env, self.queue = env, queue
        self.waiting: deque[list] = deque()  # [event, deadline_s, max_messages]
        self._expiry_at = math.inf
        self._wake_at = math.inf
        self._assigned: deque[float] = deque()  # handed out, not yet due
        self._next = 0  # the next block message to hand out

    def wait(self, now: float, max_messages: int, wait_s: float):
        """Start a long poll; return its event (value `(ids, receipt)`)."""
        event = Event(self.env)
        deadline = now + wait_s
        self.waiting.append([event, deadline, max_messages])
        if deadline < self._expiry_at:
            self._schedule_expiry(now, deadline)
        # The caller has just found nothing visible: only future messages
        # or a later wake-up can serve this poll.
        faults = self.queue.faults
        if faults.always_up or not faults.is_down(now):
            self._hand_out_future(now)
        if self.waiting:
            self._plan_wake(now)
        return event

    def arm(self, now: float) -> None:
        """Serve waiting polls from what is visible, or plan when to."""
        if not self.waiting or self.queue.faults.is_down(now):
            self._plan_wake(now)
            return
        waiting, queue = self.waiting, self.queue
        while waiting:
            event, _, max_messages = waiting[0]
            ids, receipt = queue.take(now, max_messages)
            if not ids:
                break
            waiting.popleft()
            queue.account_receive(now, len(ids), ids)
            event.succeed((ids, receipt))
        if waiting:
            self._hand_out_future(now)
        self._plan_wake(now)

    def _hand_out_future(self, now: float) -> None:
        """Promise the block's next messages to the first waiting polls.

        Only up to the horizon before which no message can become visible
        again (the earliest visibility deadline, or a new receipt's):
        beyond it, a message returning first must be served first.
        """
        queue, waiting = self.queue, self.waiting
        block_at = queue.block_times
        index = max(self._next, queue.block_index(now))
        self._next = index
        if index >= len(block_at):
            return
        horizon = min(queue.inflight.next_deadline(), now + queue.soonest_return_s)
        faults, inflight = queue.faults, queue.inflight
        while waiting and index < len(block_at):
            at_s = block_at[index]
            event, deadline, _ = waiting[0]
            if deadline < at_s or at_s >= horizon:
                break
            if not faults.always_up and faults.is_down(at_s):
                break
            if inflight.count >= queue.in_flight_limit:
                queue.limited = True
                break
            ids, receipt = queue.take_future(now, index, at_s)
            if not ids:
                break
            waiting.popleft()
            queue.account_receive(at_s, 1, ids)
            self._assigned.append(at_s)
            succeed_later(event, (ids, receipt), at_s - now)
            index += 1
        self._next = index

    def _plan_wake(self, now: float) -> None:
        if not self.waiting:
            return
        queue = self.queue
        due = queue.inflight.next_deadline()
        if queue.faults.is_down(now):
            due = min(due, queue.faults.up_at(now))
        if self._next < len(queue.block_times):
            due = min(due, queue.block_times[self._next])
        if now < due < self._wake_at:
            self._wake_at = due
            self.env.timeout(due - now).callbacks.append(lambda _: self._wake(due))

    def _wake(self, due: float) -> None:
        if due == self._wake_at:
            self._wake_at = math.inf
            self.arm(self.env.now)

    def _schedule_expiry(self, now: float, deadline: float) -> None:
        self._expiry_at = deadline
        self.env.timeout(deadline - now).callbacks.append(
            lambda _: self._expire(deadline)
        )

    def _expire(self, deadline: float) -> None:
        if deadline != self._expiry_at:
            return
        now, queue = self.env.now, self.queue
        self._expiry_at = math.inf
        keep: deque[list] = deque()
        for entry in self.waiting:
            if entry[1] <= now:
                queue.account_receive(now, 0, [])
                entry[0].succeed(([], -1))
            else:
                keep.append(entry)
        self.waiting = keep
        if keep:
            self._schedule_expiry(now, min(entry[1] for entry in keep))

    def assigned_after(self, now: float) -> int:
        """Return how many handed-out messages are not yet due by `now`."""
        assigned = self._assigned
        while assigned and assigned[0] <= now:
            assigned.popleft()
        return len(assigned)

    def reset_block(self) -> None:
        """Start handing out from the beginning of a newly admitted block."""
        self._next = 0
