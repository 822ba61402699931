"""Run a scenario: both topologies on the same requests, then summarise.

Each topology gets fresh random streams from the same seed, so both see
identical arrivals, per-request work and outage schedules (common random
numbers): their comparison is paired.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from qsim.engine.async_topology import AsyncTopology
from qsim.engine.faults import FaultSchedule
from qsim.engine.metrics import auto_interval
from qsim.engine.randomness import Streams
from qsim.engine.records import TopologyRecord
from qsim.engine.sync_topology import SyncTopology
from qsim.results import Result
from qsim.scenario import Scenario, load_scenario, scenario_warnings
from qsim.summary import summarize

__all__ = ["run"]

log = logging.getLogger(__name__)

COMPONENTS = ("frontend", "backend", "queue", "function")


def run(
    scenario: Scenario | str | Path | Mapping[str, Any],
    seed: int | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[str, float], None] | None = None,
    keep_messages: bool | None = None,
) -> Result:
    """Simulate a scenario and return its Result.

    Args:
        scenario: a Scenario, a file path, a bundled name or a dict.
        seed: overrides the scenario's seed.
        overrides: dotted keys to change, as with `qsim run --set`.
        progress: called as `progress(topology, simulated_seconds)`.
        keep_messages: keep one row per async message (`Result.messages`);
            defaults to the scenario's `output.keep_messages`. Memory then
            grows with the number of messages, so leave it off for long runs.
    """
    if not isinstance(scenario, Scenario) or overrides:
        scenario = load_scenario(scenario, overrides)
    seed = scenario.seed if seed is None else seed
    interval_s = scenario.output.timeseries_interval or auto_interval(scenario.duration)
    started = time.perf_counter()
    if keep_messages is None:
        keep_messages = scenario.output.keep_messages
    # Schedules are read-only once drawn: one set serves both topologies.
    faults = _faults(scenario, seed)
    summaries, series, latencies, messages = {}, {}, {}, None
    for name in scenario.topologies:
        topology = _build(
            name,
            scenario,
            seed,
            interval_s,
            faults=faults,
            progress=progress,
            keep_messages=keep_messages,
        )
        topology.run()
        summaries[name] = summarize(topology, scenario)
        series[name] = topology.record.series.frame_columns()
        latencies[name] = {
            "response": topology.record.response.over_time_ms(),
            "end_to_end": topology.record.end_to_end.over_time_ms(),
        }
        if name == "async" and topology.queue.log is not None:
            messages = topology.queue.log.frame_columns()
        log.debug("%s topology done after %.2fs", name, time.perf_counter() - started)
    return Result(
        scenario=scenario,
        seed=seed,
        topologies=summaries,
        series=series,
        latency=latencies,
        warnings=scenario_warnings(scenario),
        wall_time_s=time.perf_counter() - started,
        outages={name: schedule.windows() for name, schedule in faults.items()},
        messages=messages,
    )


def _faults(scenario: Scenario, seed: int) -> dict[str, FaultSchedule]:
    streams = Streams(seed)
    return {
        name: FaultSchedule(
            getattr(scenario, name), scenario.duration, streams[f"faults-{name}"]
        )
        for name in COMPONENTS
        if getattr(scenario, name) is not None
    }


def _build(
    name: str,
    scenario: Scenario,
    seed: int,
    interval_s: float,
    *,
    faults: dict[str, FaultSchedule],
    progress,
    keep_messages: bool,
):
    record = TopologyRecord(scenario.duration, interval_s)
    report = (lambda at_s: progress(name, at_s)) if progress else None
    streams = Streams(seed)
    if name == "async":
        return AsyncTopology(
            scenario,
            streams,
            faults,
            record,
            progress=report,
            keep_messages=keep_messages,
        )
    return SyncTopology(scenario, streams, faults, record, progress=report)
