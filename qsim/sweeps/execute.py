"""Where a sweep's runs execute: this process, a local pool, or Dask.

Every back end yields `(run, outcome)` pairs as runs finish, in any
order; the seeds, not the order, decide the numbers. A local pool sends
the scenario once per process; Dask gets it scattered once to every
worker. An executor is anything with `submit(fn, *args)` returning
futures, such as a `distributed.Client` or a `concurrent.futures` pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from qsim.errors import QsimError
from qsim.sweeps.grid import RunSpec
from qsim.sweeps.worker import share_scenario, simulate, simulate_shared

__all__ = ["cpu_count", "dask_client", "execute"]

log = logging.getLogger(__name__)

Outcome = dict[str, Any]


def cpu_count() -> int:
    """Return the number of cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def execute(
    runs: list[RunSpec],
    scenario: dict[str, Any],
    *,
    workers: int | None = None,
    executor: Any = None,
) -> Iterator[tuple[RunSpec, Outcome]]:
    """Yield each run with its outcome as it finishes.

    Args:
        runs: what to simulate.
        scenario: the plain scenario dict every run starts from.
        workers: local processes; None for every core, 1 for this process.
        executor: run there instead (a Dask client, or its address).
    """
    if not runs:
        return
    if executor is not None:
        yield from _on_executor(runs, scenario, executor)
        return
    workers = min(workers or cpu_count(), len(runs))
    if workers <= 1:
        for run in runs:
            yield run, simulate(scenario, run.point.overrides, run.seed)
        return
    yield from _on_pool(runs, scenario, workers)


def _on_pool(
    runs: list[RunSpec], scenario: dict[str, Any], workers: int
) -> Iterator[tuple[RunSpec, Outcome]]:
    pool = ProcessPoolExecutor(
        workers,
        mp_context=_start_method(),
        initializer=share_scenario,
        initargs=(scenario,),
    )
    log.debug("sweep: %d runs on %d local processes", len(runs), workers)
    finished = False
    try:
        futures = [
            (pool.submit(simulate_shared, run.point.overrides, run.seed), run)
            for run in runs
        ]
        yield from _as_completed(futures)
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)


def _start_method() -> Any:
    """Fork on Linux while this process has one thread, else forkserver.

    Forked workers start in milliseconds, already holding numpy, pandas
    and qsim; a fresh interpreter takes half a second to import them.
    Forking a process that runs other threads (a Dask client, a progress
    bar) can deadlock a child, so then a fork server, started clean,
    forks the workers instead. Elsewhere the platform's default.
    """
    if not sys.platform.startswith("linux"):
        return None
    single = threading.active_count() == 1
    return multiprocessing.get_context("fork" if single else "forkserver")


def _on_executor(
    runs: list[RunSpec], scenario: dict[str, Any], executor: Any
) -> Iterator[tuple[RunSpec, Outcome]]:
    own = isinstance(executor, str)
    client = dask_client(executor) if own else executor
    futures: list[tuple[Any, RunSpec]] = []
    try:
        shared = (
            client.scatter([scenario], broadcast=True)[0]
            if hasattr(client, "scatter")
            else scenario
        )
        futures = [
            (client.submit(simulate, shared, run.point.overrides, run.seed), run)
            for run in runs
        ]
        yield from _as_completed(futures)
    finally:
        for future, _ in futures:
            future.cancel()
        if own:
            client.close()


def dask_client(address: str) -> Any:
    """Connect to a Dask scheduler, e.g. `tcp://host:8786`."""
    try:
        from distributed import Client
    except ImportError:
        raise QsimError(
            "running on a Dask cluster needs dask.distributed: pip install 'qsim[dask]'"
        ) from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as error:
        raise QsimError(
            f"cannot reach the Dask scheduler at {address}: {error}"
        ) from None


def _as_completed(
    futures: list[tuple[Any, RunSpec]],
) -> Iterator[tuple[RunSpec, Outcome]]:
    """Yield futures' outcomes in completion order (any kind of future)."""
    if not all(hasattr(future, "add_done_callback") for future, _ in futures):
        for future, run in futures:
            yield run, _outcome(future)
        return
    done: queue.SimpleQueue = queue.SimpleQueue()
    runs = {id(future): run for future, run in futures}
    for future, _ in futures:
        future.add_done_callback(done.put)
    for _ in futures:
        future = done.get()
        yield runs[id(future)], _outcome(future)


def _outcome(future: Any) -> Outcome:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a lost worker fails only its runs
        return {"error": f"{type(error).__name__}: {error}"}
