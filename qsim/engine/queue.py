"""An SQS standard queue as a distributed queue of partitions.

Messages are spread over `partitions` servers. A long poll queries all
of them and returns as soon as any message is visible; a short poll
samples a subset (weighted random, §1.5) and can come back short or
empty while messages wait. A received message is invisible until its
visibility deadline, then visible again unless deleted; its receive
count grows with each receive and, past `max_receive_count`, the next
receive moves it to the dead-letter queue instead (§1.18-1.19). Every
API call is counted, billed per 64 KB chunk of payload (§3.6-3.7).

Speed: sends arrive in blocks and wait on their partition in order;
deadlines are kept per receipt (`InFlight`); a long poll waiting for a
message that is due later in the block is handed it directly, with one
event at the message's arrival rather than a wake-up and a receive.

Simplifications:
- a receive that finds dead-letter or expired messages removes them and
  returns that many fewer (SQS does the same on receive);
- retention is enforced at each time-series tick for waiting messages,
  and when in-flight messages would become visible again;
- a delete that fails (queue down, or a surviving copy with
  `duplicate_probability`, §1.4) leaves the message to reappear after
  its visibility timeout.
"""

from __future__ import annotations

import math

import numpy as np

from qsim.engine.inflight import InFlight
from qsim.engine.partitions import Servers
from qsim.engine.store import NOT_IN_FLIGHT, MessageStore
from qsim.engine.waiters import LongPolls

__all__ = ["SqsQueue"]

CHUNK_BYTES = 64 * 1024
RECEIVE_MAX = 10  # §1.9
TOTALS = (
    "sent", "received", "deleted", "dead_lettered", "expired", "empty_receives",
    "receive_calls", "send_requests", "receive_requests", "delete_requests",
    "change_visibility_requests", "copies_dead_lettered", "copies_expired",
)  # fmt: skip


