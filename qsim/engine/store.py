"""Per-message state in numpy arrays, indexed by recycled slots.

A message lives in a slot from the moment it is sent until it leaves
the queue (deleted, dead-lettered or expired); the slot is then reused,
so memory follows the number of messages in the system, not the run's
length. Free slots hold `sent_at_s = inf`, which lets the age of the
oldest message be a single `min`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MessageStore"]

NOT_IN_FLIGHT = -1


class MessageStore:
    """Slot arrays for every message currently in the queue."""

    FIELDS = {
        "created_at_s": np.float64,  # the user's request arrived
        "sent_at_s": np.float64,  # SendMessage was called
        "available_at_s": np.float64,  # visible from (send done + delay)
        "visible_at_s": np.float64,  # in flight: the visibility deadline
        "work_s": np.float64,  # the handler's work for this message
        "size_bytes": np.int64,
        "partition": np.int32,
        "receive_count": np.int32,
        "receipt": np.int64,  # token of the receive holding it in flight
        "generation": np.int64,  # unique per message, unlike the slot
        "poison": np.bool_,
        "done": np.bool_,  # processed already: further copies are duplicates
        "scratch": np.int64,  # working space for vectorised checks
    }

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = 0
        self.live = 0
        self.allocated = 0
        self._free = np.empty(0, dtype=np.int64)
        self._top = 0
        for name, dtype in self.FIELDS.items():
            setattr(self, name, np.empty(0, dtype=dtype))
        self._grow(capacity)

    def allocate(self, n: int) -> np.ndarray:
        """Return `n` free slots, reset for new messages."""
        while self._top < n:
            self._grow(2 * self.capacity)
        ids = self._free[self._top - n : self._top].copy()
        self._top -= n
        self.live += n
        self.receive_count[ids] = 0
        self.receipt[ids] = NOT_IN_FLIGHT
        self.done[ids] = False
        self.generation[ids] = np.arange(self.allocated, self.allocated + n)
        self.allocated += n
        return ids

    def release(self, ids: np.ndarray) -> None:
        """Give slots back once their messages have left the queue."""
        n = len(ids)
        if n:
            self.sent_at_s[ids] = np.inf
            self.receipt[ids] = NOT_IN_FLIGHT
            self.generation[ids] = -1  # a late success finds the message gone
            self._free[self._top : self._top + n] = ids
            self._top += n
            self.live -= n

    def oldest_sent_at_s(self) -> float:
        """Return the earliest send time among live messages (inf if none)."""
        return float(self.sent_at_s.min()) if self.live else np.inf

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        for name, dtype in self.FIELDS.items():
            array = np.empty(capacity, dtype=dtype)
            array[:old] = getattr(self, name)
            setattr(self, name, array)
        self.sent_at_s[old:] = np.inf
        new_slots = np.arange(capacity - 1, old - 1, -1, dtype=np.int64)
        free = np.empty(capacity, dtype=np.int64)
        free[: self._top] = self._free[: self._top]
        free[self._top : self._top + len(new_slots)] = new_slots
        self._free = free
        self._top += len(new_slots)
        self.capacity = capacity
