"""Lambda's SQS event source mapping: pollers, batching and the scaler.

Each poller long-polls the queue (§4.4), gathers a batch of up to
`batch_size` messages within the batching window (§4.1-4.2) and
invokes the function with it, synchronously: a poller is one unit of
concurrency. The scaler starts `initial_concurrency` pollers and, once
per `interval`, adds pollers at `scale_up_per_minute` while messages
are visible, up to the cap (§5.1-5.2); removes them at
`scale_down_per_minute` once the queue has been empty for
`scale_down_after`; and backs off by `backoff_fraction` after any
interval with failed or throttled invocations (§4.11-4.13).

Simplifications: the window starts with the first message received;
a batch stops growing once its payload reaches the 6 MB limit, so the
last receive may carry it over by up to ten messages; throttled invokes
are retried with doubling delays while the visibility timeout allows.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EventSourceMapping"]


class EventSourceMapping:
    """Pollers and scaler between one queue and one function."""

    def __init__(self, env, scenario, queue, *, environments, handler, series, latency):
        self.env, self.queue, self.store = env, queue, queue.store
        self.environments, self.handler = environments, handler
        self.latency = latency
        self.scaling = scenario.function.scaling
        self.memory_gb = scenario.function.memory / 1024**3
        self.visibility_timeout_s = scenario.queue.visibility_timeout
        self._set_batching(scenario)
        self._set_limits(scenario.function)
        self.failure_visibility_s = scenario.function.failure_visibility_timeout
        if self.failure_visibility_s is not None:
            queue.soonest_return_s = min(
                queue.soonest_return_s, self.failure_visibility_s
            )
        self.pollers = 0
        self.running = 0
        self.max_running = 0
        self.billed_s = 0.0
        self._trouble = 0
        # Successes waiting for the next flush, one entry per invocation
        # (ids flat; see InFlight).
        self._ok_ids: list[int] = []
        self._ok_sizes: list[int] = []  # per invocation, with its end time
        self._ok_times: list[float] = []
        self._ok_known: list[tuple[int, list[int]]] = []  # (offset, generations)
        queue.inflight.on_flush.append(self._record_successes)
        self._set_records(series)

    def _set_batching(self, scenario) -> None:
        function = scenario.function
        self.batch_size = function.batch_size
        self.window_s = function.batching_window
        self.per_receive = min(10, self.batch_size)
        self.wait_s = scenario.queue.receive_wait_time
        self.short_gap_s = scenario.queue.short_poll_interval
        self.payload_limit = function.payload_limit
        size = scenario.workload.message_size
        largest = size.value if size.dist == "constant" else 1024**2
        self.check_payload = self.batch_size * largest > self.payload_limit
        # One receive makes the batch unless a window or a batch over ten asks for more.
        self.gathers = self.window_s > 0 or self.batch_size > 10

    def _set_limits(self, function) -> None:
        reserved = function.reserved_concurrency
        self.function_limit = min(
            function.account_concurrency, math.inf if reserved is None else reserved
        )
        scaling = function.scaling
        self.cap = min(
            scaling.max_concurrency, function.maximum_concurrency or math.inf
        )
        self.limit = float(min(scaling.initial_concurrency, self.cap))  # never above

    def _set_records(self, series) -> None:
        self.totals = dict.fromkeys(
            ("invocations", "errors", "timeouts", "throttles", "processed",
             "message_failures", "duplicate_deliveries"),
            0,
        )  # fmt: skip
        self._series = series
        self._bin = 1.0 / series.interval_s
        names = (
            "invocations",
            "errors",
            "throttles",
            "message_failures",
            "cold_starts",
        )
        self._col = {name: series.tally(name) for name in names}
        for name in ("processed", "duplicate_deliveries"):
            series.column(name)  # filled at each flush; present even if empty
        self._concurrency = series.tally("concurrency", peak=True)
        self._limit = series.tally("scaler_limit", peak=True)

    def start(self) -> None:
        """Start the initial pollers and the scaler."""
        self._spawn()
        self.env.process(self._scale())

    # --- the scaler ------------------------------------------------------

    def _spawn(self) -> None:
        while self.pollers < int(self.limit):
            self.pollers += 1
            self.env.process(self._poll())
        self._limit[min(int(self.env.now * self._bin), len(self._limit) - 1)] = int(
            self.limit
        )

    def _scale(self):
        s, env = self.scaling, self.env
        interval, empty_since = s.interval, None
        while True:
            yield env.timeout(interval)
            now = env.now
            visible = self.queue.visible_count(now)
            if self._trouble:
                self.limit = max(
                    s.min_concurrency, self.limit * (1 - s.backoff_fraction)
                )
            elif visible > 0:
                self.limit = min(
                    self.cap, self.limit + s.scale_up_per_minute * interval / 60
                )
            if visible > 0:
                empty_since = None
            elif empty_since is None:
                empty_since = now
            elif now - empty_since >= s.scale_down_after and not self._trouble:
                step = s.scale_down_per_minute * interval / 60
                self.limit = max(s.min_concurrency, self.limit - step)
            self._trouble = 0
            self.limit = min(self.limit, self.cap)  # the floor never beats the cap
            self._spawn()

    # --- a poller --------------------------------------------------------

    def _poll(self):
        env, queue = self.env, self.queue
        short = self.wait_s == 0
        while self.pollers <= int(self.limit):
            ids, receipt = queue.receive(env.now, self.per_receive, short)
            if not ids:
                if short:
                    yield env.timeout(self.short_gap_s)
                    continue
                ids, receipt = yield queue.wait(env.now, self.per_receive, self.wait_s)
                if not ids:
                    continue
            parts = [(ids, receipt)]
            if self.gathers or self.running >= self.function_limit:
                yield from self._gather_and_invoke(parts, short)
                continue
            # The common case, without a generator in between: invoke now.
            outcome, generations = self._begin(ids, env.now, None)
            yield env.timeout(outcome.duration_s)
            self._end(parts, ids, generations, outcome)
        self.pollers -= 1

    def _gather_and_invoke(self, parts: list, short: bool):
        """Fill the batch if a window asks for it, then invoke."""
        received_at, generations = self.env.now, None
        if self.gathers and len(parts[0][0]) < self.batch_size:
            generations = self._generations(parts[0][0])
            parts = yield from self._fill(parts, generations, short)
        yield from self._invoke(parts, received_at, generations)

    def _generations(self, ids: list[int]) -> list[int]:
        """Return the messages' identities while their slots still hold them.

        Needed only when a message might come back, leave and have its
        slot reused before the invocation settles: when the poller waits
        (batching window, throttling) or the invocation outlives the
        visibility timeout.
        """
        return list(map(self.store.generation.item, ids))

    def _fill(self, parts: list, generations: list[int], short: bool):
        """Gather more messages until the batch, payload or window is full."""
        env, queue = self.env, self.queue
        closes_at = env.now + self.window_s
        count = len(parts[0][0])
        while count < self.batch_size and not self._payload_full(parts):
            want = min(10, self.batch_size - count)
            ids, receipt = queue.receive(env.now, want, short)
            if not ids:
                left = closes_at - env.now
                if left <= 0:
                    break
                if short:
                    yield env.timeout(min(self.short_gap_s, left))
                    continue
                ids, receipt = yield queue.wait(env.now, want, min(left, self.wait_s))
                if not ids:
                    continue
            parts.append((ids, receipt))
            generations += self._generations(ids)
            count += len(ids)
        return parts

    def _payload_full(self, parts: list) -> bool:
        if not self.check_payload:
            return False
        ids = [i for batch, _ in parts for i in batch]
        return int(self.store.size_bytes[ids].sum()) >= self.payload_limit

    # --- an invocation ---------------------------------------------------

    def _invoke(self, parts: list, received_at: float, generations: list[int] | None):
        env = self.env
        ids = (
            parts[0][0] if len(parts) == 1 else [i for batch, _ in parts for i in batch]
        )
        delay_s = self.scaling.throttle_retry_delay
        visible_again_at = received_at + self.visibility_timeout_s
        while self.running >= self.function_limit:
            if generations is None:
                generations = self._generations(ids)
            self._count("throttles", env.now)
            self._trouble += 1
            if env.now + delay_s >= visible_again_at:
                return  # dropped: the messages come back after their timeout
            yield env.timeout(delay_s)
            delay_s *= 2
        outcome, generations = self._begin(ids, received_at, generations)
        yield env.timeout(outcome.duration_s)
        self._end(parts, ids, generations, outcome)

    def _begin(self, ids: list[int], received_at: float, generations):
        """Start an invocation now; return its outcome and the generations.

        Generations are read here if the invocation outlives the
        visibility timeout (the slots may be reused before it ends).
        """
        now = self.env.now
        self.running += 1
        if self.running > self.max_running:
            self.max_running = self.running
        b = int(now * self._bin)
        if self.running > self._concurrency[b]:
            self._concurrency[b] = self.running
        cold = self.environments.acquire(now)
        if cold:
            self._col["cold_starts"][b] += 1
        outcome = self.handler.run(now, cold, self.store, ids)
        if generations is None and (
            now + outcome.duration_s >= received_at + self.visibility_timeout_s
        ):
            generations = self._generations(ids)  # throttled batches have them
        self.totals["invocations"] += 1
        self._col["invocations"][b] += 1
        return outcome, generations

    def _end(self, parts: list, ids: list[int], generations, outcome) -> None:
        """Finish an invocation now: free its concurrency, settle its batch."""
        now = self.env.now
        self.running -= 1
        self.environments.release(now)
        self.billed_s += outcome.billed_s
        if outcome.failed is not None:
            self._settle(parts, ids, generations, outcome)
            return
        self._succeeded(now, ids, generations)  # all of them
        for part, receipt in parts:
            self.queue.delete(now, part, receipt)

    def _settle(self, parts: list, ids: list[int], generations, outcome) -> None:
        """Delete what succeeded, leave what failed to come back, record."""
        now, failed = self.env.now, outcome.failed
        n_failed = 0 if failed is None else int(failed.sum())
        whole_batch = outcome.error or (
            n_failed and not self.handler.report_item_failures
        )
        if whole_batch:
            self._trouble += 1
            self._count("errors", now)
            self.totals["timeouts"] += outcome.timed_out
        succeeded = ids
        if n_failed:
            self._count("message_failures", now, n_failed)
            ok = ~failed
            succeeded = np.asarray(ids, dtype=np.int64)[ok].tolist()
            if generations is not None:
                generations = np.asarray(generations, dtype=np.int64)[ok].tolist()
        if succeeded:
            self._succeeded(now, succeeded, generations)
        start = 0
        for ids, receipt in parts:
            if n_failed:
                part_failed = failed[start : start + len(ids)].tolist()
                start += len(ids)
                done = [i for i, bad in zip(ids, part_failed, strict=True) if not bad]
                retry = (
                    ids
                    if whole_batch
                    else [i for i, bad in zip(ids, part_failed, strict=True) if bad]
                )
            else:
                done, retry = ids, []
            if not whole_batch:
                self.queue.delete(now, done, receipt)
            if retry and self.failure_visibility_s is not None:
                self.queue.change_visibility(
                    now, retry, receipt, self.failure_visibility_s
                )

    def _succeeded(self, now: float, ids: list[int], generations) -> None:
        """Buffer successes until the next flush (see `_record_successes`)."""
        if generations is not None:
            self._ok_known.append((len(self._ok_ids), generations))
        self._ok_ids += ids
        self._ok_sizes.append(len(ids))
        self._ok_times.append(now)

    def _record_successes(self) -> None:
        """Count first successes as processed, later ones as duplicates.

        Runs when the queue flushes, so a batch of invocations is
        recorded with a few vectorised operations.
        """
        if not self._ok_ids:
            return
        store = self.store
        ids = np.array(self._ok_ids, dtype=np.int64)
        times = np.repeat(self._ok_times, self._ok_sizes)
        stale = store.done[ids]  # processed already: a duplicate
        for offset, known in self._ok_known:  # the slot may hold another by now
            end = offset + len(known)
            stale[offset:end] |= store.generation[ids[offset:end]] != known
        self._ok_ids, self._ok_sizes, self._ok_times = [], [], []
        self._ok_known = []
        first = _first_of_each(ids, store.scratch, stale)
        if first is not None:
            duplicate = np.ones(len(ids), dtype=bool)
            duplicate[first] = False
            self._series.add_times("duplicate_deliveries", times[duplicate])
            self.totals["duplicate_deliveries"] += len(ids) - len(first)
            ids, times = ids[first], times[first]
        self.totals["processed"] += len(ids)
        self._series.add_times("processed", times, ordered=True)
        self.latency.add(times, times - store.created_at_s[ids])
        if self.queue.log is not None:
            self.queue.log.record(ids, times, "processed")
        store.done[ids] = True

    def _count(self, name: str, now: float, n: int = 1) -> None:
        self.totals[name] += n
        self._col[name][int(now * self._bin)] += n


def _first_of_each(ids: np.ndarray, scratch: np.ndarray, stale: np.ndarray):
    """Return the positions of each id's first non-stale entry, ascending.

    Returns None when that is every position (no stale entry, no id
    twice), the common case, found without sorting: each id writes its
    position into `scratch`, and a repeated id cannot read back both.
    """
    if not stale.any():
        positions = np.arange(len(ids))
        scratch[ids] = positions
        if (scratch[ids] == positions).all():
            return None
    fresh = np.flatnonzero(~stale)
    return np.sort(fresh[np.unique(ids[fresh], return_index=True)[1]])