class SqsQueue:
    """The queue's state and API: send, receive, delete, change visibility.

    Args:
        env: the SimPy environment.
        spec: the scenario's `queue` section.
        store: the message slot arrays.
        rng: the queue's own random stream (short polls, copies).
        series: the run's time series (counters are added per call).
        faults: when the queue is down.
        max_message_bytes: the largest message the workload can send.
    """

    def __init__(
        self, env, spec, store: MessageStore, *, rng, series, faults,
        max_message_bytes: float,
    ) -> None:  # fmt: skip
        self.env, self.spec, self.store, self.rng = env, spec, store, rng
        self.faults = faults
        self.partitions = spec.partitions
        self.max_receive_count = spec.max_receive_count or math.inf
        self.retention_s = spec.retention_period
        self.in_flight_limit = spec.in_flight_limit
        self.inflight = InFlight(store, spec.visibility_timeout)
        self.log = None  # a MessageLog when per-message rows are kept
        # No message can become visible again sooner than this after a
        # receive: its visibility timeout, or a shorter one set on failure.
        self.soonest_return_s = spec.visibility_timeout
        self.polls = LongPolls(env, self)
        self._one_chunk = RECEIVE_MAX * max_message_bytes <= CHUNK_BYTES
        self.servers = Servers(spec.partitions, rng, spec.short_poll_sample)
        self._staged_at = np.empty(0)
        self._staged_ids = np.empty(0, dtype=np.int64)
        self.block_at = np.empty(0)  # available times of the last block
        self.block_ids = np.empty(0, dtype=np.int64)
        self.block_times: list[float] = []
        self.block_id_list: list[int] = []
        self._sent_order = (np.empty(0), np.empty(0))
        self._block_parts: list[int] = []
        self._block_pos = 0
        self.limited = False
        self.totals = dict.fromkeys(TOTALS, 0)
        self._series = series
        self._bin = 1.0 / series.interval_s
        self._api = series.tally("api_calls")
        self._empty = series.tally("empty_receives")
        self._received = series.tally("received")
        self._dlq = series.column("dead_lettered")
        self._expired = series.column("expired")
        self._redelivered = series.tally("redeliveries")
        series.column("sent")

    # --- sending ---------------------------------------------------------

    def send(self, ids: np.ndarray, available_at_s: np.ndarray) -> None:
        """Accept a block of sent messages (already filled in `store`).

        `available_at_s` is when each becomes receivable (send done plus
        the queue's delay); they wait in staging until their block.
        """
        store = self.store
        store.available_at_s[ids] = available_at_s
        chunks = np.maximum(1, np.ceil(store.size_bytes[ids] / CHUNK_BYTES))
        self.totals["sent"] += len(ids)
        self.totals["send_requests"] += int(chunks.sum())
        sent_at = store.sent_at_s[ids]
        self._series.add_times("sent", sent_at)
        self._series.add_times("api_calls", sent_at, weights=chunks)
        self._staged_at = np.concatenate([self._staged_at, available_at_s])
        self._staged_ids = np.concatenate([self._staged_ids, ids])

    def admit_until(self, end_s: float) -> None:
        """Move staged messages available before `end_s` onto partitions."""
        order = np.argsort(self._staged_at, kind="stable")
        at, ids = self._staged_at[order], self._staged_ids[order]
        cut = int(np.searchsorted(at, end_s))
        self._staged_at, self._staged_ids = at[cut:], ids[cut:]
        self.block_at, self.block_ids = at[:cut], ids[:cut]
        self.block_times = self.block_at.tolist()
        self.block_id_list = self.block_ids.tolist()
        self._block_pos = 0
        parts = self.store.partition[self.block_ids]
        self._block_parts = parts.tolist()
        self.servers.admit(self.block_at, self.block_ids, parts)
        sent_at = self.store.sent_at_s
        self._sent_order = (  # send times, sorted: for `delayed_count`
            np.sort(sent_at[self.block_ids]),
            np.sort(sent_at[self._staged_ids]),
        )
        self.polls.reset_block()
        if cut:
            self.polls.arm(self.env.now)

    # --- receiving -------------------------------------------------------

    def receive(self, now: float, max_messages: int, short: bool = False):
        """One ReceiveMessage that answers at once.

        Returns `(ids, receipt)`, ids empty when nothing was found. A long
        poll that finds nothing is not counted: the caller then waits
        with `wait`, which counts the call when it ends.
        """
        if not self.faults.always_up and self.faults.is_down(now):
            return [], -1
        ids, receipt = self.take(now, max_messages, short)
        if ids or short:
            self.account_receive(now, len(ids), ids)
        return ids, receipt

    def wait(self, now: float, max_messages: int, wait_s: float):
        """Long-poll: an event whose value is `(ids, receipt)`."""
        return self.polls.wait(now, max_messages, wait_s)

    def take(self, now: float, n: int, short: bool = False):
        """Take up to `n` visible messages and put them in flight."""
        deadlines = self.inflight.deadlines
        if deadlines and deadlines[0][0] <= now:  # maybe: the top may be stale
            self._return_due(now)
        if self.inflight.count >= self.in_flight_limit:
            self.limited = True
            return [], -1
        if self.servers.n_returned == 0 and self.visible_pending(now) <= 0:
            return [], -1
        fresh, again = self.servers.gather(now, n, short)
        if again:
            again = self._screen(now, again)
            self._redelivered[int(now * self._bin)] += len(again)
            fresh += again
        if not fresh:
            return [], -1
        return fresh, self.inflight.hold(fresh, now)

    def take_future(self, now: float, index: int, at_s: float) -> tuple[list[int], int]:
        """Take block message `index`, due at `at_s`, for a waiting poll."""
        message = self.block_id_list[index]
        if not self.servers.parts[self._block_parts[index]].take_next(message):
            return [], -1
        return [message], self.inflight.hold([message], at_s)

    def _screen(self, now: float, again: list[int]) -> list[int]:
        """Drop returned messages that expired or must be dead-lettered."""
        self.flush()  # outcomes of finished invocations decide copies
        store = self.store
        ids = np.asarray(again, dtype=np.int64)
        expired = store.sent_at_s[ids] + self.retention_s <= now
        dead = (store.receive_count[ids] >= self.max_receive_count) & ~expired
        self._remove(now, ids[expired], "expired")
        self._remove(now, ids[dead], "dead_lettered")
        return ids[~(expired | dead)].tolist()

    def account_receive(self, now: float, n: int, ids: list[int]) -> None:
        """Count one ReceiveMessage call that returned `n` messages."""
        b = int(now * self._bin)
        self.totals["receive_calls"] += 1
        if n:
            requests = 1
            if not self._one_chunk:
                size = int(self.store.size_bytes[ids].sum())
                requests = max(1, -(-size // CHUNK_BYTES))
            self.totals["received"] += n
            self._received[b] += n
        else:
            requests = 1
            self.totals["empty_receives"] += 1
            self._empty[b] += 1
        self.totals["receive_requests"] += requests
        self._api[b] += requests

    # --- deleting and changing visibility --------------------------------

    def delete(self, now: float, ids: list[int], receipt: int) -> None:
        """DeleteMessageBatch for messages received under one receipt.

        Bills one call per ten entries. A stale receipt deletes nothing.
        With probability `duplicate_probability` a copy survives and
        comes back after the visibility timeout (§1.4); while the queue
        is down every delete fails that way.
        """
        if not ids:
            return
        self._bill_batch_call(now, len(ids), "delete_requests")
        if not self.faults.always_up and self.faults.is_down(now):
            return
        if self.spec.duplicate_probability:
            keep = self.rng.random(len(ids)) < self.spec.duplicate_probability
            ids = [i for i, copy in zip(ids, keep.tolist(), strict=True) if not copy]
        self.totals["deleted"] += self.inflight.release(ids, receipt)
        if self.limited and self.polls.waiting:
            self.limited = False
            self.polls.arm(now)

    def change_visibility(
        self, now: float, ids: list[int], receipt: int, timeout_s: float
    ) -> None:
        """ChangeMessageVisibilityBatch: visible again `timeout_s` from now."""
        if not ids:
            return
        self._bill_batch_call(now, len(ids), "change_visibility_requests")
        self.inflight.extend(np.asarray(ids, dtype=np.int64), receipt, now + timeout_s)
        if self.polls.waiting:
            self.polls.arm(now)

    def _bill_batch_call(self, now: float, n: int, kind: str) -> None:
        """Count the batch API calls (ten entries each) for `n` messages."""
        calls = -(-n // RECEIVE_MAX)
        self.totals[kind] += calls
        self._api[int(now * self._bin)] += calls

    # --- coming back, leaving --------------------------------------------

    def _return_due(self, now: float) -> None:
        """Make messages whose visibility deadline has passed visible again."""
        ids = self.inflight.due(now)
        if not len(ids):
            return
        store = self.store
        expired = store.sent_at_s[ids] + self.retention_s <= now
        self._remove(now, ids[expired], "expired")
        ids = ids[~expired]
        self.servers.put_back(ids.tolist(), store.partition[ids].tolist())

    def _remove(self, now: float, ids: np.ndarray, outcome: str) -> None:
        if not len(ids):
            return
        n_copies = int(self.store.done[ids].sum())
        self.totals[outcome] += len(ids) - n_copies
        self.totals[f"copies_{outcome}"] += n_copies
        column = self._dlq if outcome == "dead_lettered" else self._expired
        column[min(int(now * self._bin), len(column) - 1)] += len(ids) - n_copies
        if self.log is not None:
            self.log.record(ids[~self.store.done[ids]], now, outcome)
        self.store.release(ids)

    def expire_heads(self, now: float, oldest_sent_at_s: float) -> None:
        """Drop waiting messages that are past their retention period.

        `oldest_sent_at_s` is the oldest live message's send time (or an
        earlier one), so that nothing is scanned when none can be due.
        """
        limit = now - self.retention_s
        if oldest_sent_at_s > limit:
            return
        gone = self.servers.drop_sent_by(self.store.sent_at_s, limit)
        self._remove(now, np.asarray(gone, dtype=np.int64), "expired")

    # --- levels ------------------------------------------------------------

    def flush(self) -> None:
        """Apply buffered bookkeeping to the message arrays."""
        self.inflight.flush()

    def staged_count(self) -> int:
        """Messages in staging: available after the current block's end."""
        return len(self._staged_ids)

    def delayed_count(self, now: float) -> int:
        """Messages sent by `now` but not yet receivable (delay, sending).

        They wait in staging or later in the current block; messages of
        the block that will be sent after `now` are not counted.
        """
        # Every block message available by `now` was sent by then too.
        in_block = self._sent_order[0].searchsorted(now, "right")
        staged = self._sent_order[1].searchsorted(now, "right")
        return int(in_block) - self.block_index(now) + int(staged)

    def in_flight_count(self, now: float) -> int:
        """ApproximateNumberOfMessagesNotVisible at `now`.

        Messages handed to a waiting poll ahead of their arrival are held
        from the hand-out, but count only from their arrival.
        """
        return self.inflight.count - self.polls.assigned_after(now)

    def visible_count(self, now: float) -> int:
        """ApproximateNumberOfMessagesVisible at `now`."""
        if self.inflight.next_deadline() <= now:
            self._return_due(now)
        return self.servers.n_returned + self.visible_pending(now)

    def block_index(self, now: float) -> int:
        """Return how many messages of the current block are due by `now`."""
        times, position = self.block_times, self._block_pos
        while position < len(times) and times[position] <= now:
            position += 1
        self._block_pos = position
        return position

    def visible_pending(self, now: float) -> int:
        """Messages waiting on the partitions (not returned), available by `now`."""
        future = len(self.block_times) - self.block_index(now)
        future -= self.polls.assigned_after(now)
        inflight = self.inflight
        return (
            self.store.live
            - inflight.releasing
            - inflight.count
            - len(self._staged_at)
            - self.servers.n_returned
            - future
        )

    def finish(self, now: float) -> dict[str, int]:
        """Close the books at the end of a run; return where messages are.

        Messages past their retention period are expired first; the rest
        of the originals (not yet processed) are split by state. Copies
        of processed messages still in the queue are counted apart.
        """
        self._return_due(now)
        self.flush()
        store = self.store
        live = np.flatnonzero(store.sent_at_s < np.inf)
        old = live[
            (store.sent_at_s[live] + self.retention_s <= now)
            & (store.receipt[live] == NOT_IN_FLIGHT)
        ]
        self._remove(now, old, "expired")
        live = np.flatnonzero(store.sent_at_s < np.inf)
        original = live[~store.done[live]]
        if self.log is not None:
            self.log.record(original, now, "in_queue")
        staged = np.isin(original, self._staged_ids)
        in_flight = store.receipt[original] != NOT_IN_FLIGHT
        return {
            "visible": int((~staged & ~in_flight).sum()),
            "in_flight": int(in_flight.sum()),
            "delayed": int(staged.sum()),
            "copies": int(len(live) - len(original)),
        }
