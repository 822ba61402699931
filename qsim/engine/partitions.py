"""One server of a distributed SQS queue: the messages waiting on it.

A partition keeps the messages admitted to it, in the order they become
available, as two parallel lists (available times, slot ids) read from a
moving head, plus a deque of messages whose visibility timeout ran out
and that wait to be received again. Taking every due message up to a
batch is one bisect and one slice, whatever the batch size.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque

__all__ = ["Partition"]


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
