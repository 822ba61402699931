"""The servers of a distributed SQS queue and the messages waiting on them.

A partition keeps the messages admitted to it, in the order they become
available, as two parallel lists (available times, slot ids) read from a
moving head, plus a deque of messages whose visibility timeout ran out
and that wait to be received again. Taking every due message up to a
batch is one bisect and one slice, whatever the batch size. `Servers`
holds all partitions of a queue and walks them for a receive: a long
poll asks every one, from where the last receive stopped; a short poll
asks a random sample (§1.5).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque

import numpy as np

__all__ = ["Partition", "Servers"]


class Partition:
    """Waiting messages of one partition (slot ids into the store)."""

    __slots__ = ("at", "ids", "head", "returned")

    def __init__(self) -> None:
        self.at: list[float] = []  # available times, ascending
        self.ids: list[int] = []
        self.head = 0  # messages before it have been taken
        self.returned: deque[int] = deque()

    def extend(self, times: list[float], ids: list[int]) -> None:
        """Append a block's messages, later than any already here."""
        if self.head:
            del self.at[: self.head]
            del self.ids[: self.head]
            self.head = 0
        self.at += times
        self.ids += ids

    def take_due(self, now: float, want: int) -> list[int]:
        """Take up to `want` messages available by `now`, oldest first."""
        head, at = self.head, self.at
        end = bisect_right(at, now, head, min(len(at), head + want))
        self.head = end
        return self.ids[head:end]

    def take_next(self, message: int) -> bool:
        """Take `message` if it is the next one waiting; say whether it was."""
        head = self.head
        if head < len(self.ids) and self.ids[head] == message:
            self.head = head + 1
            return True
        return False

    def drop_sent_by(self, sent_at_s, limit_s: float) -> tuple[list[int], int]:
        """Remove messages sent at or before `limit_s`.

        Returns the removed ids and how many of them had been returned.
        Waiting messages are checked from the head only: they are in
        available order, which is send order up to the send latency.
        """
        ids, head = self.ids, self.head
        gone = []
        while head < len(ids) and sent_at_s[ids[head]] <= limit_s:
            gone.append(ids[head])
            head += 1
        self.head = head
        old = [i for i in self.returned if sent_at_s[i] <= limit_s]
        if old:
            self.returned = deque(i for i in self.returned if sent_at_s[i] > limit_s)
        return gone + old, len(old)


class Servers:
    """All partitions of one queue.

    Args:
        n: how many partitions.
        rng: the queue's random stream (which partitions a short poll asks).
        short_poll_sample: the share of partitions a short poll asks.
    """

    def __init__(self, n: int, rng: np.random.Generator, short_poll_sample: float):
        self.n = n
        self.parts = [Partition() for _ in range(n)]
        self.n_returned = 0  # messages waiting in the `returned` deques
        self._rng = rng
        self._sampled = max(1, round(short_poll_sample * n))
        self._cursor = 0
        # The orders a long poll asks them in, unless there are very many.
        m = n if n <= 64 else 0
        self._rotations = [[*range(s, m), *range(s)] for s in range(m)]

    def admit(self, times: np.ndarray, ids: np.ndarray, partition: np.ndarray) -> None:
        """Append a block's messages (in available order) to their partitions."""
        order = np.argsort(partition, kind="stable")  # by partition, in time order
        bounds = np.searchsorted(partition[order], np.arange(self.n + 1)).tolist()
        times_list, ids_list = times[order].tolist(), ids[order].tolist()
        for p, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if hi > lo:
                self.parts[p].extend(times_list[lo:hi], ids_list[lo:hi])

    def gather(self, now: float, n: int, short: bool) -> tuple[list[int], list[int]]:
        """Take up to `n` messages due by `now`: (new ones, returned ones).

        Each partition gives its returned messages before its new ones.
        """
        fresh: list[int] = []
        again: list[int] = []
        for p in self._order(short):
            part = self.parts[p]
            returned = part.returned
            while returned and len(again) + len(fresh) < n:
                again.append(returned.popleft())
            want = n - len(again) - len(fresh)
            if want > 0 and part.head < len(part.at) and part.at[part.head] <= now:
                fresh += part.take_due(now, want)
            if len(fresh) + len(again) >= n:
                self._cursor = (p + 1) % self.n
                break
        self.n_returned -= len(again)
        return fresh, again

    def put_back(self, ids: list[int], partitions: list[int]) -> None:
        """Queue messages whose visibility timeout ran out on their partitions."""
        parts = self.parts
        for message, p in zip(ids, partitions, strict=True):
            parts[p].returned.append(message)
        self.n_returned += len(ids)

    def drop_sent_by(self, sent_at_s, limit_s: float) -> list[int]:
        """Remove waiting messages sent at or before `limit_s`; return them."""
        gone: list[int] = []
        for part in self.parts:
            ids, n_returned = part.drop_sent_by(sent_at_s, limit_s)
            gone += ids
            self.n_returned -= n_returned
        return gone

    def _order(self, short: bool) -> list[int]:
        if short:
            return self._rng.choice(self.n, size=self._sampled, replace=False).tolist()
        start = self._cursor
        if start < len(self._rotations):
            return self._rotations[start]
        return [*range(start, self.n), *range(start)]
