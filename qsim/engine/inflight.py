"""Messages received and not yet deleted, kept per receipt.

Every ReceiveMessage creates one receipt holding its messages until the
visibility deadline. Deadlines sit in a heap, one entry per receipt, and
are applied lazily when the queue is looked at. Receipts whose messages
were all deleted are dropped from the heap without touching any array.

Speed: the per-message bookkeeping of receives and deletes (receive
counts, deadlines, freed slots) is buffered and applied to the numpy
arrays in one vectorised `flush`, which runs before anything reads them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from qsim.engine.store import NOT_IN_FLIGHT, MessageStore

__all__ = ["InFlight"]


class InFlight:
    """The in-flight ledger of one queue."""

    def __init__(self, store: MessageStore, visibility_timeout_s: float) -> None:
        self.store = store
        self.visibility_timeout_s = visibility_timeout_s
        self.count = 0  # messages in flight, exact at all times
        self.releasing = 0  # deleted, slots not yet freed (until `flush`)
        # (deadline, receipt) heap; entries of emptied receipts linger until
        # they reach the top, so the top may be earlier than `next_deadline`.
        self.deadlines: list[tuple[float, int]] = []
        self._open: dict[int, int] = {}  # receipt -> messages still held
        self._members: dict[int, list[int]] = {}
        self._next = 0
        # Buffered bookkeeping, one entry per receive (ids flat), expanded
        # per message by `flush`. Receipts are numbered in order: those
        # held since the last flush run from `_first_unflushed`.
        self._held_ids: list[int] = []
        self._held_sizes: list[int] = []
        self._held_deadlines: list[float] = []
        self._first_unflushed = 0
        self._deleted: list[int] = []
        self.on_flush: list[Callable[[], None]] = []  # run inside flush

    def hold(self, ids: list[int], now: float) -> int:
        """Put received messages in flight; return their receipt."""
        receipt = self._next
        self._next += 1
        deadline = now + self.visibility_timeout_s
        self._open[receipt] = len(ids)
        self._members[receipt] = ids
        heapq.heappush(self.deadlines, (deadline, receipt))
        n = len(ids)
        self._held_ids += ids
        self._held_sizes.append(n)
        self._held_deadlines.append(deadline)
        self.count += n
        return receipt

    def release(self, ids: list[int], receipt: int) -> int:
        """Delete messages held under `receipt`; return how many were held.

        A receipt whose deadline has passed no longer holds anything, so
        deleting with it does nothing (a stale receipt handle).
        """
        if receipt not in self._open or not ids:
            return 0
        self._open[receipt] -= len(ids)
        self.count -= len(ids)
        self.releasing += len(ids)
        self._deleted += ids
        return len(ids)

    def next_deadline(self) -> float:
        """Return the earliest pending deadline (inf if none)."""
        while self.deadlines and self._open.get(self.deadlines[0][1], 0) == 0:
            receipt = heapq.heappop(self.deadlines)[1]
            self._forget(receipt)
        return self.deadlines[0][0] if self.deadlines else np.inf

    def due(self, now: float) -> np.ndarray:
        """Return the ids whose visibility deadline has passed by `now`."""
        store, back = self.store, []
        while self.next_deadline() <= now:
            receipt = heapq.heappop(self.deadlines)[1]
            self.flush()
            ids = np.asarray(self._members[receipt], dtype=np.int64)
            held = (store.receipt[ids] == receipt) & (store.visible_at_s[ids] <= now)
            ids = ids[held]
            if len(ids):
                store.receipt[ids] = NOT_IN_FLIGHT
                self._open[receipt] -= len(ids)
                self.count -= len(ids)
                back.append(ids)
            if self._open[receipt] == 0:
                self._forget(receipt)
        return np.concatenate(back) if back else np.empty(0, dtype=np.int64)

    def extend(self, ids: np.ndarray, receipt: int, deadline: float) -> np.ndarray:
        """ChangeMessageVisibility: move held ids' deadline; return those held."""
        self.flush()
        ids = ids[self.store.receipt[ids] == receipt]
        self.store.visible_at_s[ids] = deadline
        heapq.heappush(self.deadlines, (deadline, receipt))
        return ids

    def flush(self) -> None:
        """Apply buffered receives and deletes to the message arrays."""
        store = self.store
        if self._held_ids:
            ids = np.array(self._held_ids, dtype=np.int64)
            sizes = np.array(self._held_sizes, dtype=np.int64)
            receipts = np.arange(self._first_unflushed, self._next, dtype=np.int64)
            store.receive_count[ids] += 1
            store.receipt[ids] = np.repeat(receipts, sizes)
            store.visible_at_s[ids] = np.repeat(self._held_deadlines, sizes)
            self._held_ids, self._held_sizes, self._held_deadlines = [], [], []
        self._first_unflushed = self._next
        for hook in self.on_flush:
            hook()  # e.g. record successes: after receives, before slots are freed
        if self._deleted:
            ids = np.array(self._deleted, dtype=np.int64)
            self._deleted = []
            self.releasing = 0
            store.release(ids)

    def _forget(self, receipt: int) -> None:
        self._open.pop(receipt, None)
        self._members.pop(receipt, None)
