"""Invariants: conservation, limits, determinism, series against summary.

Conservation: every message sent is accounted for exactly once, as
processed, dead-lettered, expired or still in the queue at the end.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import EXACT_BASE, assert_conserved, fixed_concurrency, merge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsim
from qsim.scenario import bundled_scenarios

# Bundled scenarios, shortened to a few simulated minutes so the whole
# set runs in a few seconds; each keeps what makes it interesting.
SHORTENED = {
    "availability": {"duration": "15m"},
    "batch-window": {"duration": "5m"},
    "failing-consumer": {
        "duration": "6m",
        "backend.outages": [{"start": "2m", "duration": "2m"}],
    },
    "outage": {
        "duration": "6m",
        "backend.outages": [{"start": "2m", "duration": "2m"}],
    },
    "poison": {"duration": "5m"},
    "spike": {
        "duration": "5m",
        "workload.stages": [
            {"duration": "1m", "rate": 50},
            {"duration": "1m", "rate": 1000},
            {"duration": "3m", "rate": 50},
        ],
    },
    "steady": {"duration": "3m"},
    "trace-replay": {"duration": "5m"},
}


def _async(result) -> dict:
    return result.topologies["async"]


@pytest.mark.parametrize("name", bundled_scenarios())
def test_conservation_on_bundled_scenario(name):
    overrides = {"topologies": ["async"], **SHORTENED.get(name, {"duration": "3m"})}
    summary = _async(qsim.run(name, overrides=overrides))

    assert summary["messages_sent"] > 100
    assert_conserved(summary)


def test_bundled_scenarios_show_what_they_are_for():
    # The shortened runs above would pass trivially if, say, no poison
    # message were ever dead-lettered: check each still does its job.
    def run(name: str) -> dict:
        overrides = {"topologies": ["async"], **SHORTENED[name]}
        return _async(qsim.run(name, overrides=overrides))

    assert run("poison")["dead_lettered"] > 0
    failing = run("failing-consumer")
    assert failing["errors"] > 0
    spike = run("spike")
    assert spike["processed"] > 0.99 * spike["messages_sent"]


def test_conservation_when_the_window_outlasts_the_visibility_timeout():
    # Legal though unwise (AWS advises visibility >= 6 x timeout + window):
    # gathered messages time out, come back and are dead-lettered (their
    # slots reused) before the invocation that holds them settles.
    scenario = {
        "name": "window-over-visibility",
        "duration": "30s",
        "topologies": ["async"],
        "workload": {"arrivals": "constant", "rate": 2},
        "queue": {"visibility_timeout": "1s", "max_receive_count": 1},
        "function": {"timeout": "1s", "batch_size": 20, "batching_window": "3s"},
    }
    summary = _async(qsim.run(scenario))
    assert summary["processed"] + summary["dead_lettered"] <= summary["messages_sent"]
    assert_conserved(summary)


# --- series against summary -------------------------------------------------

SERIES_TOTALS = {
    "sent": "messages_sent",
    "processed": "processed",
    "dead_lettered": "dead_lettered",
    "expired": "expired",
    "invocations": "invocations",
    "errors": "errors",
    "throttles": "throttles",
    "cold_starts": "cold_starts",
    "message_failures": "message_failures",
}

EXPIRING_AT_THE_END = merge(
    EXACT_BASE,
    {
        "duration": "4m",
        "workload": {"rate": 1},
        "queue": {"visibility_timeout": "10s", "retention_period": "60s"},
        "backend": {"outages": [{"start": "0s", "duration": "1h"}]},
    },
)
"""Messages that keep failing; some expire in the end-of-run bookkeeping."""


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(("poison", {"duration": "3m"}), id="poison"),
        pytest.param(
            ("failing-consumer", {"duration": "4m", "backend.outages": []}),
            id="failing-consumer",
        ),
        pytest.param((EXPIRING_AT_THE_END, {}), id="expiring-at-the-end"),
    ],
)
def test_series_totals_match_the_summary(scenario):
    source, overrides = scenario
    result = qsim.run(source, overrides={"topologies": ["async"], **overrides})
    summary, series = _async(result), result.timeseries
    calls = summary["api_calls"]

    for column, key in SERIES_TOTALS.items():
        assert series[column].sum() == summary[key], column
    assert series["api_calls"].sum() == calls["billable"]
    assert series["empty_receives"].sum() == calls["empty_receives"]
    assert series["concurrency"].max() == summary["max_concurrency"]


# --- determinism --------------------------------------------------------------

RANDOM_SCENARIO = {
    "name": "random",
    "duration": "2m",
    "workload": {"arrivals": "poisson", "rate": 30, "poison_fraction": 0.02},
    "backend": {
        "service_time": {"dist": "lognormal", "median": "50ms", "p99": "400ms"},
        "error_rate": 0.01,
        "workers": 4,
    },
    "queue": {
        "visibility_timeout": "20s",
        "max_receive_count": 3,
        "duplicate_probability": 0.01,
    },
    "function": {"report_batch_item_failures": True},
}


def _comparable(result) -> dict:
    data = result.to_dict()
    data.pop("wall_time_s")
    return data


def test_same_seed_gives_identical_results():
    first = qsim.run(RANDOM_SCENARIO, seed=7, keep_messages=True)
    second = qsim.run(RANDOM_SCENARIO, seed=7, keep_messages=True)

    assert _comparable(first) == _comparable(second)
    pd.testing.assert_frame_equal(first.timeseries, second.timeseries)
    pd.testing.assert_frame_equal(first.latency, second.latency)
    pd.testing.assert_frame_equal(first.messages, second.messages)


def test_the_scenarios_seed_is_the_default():
    scenario = {**RANDOM_SCENARIO, "seed": 7, "topologies": ["async"]}
    assert _comparable(qsim.run(scenario)) == _comparable(qsim.run(scenario, seed=7))


def test_another_seed_gives_other_numbers():
    first = qsim.run(RANDOM_SCENARIO, seed=7)
    other = qsim.run(RANDOM_SCENARIO, seed=8)

    assert first.seed == 7 and other.seed == 8
    for name in ("sync", "async"):
        ours, theirs = first.topologies[name], other.topologies[name]
        assert ours["requests"] != theirs["requests"]
        assert ours["response_latency_ms"] != theirs["response_latency_ms"]
    a, b = _async(first), _async(other)
    assert a["end_to_end_latency_ms"] != b["end_to_end_latency_ms"]
    assert not first.timeseries.equals(other.timeseries)


@pytest.mark.parametrize("name", sorted(SHORTENED))
def test_cutting_requests_into_blocks_changes_nothing(name, monkeypatch):
    # Blocks of one tick versus blocks of many: a poll waiting for a
    # message later in a long block is handed it ahead of time, and the
    # queue's levels must not see it before it arrives. Only events at
    # the very same instant could be ordered differently (a receive on a
    # tick times out on a later tick); these runs have none.
    scenario = {**SHORTENED[name], "topologies": ["async"]}
    runs = []
    for block_s in (1.0, 10.0):
        monkeypatch.setattr("qsim.engine.async_topology.BLOCK_S", block_s)
        runs.append(qsim.run(name, overrides=scenario, keep_messages=True))
    one_tick, long = runs
    assert _comparable(one_tick) == _comparable(long)
    pd.testing.assert_frame_equal(one_tick.timeseries, long.timeseries)
    pd.testing.assert_frame_equal(one_tick.messages, long.messages)


# --- properties over random small scenarios -----------------------------------

DURATIONS = st.sampled_from(["0ms", "50ms", "200ms", "1s"])


@st.composite
def small_scenarios(draw) -> dict:
    """Draw a short async scenario mixing most of the model's features."""
    long_poll = draw(st.booleans())
    batch_size = draw(st.integers(1, 30))
    window_s = 2 if batch_size > 10 else draw(st.sampled_from([0, 0.05, 0.2, 1]))
    preset = draw(st.sampled_from(["classic", "faster", "provisioned"]))
    return {
        "name": "property",
        "duration": f"{draw(st.integers(20, 90))}s",
        "topologies": ["async"],
        "workload": {
            "arrivals": draw(st.sampled_from(["poisson", "constant"])),
            "rate": draw(st.floats(0.5, 40)),
            "poison_fraction": draw(st.sampled_from([0.0, 0.0, 0.05, 0.5])),
            "message_size": draw(st.sampled_from(["1KB", "50KB", "300KB"])),
        },
        "backend": {
            "service_time": {
                "dist": "exponential",
                "mean": f"{draw(st.integers(5, 2000))}ms",
            },
            "error_rate": draw(st.sampled_from([0.0, 0.0, 0.1, 0.6])),
        },
        "queue": {
            "visibility_timeout": f"{draw(st.integers(1, 40))}s",
            "max_receive_count": draw(st.sampled_from([None, 1, 2, 5])),
            "retention_period": draw(st.sampled_from(["60s", "4d"])),
            "delay": draw(st.sampled_from(["0s", "0s", "3s"])),
            "duplicate_probability": draw(st.sampled_from([0.0, 0.0, 0.2])),
            "receive_wait_time": "20s" if long_poll else "0s",
            "partitions": draw(st.sampled_from([1, 4, 16])),
            "short_poll_sample": draw(st.sampled_from([0.1, 0.5, 1.0])),
        },
        "function": {
            "timeout": f"{draw(st.integers(1, 10))}s",
            "batch_size": batch_size,
            "batching_window": f"{window_s}s",
            "report_batch_item_failures": draw(st.booleans()),
            "reserved_concurrency": draw(st.sampled_from([None, None, 0, 1, 3, 8])),
            "maximum_concurrency": (
                None
                if preset == "provisioned"
                else draw(st.sampled_from([None, 2, 6, 12]))
            ),
            "account_concurrency": draw(st.sampled_from([1000, 4])),
            "error_rate": draw(st.sampled_from([0.0, 0.0, 0.2])),
            "init_duration": draw(DURATIONS),
            "idle_environment_lifetime": draw(st.sampled_from(["5s", "10m"])),
            "scaling": {
                "preset": preset,
                "max_concurrency": draw(st.sampled_from([25, 40])),
            },
        },
    }


