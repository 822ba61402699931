"""Small scenario fixtures shared by the test suite.

`exact_scenario` builds short async-only scenarios with every latency
and cold start set to a constant, so counts and times can be predicted
by hand: a message sent at t is received at t and, with the default
100 ms of work plus 1 ms of invocation overhead, processed at t + 101 ms.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

EXACT_BASE: dict[str, Any] = {
    "name": "exact",
    "duration": "2m",
    "topologies": ["async"],
    "workload": {"arrivals": "constant", "rate": 10},
    "backend": {"service_time": "100ms"},
    "queue": {"send_latency": "0ms"},
    "function": {
        "invoke_latency": "0ms",
        "init_duration": "0ms",
        "invocation_overhead": "1ms",
    },
}

ONE_MESSAGE = [{"duration": "1s", "rate": 1}, {"duration": "1d", "rate": 0}]
"""Stages for constant arrivals that send exactly one message, at t = 0."""


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Return `base` updated by `changes`, nested dicts merged, None deleting."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def fixed_concurrency(n: int) -> dict[str, int]:
    """Return a `function.scaling` section that pins the pollers at `n`."""
    return {"initial_concurrency": n, "min_concurrency": n, "max_concurrency": n}


def assert_conserved(summary: dict) -> None:
    """Assert every message sent is processed, dead-lettered, expired or queued."""
    accounted = (
        summary["processed"]
        + summary["dead_lettered"]
        + summary["expired"]
        + summary["in_queue_at_end"]
    )
    assert summary["conservation"]["balanced"]
    assert summary["conservation"]["sent"] == summary["messages_sent"]
    assert accounted == summary["messages_sent"]
    assert sum(summary["queue_at_end"].values()) == summary["in_queue_at_end"]


def assert_means_agree(
    ours, theirs, what: str, *, max_relative_se: float = 0.03
) -> None:
    """Assert two samples' means differ by at most 4 standard errors.

    The standard error is Welch's, of the difference. It must itself be
    at most `max_relative_se` of `theirs`' mean, so that the comparison
    is sharp enough to see a real discrepancy.
    """
    ours_arr, theirs_arr = np.asarray(ours), np.asarray(theirs)
    difference = ours_arr.mean() - theirs_arr.mean()
    se = math.sqrt(
        ours_arr.var(ddof=1) / len(ours_arr) + theirs_arr.var(ddof=1) / len(theirs_arr)
    )
    scale = abs(theirs_arr.mean())
    assert se <= max_relative_se * scale, f"{what}: too noisy to compare (se {se:.4g})"
    assert abs(difference) <= 4 * se, (
        f"{what}: qsim {ours_arr.mean():.4g} vs reference {theirs_arr.mean():.4g}, "
        f"difference {difference:.3g} > 4 x se {se:.3g}"
    )


@pytest.fixture
def exact_scenario():
    """Return a builder: `exact_scenario(queue={...}, function={...})`.

    Keyword arguments are top-level scenario keys merged into
    `EXACT_BASE`; a None value removes a key (e.g. `workload={"rate":
    None, "stages": ONE_MESSAGE}`).
    """

    def build(**changes: Any) -> dict[str, Any]:
        return merge(EXACT_BASE, changes)

    return build


@pytest.fixture
def one_message_scenario(exact_scenario):
    """Return a builder of exact scenarios that send a single message at t = 0."""

    def build(**changes: Any) -> dict[str, Any]:
        workload = {"rate": None, "stages": ONE_MESSAGE, **changes.pop("workload", {})}
        return exact_scenario(workload=workload, **changes)

    return build
