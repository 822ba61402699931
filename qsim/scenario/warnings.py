"""Warn about legal settings that AWS advises against or rejects.

A warning never stops a run: the user may be asking "what if" on
purpose. Each names the keys, the rule and the AWS fact behind it.
"""

from __future__ import annotations

from qsim.scenario.models import Scenario
from qsim.scenario.units import format_duration as _d

__all__ = ["scenario_warnings"]


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Return one line per unwise setting in the scenario (empty if none)."""
    checks = [_stages]
    if "async" in scenario.topologies:
        checks += [_visibility, _redrive, _batching, _concurrency]
    return [line for check in checks for line in check(scenario)]


def _stages(s: Scenario) -> list[str]:
    end = sum(stage.duration for stage in s.workload.stages)
    if s.workload.stages and end < s.duration:
        return [
            f"workload.stages end at {_d(end)}, before the run's duration "
            f"({_d(s.duration)}): as in k6, no requests arrive after the "
            "last stage"
        ]
    return []


def _visibility(s: Scenario) -> list[str]:
    visibility, timeout = s.queue.visibility_timeout, s.function.timeout
    advised = 6 * timeout + s.function.batching_window
    if visibility < timeout:
        return [
            f"queue.visibility_timeout ({_d(visibility)}) is shorter than "
            f"function.timeout ({_d(timeout)}): AWS rejects this event source "
            "mapping (§4.9)"
        ]
    if visibility < advised:
        return [
            f"queue.visibility_timeout ({_d(visibility)}) is under 6x "
            f"function.timeout plus function.batching_window ({_d(advised)}), "
            "which AWS advises so throttled batches can be retried (§4.9)"
        ]
    return []


def _can_fail(s: Scenario) -> bool:
    parts = (s.backend, s.function)
    return s.workload.poison_fraction > 0 or any(
        p.error_rate > 0 or p.availability < 1 or p.outages for p in parts
    )


def _redrive(s: Scenario) -> list[str]:
    count = s.queue.max_receive_count
    if count is not None and count < 5:
        return [
            f"queue.max_receive_count is {count}: AWS advises at least 5 so "
            "transient failures are retried before the dead-letter queue (§4.10)"
        ]
    if count is None and _can_fail(s):
        return [
            "queue.max_receive_count is not set, so there is no dead-letter "
            "queue: failing messages are retried until retention_period "
            f"({_d(s.queue.retention_period)}) expires them (§1.19)"
        ]
    return []


def _batching(s: Scenario) -> list[str]:
    if s.function.batch_size > 10 and s.function.batching_window < 1:
        return [
            f"function.batch_size is {s.function.batch_size} with no "
            "function.batching_window: AWS rejects a batch size over 10 "
            "without a window of at least 1s (§4.1)"
        ]
    return []


def _concurrency(s: Scenario) -> list[str]:
    f = s.function
    ceiling = min(f.scaling.max_concurrency or 0, f.maximum_concurrency or 10**9)
    lines = []
    if f.reserved_concurrency == 0:
        lines.append("function.reserved_concurrency is 0: the function never runs")
    elif f.reserved_concurrency is not None and f.reserved_concurrency < ceiling:
        lines.append(
            f"function.reserved_concurrency ({f.reserved_concurrency}) is below "
            f"the pollers' ceiling ({ceiling}): pollers will be throttled; AWS "
            "advises maximum_concurrency instead (§4.8, §4.14)"
        )
    if f.maximum_concurrency and f.maximum_concurrency > f.account_concurrency:
        lines.append(
            f"function.maximum_concurrency ({f.maximum_concurrency}) exceeds "
            f"function.account_concurrency ({f.account_concurrency})"
        )
    return lines
