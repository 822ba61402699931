"""What a worker process does for one run: simulate, then flatten.

A worker receives the scenario as a plain dict, the point's overrides
and the run's seed, and sends back only the flattened summaries (a few
dozen numbers per topology), never the whole Result. It never raises: a
failed run comes back as its error text, so one bad point cannot stop
the pool.
"""

from __future__ import annotations

import logging
import math
import traceback
from typing import Any

from qsim.results import flatten_summary
from qsim.simulation import run

__all__ = ["simulate", "simulate_shared", "share_scenario"]

log = logging.getLogger(__name__)

_shared: dict[str, Any] | None = None


def share_scenario(scenario: dict[str, Any]) -> None:
    """Keep the scenario in this worker process (a pool's initializer).

    The pool sends a possibly large scenario (a replayed trace) once per
    process instead of once per run.
    """
    global _shared
    _shared = scenario


def simulate_shared(overrides: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run `simulate` on the scenario given to `share_scenario`."""
    if _shared is None:
        return {"error": "RuntimeError: this worker was given no scenario"}
    return simulate(_shared, overrides, seed)


def simulate(
    scenario: dict[str, Any], overrides: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Run one replication; return `{"summaries": {topology: {metric: x}}}`.

    On failure, return `{"error": "Type: message"}` instead.
    """
    try:
        result = run(scenario, seed, overrides=overrides or None)
    except Exception as error:  # noqa: BLE001 - recorded in the table instead
        log.debug("run failed (seed %s):\n%s", seed, traceback.format_exc())
        return {"error": f"{type(error).__name__}: {error}"}
    return {
        "summaries": {
            name: flatten(summary) for name, summary in result.topologies.items()
        }
    }


def flatten(summary: dict[str, Any]) -> dict[str, float]:
    """Return a nested summary as `{dotted.name: number}`.

    Flags (`conservation.balanced`) become 1.0 or 0.0 and missing values
    (`availability` with nothing answered) NaN, so every metric column
    of a sweep is numeric and can be averaged.
    """
    flat: dict[str, float] = {}
    for name, value in flatten_summary(summary).items():
        number = math.nan if value is None else _scalar(value)
        if isinstance(number, bool):
            number = float(number)
        if isinstance(number, (int, float)):
            flat[name] = number
    return flat


def _scalar(value: Any) -> Any:
    """Return a numpy scalar as the Python number it holds."""
    return value.item() if hasattr(value, "item") else value
