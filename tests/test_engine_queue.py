"""SQS behaviour: re-delivery, redrive, retention, delay, polling, batches.

Most scenarios here are exact (constant arrivals, constant work, no
random latencies, see `conftest.py`), so the tests assert exact counts
and the one-second bins of the time series in which things happen.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_conserved, fixed_concurrency

import qsim

FAILURES = {
    "poison": {"workload": {"poison_fraction": 1.0}},
    "function_error": {"function": {"error_rate": 1.0}},
    "backend_error": {"backend": {"error_rate": 1.0}},
    "backend_down": {"backend": {"outages": [{"start": "0s", "duration": "1h"}]}},
}


def _async(result) -> dict:
    return result.topologies["async"]


def _bins_with(result, column: str) -> list[float]:
    series = result.timeseries
    return series.loc[series[column] > 0, "time_s"].tolist()


def _run(scenario: dict, **kwargs):
    return qsim.run(scenario, keep_messages=True, **kwargs)


# --- re-delivery after the visibility timeout ------------------------------


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failed_message_is_received_again_only_after_visibility_timeout(
    one_message_scenario, failure
):
    scenario = one_message_scenario(
        **FAILURES[failure], queue={"visibility_timeout": "30s"}
    )
    result = _run(scenario)
    summary = _async(result)

    # Received at 0 s, fails at 0.101 s, invisible until 30 s after the
    # receive: one receive per visibility timeout, and none in between.
    assert _bins_with(result, "received") == [0.0, 30.0, 60.0, 90.0]
    assert summary["invocations"] == 4
    assert summary["processed"] == 0
    assert summary["in_queue_at_end"] == 1
    assert result.messages["receive_count"].tolist() == [4]


def test_failure_visibility_timeout_shortens_the_wait(one_message_scenario):
    scenario = one_message_scenario(
        workload={"poison_fraction": 1.0},
        queue={"visibility_timeout": "30s"},
        function={"failure_visibility_timeout": "5s"},
    )
    result = _run(scenario)

    # ChangeMessageVisibility(5 s) when the invocation fails at +101 ms:
    # the message is received every 5.101 s instead of every 30 s.
    period_s = 5.101
    expected = [float(math.floor(k * period_s)) for k in range(int(120 / period_s) + 1)]
    assert _bins_with(result, "received") == expected
    assert result.messages["receive_count"].tolist() == [len(expected)]
    assert _async(result)["api_calls"]["change_visibility"] == len(expected)


# --- redrive to the dead-letter queue ---------------------------------------


@pytest.mark.parametrize("max_receive_count", [1, 3, 5])
def test_always_failing_message_is_dead_lettered_after_max_receives(
    one_message_scenario, max_receive_count
):
    scenario = one_message_scenario(
        workload={"poison_fraction": 1.0},
        queue={"visibility_timeout": "10s", "max_receive_count": max_receive_count},
    )
    result = _run(scenario)
    summary, series = _async(result), result.timeseries
    moved_at = 10.0 * max_receive_count  # N receives, N visibility timeouts

    assert _bins_with(result, "received") == [
        10.0 * k for k in range(max_receive_count)
    ]
    assert _bins_with(result, "dead_lettered") == [moved_at]
    assert summary["dead_lettered"] == 1
    assert summary["message_failures"] == max_receive_count
    assert summary["in_queue_at_end"] == 0
    dlq = series.set_index("time_s")["dlq_size"]
    assert (dlq[dlq.index < moved_at] == 0).all()
    assert (dlq[dlq.index > moved_at] == 1).all()
    messages = result.messages
    assert messages["outcome"].tolist() == ["dead_lettered"]
    assert messages["receive_count"].tolist() == [max_receive_count]
    assert messages["finished_at_s"].tolist() == [moved_at]


def test_every_poison_message_is_dead_lettered_after_exactly_n_receives(
    exact_scenario,
):
    scenario = exact_scenario(
        duration="3m",
        workload={
            "rate": None,
            "stages": [{"duration": "30s", "rate": 2}, {"duration": "1d", "rate": 0}],
            "poison_fraction": 1.0,
        },
        queue={"visibility_timeout": "10s", "max_receive_count": 4},
    )
    result = _run(scenario)
    summary, messages = _async(result), result.messages

    assert summary["messages_sent"] == 60
    assert summary["dead_lettered"] == 60
    assert summary["message_failures"] == 60 * 4
    assert (messages["receive_count"] == 4).all()
    # Each is moved when its 4th visibility timeout ends, 40 s after it
    # was sent and received (messages wait at most for a free poller).
    lived = messages["finished_at_s"] - messages["sent_at_s"]
    assert lived.min() >= 40.0
    assert lived.max() <= 40.5
    assert result.timeseries["dlq_size"].iloc[-1] == 60


# --- retention --------------------------------------------------------------

UNPROCESSABLE = {
    # Received and throttled, or received and failed, over and over.
    "throttled": {"function": {"reserved_concurrency": 0}},
    "backend_down": {"backend": {"outages": [{"start": "0s", "duration": "1h"}]}},
    # Never received: the only poller is busy with the first message.
    "poller_busy": {
        "backend": {"service_time": "10m"},
        "function": {"timeout": "15m", "scaling": fixed_concurrency(1)},
    },
}


@pytest.mark.parametrize("cause", sorted(UNPROCESSABLE))
def test_messages_nobody_processes_expire_after_retention_period(exact_scenario, cause):
    scenario = exact_scenario(
        duration="4m",
        workload={"rate": 1},
        queue={"visibility_timeout": "10s", "retention_period": "60s"},
        **UNPROCESSABLE[cause],
    )
    result = _run(scenario)
    summary, messages = _async(result), result.messages
    expired = messages[messages["outcome"] == "expired"]

    assert summary["processed"] == 0
    # A waiting message is dropped at the first tick after its 60 s (1 s
    # bins); one in flight when it turns 60 s when it becomes visible
    # again, at most one visibility timeout (10 s) later.
    lived = expired["finished_at_s"] - expired["sent_at_s"]
    assert lived.min() >= 60.0
    assert lived.max() <= 60.0 + 10.0 + 1.0
    if cause == "poller_busy":
        assert lived.max() <= 60.0 + 1.0  # all were waiting, none in flight
    assert min(_bins_with(result, "expired")) >= 60.0
    # Every message sent 71 s or more before the end has expired.
    assert summary["expired"] >= int(240 - 71) + 1
    assert summary["expired"] == len(expired)
    assert_conserved(summary)
    assert summary["messages_sent"] == 240


# --- delay --------------------------------------------------------------------


def test_queue_delay_postpones_delivery(exact_scenario):
    result = _run(exact_scenario(duration="1m", queue={"delay": "5s"}))
    summary, series = _async(result), result.timeseries
    latency = summary["end_to_end_latency_ms"]

    # 5 s of delay + 100 ms of work + 1 ms of overhead, for every message
    # (percentiles come from a 2%-wide histogram bucket, min/max exact).
    assert latency["max"] == pytest.approx(5101.0, abs=0.01)
    assert latency["p50"] == pytest.approx(5101.0, rel=0.01)
    assert result.messages["end_to_end_latency_ms"].min() >= 5000.0
    # At 10 messages/s, 50 are always waiting out their delay.
    assert series["delayed"].iloc[5:].eq(50).all()
    assert _bins_with(result, "processed")[0] == 5.0
    assert summary["queue_at_end"]["delayed"] == 50
    assert summary["conservation"]["balanced"]


def test_messages_handed_out_ahead_count_in_flight_only_once_they_arrive(
    exact_scenario,
):
    # 10 messages/s, each in flight for 101 ms: just before each whole
    # second exactly one (sent 100 ms earlier) is in flight. Idle polls
    # are promised the next seconds' messages in advance; those must
    # not show as in flight, nor as visible, before they arrive.
    series = _run(exact_scenario(duration="1m")).timeseries
    assert series["in_flight"].iloc[1:].eq(1).all()
    assert series["visible"].eq(0).all()


def test_without_delay_nothing_is_delayed(exact_scenario):
    result = _run(exact_scenario(duration="30s"))
    assert result.timeseries["delayed"].eq(0).all()
    assert _async(result)["end_to_end_latency_ms"]["max"] == pytest.approx(
        101.0, abs=0.01
    )


# --- short polling ------------------------------------------------------------

ONE_PARTITION_SAMPLE = {
    "partitions": 16,
    "short_poll_sample": 1 / 16,
    "short_poll_interval": "20ms",
}


def test_short_poll_misses_a_waiting_message(one_message_scenario):
    # One poller, one message, short polls sampling 1 of 16 partitions:
    # each empty receive while the message waits costs one 20 ms interval,
    # so latency = 101 ms + 20 ms x (false empty receives).
    misses = []
    for seed in range(10):
        scenario = one_message_scenario(
            duration="5s",
            queue={**ONE_PARTITION_SAMPLE, "receive_wait_time": "0s"},
            function={"scaling": fixed_concurrency(1)},
        )
        summary = _async(qsim.run(scenario, seed=seed))
        waited_ms = summary["end_to_end_latency_ms"]["max"] - 101.0
        assert waited_ms / 20.0 == pytest.approx(round(waited_ms / 20.0), abs=1e-6)
        misses.append(round(waited_ms / 20.0))
        assert summary["processed"] == 1
        assert summary["api_calls"]["empty_receives"] >= misses[-1]
    # P(hit) = 1/16 per poll: about 15 misses per message on average;
    # ten messages found at the first try would have probability 1e-12.
    assert sum(misses) > 0
    assert np.mean(misses) > 3


def test_long_poll_finds_a_waiting_message_at_once(one_message_scenario):
    for seed in range(5):
        scenario = one_message_scenario(
            duration="5s",
            queue={**ONE_PARTITION_SAMPLE, "receive_wait_time": "20s"},
            function={"scaling": fixed_concurrency(1)},
        )
        summary = _async(qsim.run(scenario, seed=seed))
        assert summary["end_to_end_latency_ms"]["max"] == pytest.approx(101.0, abs=1e-6)
        assert summary["api_calls"]["empty_receives"] == 0


@pytest.fixture
def burst_of_ten(tmp_path, exact_scenario):
    """Ten messages all sent at t = 0, one poller, batches of ten."""
    trace = tmp_path / "burst.csv"
    trace.write_text("0\n" * 10)

    def build(wait: str) -> dict:
        return exact_scenario(
            duration="10s",
            workload={"arrivals": "trace", "rate": None, "trace": {"file": str(trace)}},
            queue={**ONE_PARTITION_SAMPLE, "receive_wait_time": wait},
            function={"batch_size": 10, "scaling": fixed_concurrency(1)},
        )

    return build


def test_short_poll_returns_partial_batches(burst_of_ten):
    for seed in range(5):
        summary = _async(qsim.run(burst_of_ten("0s"), seed=seed))
        # One receive sees one partition: the ten messages (spread over
        # 16 partitions) take several receives and invocations.
        assert summary["processed"] == 10
        assert summary["invocations"] >= 2
        assert (
            summary["api_calls"]["receive"] - summary["api_calls"]["empty_receives"]
            >= 2
        )


def test_long_poll_returns_the_whole_batch(burst_of_ten):
    for seed in range(5):
        summary = _async(qsim.run(burst_of_ten("20s"), seed=seed))
        assert summary["processed"] == 10
        assert summary["invocations"] == 1
        assert summary["api_calls"]["receive"] == 1


def _small_backlog(wait: str) -> dict:
    # Two pollers paying 100 ms per invocation against 20 messages/s keep
    # a small standing backlog: about one message per partition.
    return {
        "name": "backlog",
        "duration": "2m",
        "topologies": ["async"],
        "workload": {"arrivals": "constant", "rate": 20},
        "backend": {"service_time": "1ms"},
        "queue": {
            **ONE_PARTITION_SAMPLE,
            "send_latency": "0ms",
            "receive_wait_time": wait,
        },
        "function": {
            "invoke_latency": "0ms",
            "init_duration": "0ms",
            "invocation_overhead": "100ms",
            "scaling": fixed_concurrency(2),
        },
    }


def test_short_polling_has_false_empty_receives_while_messages_wait():
    result = qsim.run(_small_backlog("0s"), seed=1)
    series, calls = result.timeseries, _async(result)["api_calls"]
    waiting = series["visible"] > 0
    # Messages are visible at (nearly) every 1 s sample, yet receives
    # come back empty within those seconds, and the non-empty ones carry
    # far fewer messages than are visible (batches of up to 10).
    assert waiting.mean() > 0.9
    assert (series.loc[waiting, "empty_receives"] > 0).mean() > 0.9
    per_receive = series["received"].sum() / (
        calls["receive"] - calls["empty_receives"]
    )
    assert per_receive < 0.5 * series.loc[waiting, "visible"].mean()
    assert per_receive < 10


def test_long_polling_has_no_false_empty_receives():
    result = qsim.run(_small_backlog("20s"), seed=1)
    summary = _async(result)
    # A 20 s long poll against 20 messages/s never expires empty.
    assert summary["api_calls"]["empty_receives"] == 0
    assert result.timeseries["visible"].mean() < 0.1
    assert summary["processed"] >= summary["messages_sent"] - 2


# --- partial batch responses --------------------------------------------------


def _batches_with_poison(report: bool) -> dict:
    return {
        "name": "rbif",
        "duration": "3m",
        "seed": 3,
        "topologies": ["async"],
        "workload": {
            "arrivals": "constant",
            "poison_fraction": 0.1,
            "stages": [{"duration": "1m", "rate": 10}, {"duration": "1d", "rate": 0}],
        },
        "backend": {"service_time": "10ms"},
        "queue": {
            "send_latency": "0ms",
            "visibility_timeout": "10s",
            "max_receive_count": 3,
        },
        "function": {
            "invoke_latency": "0ms",
            "init_duration": "0ms",
            "batch_size": 10,
            "batching_window": "1s",
            "report_batch_item_failures": report,
        },
    }


def test_with_report_batch_item_failures_only_failed_messages_return():
    result = _run(_batches_with_poison(report=True))
    summary, messages = _async(result), result.messages
    received = result.timeseries["received"].sum()
    poison = summary["dead_lettered"]

    assert summary["errors"] == 0
    assert summary["duplicate_deliveries"] == 0
    assert poison > 0
    assert summary["processed"] + poison == summary["messages_sent"] == 600
    # Good messages are received once; each poison message N = 3 times.
    assert summary["message_failures"] == 3 * poison
    assert received == summary["processed"] + 3 * poison
    assert (
        messages.loc[messages["outcome"] == "processed", "receive_count"] == 1
    ).all()


def test_without_report_batch_item_failures_the_whole_batch_returns():
    with_report = _async(_run(_batches_with_poison(report=True)))
    result = _run(_batches_with_poison(report=False))
    summary = _async(result)
    received = result.timeseries["received"].sum()

    # The same messages are poison (same seed), and still dead-lettered.
    assert summary["dead_lettered"] == with_report["dead_lettered"]
    assert summary["message_failures"] == with_report["message_failures"]
    # Every batch holding a poison message fails as a whole: its good
    # messages come back and are processed again (duplicates).
    assert summary["errors"] > 0
    assert summary["duplicate_deliveries"] > 0
    assert received == (
        summary["processed"]
        + summary["duplicate_deliveries"]
        + summary["message_failures"]
    )
    assert received > with_report["processed"] + with_report["message_failures"]
    assert summary["conservation"]["balanced"]


# --- at-least-once delivery -----------------------------------------------------


def test_duplicate_copies_are_counted_apart(exact_scenario):
    scenario = exact_scenario(
        duration="2m",
        workload={
            "rate": None,
            "stages": [{"duration": "30s", "rate": 10}, {"duration": "1d", "rate": 0}],
        },
        queue={"visibility_timeout": "5s", "duplicate_probability": 0.3},
    )
    summary = _async(qsim.run(scenario, seed=2))
    assert summary["messages_sent"] == 300
    assert summary["processed"] == 300
    # A surviving copy comes back every 5 s with probability 0.3: about
    # 300 x 0.3 / 0.7 ~ 130 duplicates; none counts as processed again.
    assert 60 <= summary["duplicate_deliveries"] <= 250
    assert summary["conservation"]["balanced"]


def test_waiting_long_poll_gets_a_message_as_soon_as_it_is_visible_again(
    tmp_path, exact_scenario
):
    # One poller. A is sent at 0 s and fails (B is down until 1 s); it is
    # visible again at 1.3 s, when the poller is idle and long-polling, so
    # it should be received then and processed at 1.401 s (§1.7). B, sent
    # at 1.5 s, follows at 1.601 s.
    trace = tmp_path / "a_then_b.csv"
    trace.write_text("0\n1.5\n")
    scenario = exact_scenario(
        duration="5s",
        workload={"arrivals": "trace", "rate": None, "trace": {"file": str(trace)}},
        backend={"outages": [{"start": "0s", "duration": "1s"}]},
        queue={"visibility_timeout": "1.3s"},
        function={"batch_size": 1, "scaling": fixed_concurrency(1)},
    )
    messages = _run(scenario).messages
    assert messages["finished_at_s"].tolist() == pytest.approx([1.401, 1.601])
