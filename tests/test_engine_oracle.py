"""qsim against a plain SimPy reference model (tests/oracle.py).

The oracle is a textbook model of the same flow: a FIFO queue, a fixed
number of long-polling pollers, batches, visibility timeouts, redrive.
The scaler is kept out by pinning qsim's concurrency, and every latency
qsim adds beyond the oracle (send, invoke, INIT) is set to zero.

Deterministic cases (constant arrivals and work) must agree exactly.
Random cases are compared over seeds: the difference of the two means
must lie within 4 standard errors of that difference (Welch; with 8
seeds a side a true-model false alarm has probability about 0.1%), and
the standard error must be small (<= 3% of the mean) so the comparison
can see a real discrepancy of ~10%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_means_agree, fixed_concurrency
from oracle import OracleSpec, simulate

import qsim

SEEDS = range(8)


def scenario_for(spec: OracleSpec, partitions: int = 16) -> dict:
    """Return the qsim scenario that models the same flow as `spec`."""
    key = "mean" if spec.work == "exponential" else "value"
    work = {"dist": spec.work, key: f"{spec.work_mean_s * 1000:g}ms"}
    return {
        "name": "oracle",
        "duration": f"{spec.duration_s:g}s",
        "topologies": ["async"],
        "workload": {
            "arrivals": spec.arrivals,
            "rate": spec.rate_per_s,
            "poison_fraction": spec.poison_fraction,
        },
        "backend": {"service_time": work},
        "queue": {
            "partitions": partitions,
            "send_latency": "0ms",
            "visibility_timeout": f"{spec.visibility_timeout_s:g}s",
            "max_receive_count": spec.max_receive_count,
        },
        "function": {
            "invoke_latency": "0ms",
            "init_duration": "0ms",
            "invocation_overhead": f"{spec.overhead_s * 1000:g}ms",
            "batch_size": spec.batch_size,
            "timeout": "15m",
            "report_batch_item_failures": spec.report_batch_item_failures,
            "scaling": fixed_concurrency(spec.pollers),
        },
    }


def _qsim(spec: OracleSpec, seed: int = 0, partitions: int = 16) -> dict:
    return qsim.run(scenario_for(spec, partitions), seed=seed).topologies["async"]


# --- deterministic: exact agreement ------------------------------------------

EXACT_CASES = {
    # 10/s, 101 ms each, two pollers: nobody ever waits.
    "light": (OracleSpec(120, 10, 0.1, 2, arrivals="constant", work="constant",
                         overhead_s=0.001), 16),
    # 30/s on two pollers of batches up to 10 (20 ms + 50 ms a message).
    "batches": (OracleSpec(120, 30, 0.05, 2, batch_size=10, arrivals="constant",
                           work="constant", overhead_s=0.02), 16),
    # 45/s: more than the pollers can take; a backlog grows. One partition
    # makes qsim's order FIFO like the oracle's (with 16 the order is only
    # best effort and the mean latency of the processed messages differs).
    "overload": (OracleSpec(120, 45, 0.05, 2, batch_size=10, arrivals="constant",
                            work="constant", overhead_s=0.02), 1),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(EXACT_CASES))
def test_deterministic_flows_agree_exactly(case):
    spec, partitions = EXACT_CASES[case]
    ours = _qsim(spec, partitions=partitions)
    theirs = simulate(spec, seed=0)

    assert ours["messages_sent"] == theirs.sent
    assert ours["processed"] == theirs.processed
    assert ours["invocations"] == theirs.invocations
    mean_s = ours["end_to_end_latency_ms"]["mean"] / 1000
    assert mean_s == pytest.approx(theirs.mean_latency_s, rel=1e-9)


# A visibility timeout of 5.05 s, not 5 s: with 5 s a message comes back at
# exactly the instant a new one is sent (both on the 1/7 s grid), and the
# order of simultaneous events is a tie the two models break differently
# (qsim's waiting poll takes both, the oracle's two getters one each).
ALL_POISON = OracleSpec(
    120, 7, 0.05, 3, batch_size=5, arrivals="constant", work="constant",
    poison_fraction=1.0, visibility_timeout_s=5.05, max_receive_count=3,
)  # fmt: skip


def test_redrive_agrees_exactly():
    ours = _qsim(ALL_POISON)
    theirs = simulate(ALL_POISON, seed=0)

    # Every message is received 3 times, then dead-lettered at its 4th
    # receive, about 15 s after it was sent: the same messages in both
    # models. Failures are counted when an invocation ends, so the one
    # still running at the end of the run is not among ours.
    assert ours["messages_sent"] == theirs.sent == 840
    assert ours["dead_lettered"] == theirs.dead_lettered
    assert theirs.received - 1 <= ours["message_failures"] <= theirs.received
    assert ours["processed"] == theirs.processed == 0


def test_redeliveries_are_invoked_as_the_oracle_does():
    # Three pollers, one 50 ms message every 1/7 s: when a message comes
    # back after its visibility timeout a poller is waiting for it, and
    # gets it at once, alone (a regression test: long polls promised a
    # later message used to miss messages coming back before it).
    assert _qsim(ALL_POISON)["invocations"] == simulate(ALL_POISON, seed=0).invocations


# --- random: agreement within confidence intervals ---------------------------


def _both(spec: OracleSpec):
    return [_qsim(spec, seed) for seed in SEEDS], [simulate(spec, s) for s in SEEDS]


def _mean_latency_s(summary: dict) -> float:
    return summary["end_to_end_latency_ms"]["mean"] / 1000


def test_mmc_queue_agrees():
    # M/M/5 at 70% load: Poisson 17.5/s, exponential 200 ms, batch of 1.
    spec = OracleSpec(300, 17.5, 0.2, 5)
    ours, theirs = _both(spec)

    assert_means_agree(
        [_mean_latency_s(s) for s in ours],
        [r.mean_latency_s for r in theirs],
        "mean latency",
    )
    assert_means_agree(
        [s["processed"] / s["messages_sent"] for s in ours],
        [r.processed / r.sent for r in theirs],
        "fraction processed",
    )
    # The oracle itself is a sound M/M/c: Erlang C gives W = 0.2504 s
    # (the empty start and the finite run move it by a few percent).
    assert np.mean([r.mean_latency_s for r in theirs]) == pytest.approx(
        0.2504, rel=0.05
    )


def test_batchesassert_means_agree():
    # Constant 30/s, exponential 50 ms a message, batches of up to 10 on
    # two pollers with 20 ms of overhead per invocation.
    spec = OracleSpec(300, 30, 0.05, 2, batch_size=10, arrivals="constant",
                      overhead_s=0.02)  # fmt: skip
    ours, theirs = _both(spec)

    assert_means_agree(
        [_mean_latency_s(s) for s in ours],
        [r.mean_latency_s for r in theirs],
        "mean latency",
    )
    assert_means_agree(
        [s["invocations"] / s["messages_sent"] for s in ours],
        [r.invocations / r.sent for r in theirs],
        "invocations per message",
    )


def test_poison_and_redriveassert_means_agree():
    # Poisson 10/s, 5% poison, partial batch responses, 3 receives, 5 s
    # visibility timeout, batches of up to 5 on three pollers.
    spec = OracleSpec(300, 10, 0.05, 3, batch_size=5, work="constant",
                      poison_fraction=0.05, visibility_timeout_s=5,
                      max_receive_count=3)  # fmt: skip
    ours, theirs = _both(spec)

    assert_means_agree(
        [_mean_latency_s(s) for s in ours],
        [r.mean_latency_s for r in theirs],
        "mean latency",
    )
    assert_means_agree(
        [s["processed"] / s["messages_sent"] for s in ours],
        [r.processed / r.sent for r in theirs],
        "fraction processed",
    )
    # About 5% of messages are dead-lettered: a smaller count, noisier.
    dead_ours = [s["dead_lettered"] / s["messages_sent"] for s in ours]
    dead_theirs = [r.dead_lettered / r.sent for r in theirs]
    difference = np.mean(dead_ours) - np.mean(dead_theirs)
    se = math.sqrt(np.var(dead_ours, ddof=1) / 8 + np.var(dead_theirs, ddof=1) / 8)
    assert abs(difference) <= 4 * se
    assert 0.04 <= np.mean(dead_ours) <= 0.06