def _concurrency_limit(scenario) -> float:
    function = scenario.function
    limits = [function.account_concurrency, function.scaling.max_concurrency]
    limits += [function.reserved_concurrency, function.maximum_concurrency]
    return min(limit for limit in limits if limit is not None)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(small_scenarios(), st.integers(0, 2**16))
def test_conservation_and_limits_hold_on_random_scenarios(raw, seed):
    scenario = qsim.load_scenario(raw)
    result = qsim.run(scenario, seed=seed)
    summary, series = _async(result), result.timeseries
    limit = _concurrency_limit(scenario)

    assert_conserved(summary)
    assert summary["max_concurrency"] <= limit
    assert series["concurrency"].max() <= limit
    assert series["scaler_limit"].max() <= scenario.function.scaling.max_concurrency
    if scenario.function.maximum_concurrency:
        assert series["scaler_limit"].max() <= scenario.function.maximum_concurrency
    levels = ("visible", "in_flight", "delayed", "environments", "pollers")
    assert (series[list(levels)] >= 0).all().all()
    assert summary["processed"] <= summary["messages_sent"]
    assert summary["invocations"] <= summary["api_calls"]["receive"]


def test_a_receive_never_returns_more_than_it_asked_for(monkeypatch):
    # Two busy pollers against 20 messages/s over 32 partitions keep about
    # one message on a few partitions; half of them fail and come back
    # after 1 s, so a receive gathers new and returned messages from
    # several partitions and must stop at ten in all.
    from qsim.engine.queue import SqsQueue

    take, sizes = SqsQueue.take, []

    def counted(self, now, n, short=False):
        ids, receipt = take(self, now, n, short)
        sizes.append((len(ids), n))
        return ids, receipt

    monkeypatch.setattr(SqsQueue, "take", counted)
    scenario = merge(
        EXACT_BASE,
        {
            "duration": "3m",
            "workload": {"arrivals": "poisson", "rate": 20, "poison_fraction": 0.5},
            "queue": {
                "visibility_timeout": "1s",
                "partitions": 32,
                "max_receive_count": 20,
            },
            "function": {
                "report_batch_item_failures": True,
                "invocation_overhead": "100ms",
                "scaling": fixed_concurrency(2),
            },
        },
    )
    qsim.run(scenario, seed=3)
    assert sum(got > 0 for got, _ in sizes) > 200
    assert all(got <= asked for got, asked in sizes)
    assert max(got for got, _ in sizes) == 10
