"""The synchronous services: timeouts, bounded queues, outages, autoscaling.

Most runs here are deterministic (constant arrivals and service times),
so counts and instants are predicted by hand. Series are sampled at the
start of each 1 s bin; an event landing exactly on a bin edge is applied
before the sample.
"""

from __future__ import annotations

import numpy as np
import pytest

import qsim


def sync_run(duration: str, workload: dict, backend: dict, **sections):
    """Run a sync-only scenario (no service A unless given) with seed 0."""
    scenario = {
        "name": "sync",
        "duration": duration,
        "topologies": ["sync"],
        "workload": workload,
        "backend": backend,
        **sections,
    }
    return qsim.run(scenario, seed=0)


def summary_and_series(result):
    """Return the sync summary and its per-second series."""
    return result.topologies["sync"], result.timeseries


def every(seconds: float) -> dict:
    """Constant arrivals, one every `seconds`, the first at t = 0."""
    return {"arrivals": "constant", "rate": 1 / seconds}


# --- timeouts ---------------------------------------------------------------


def test_caller_timeout_fails_the_request_but_the_work_goes_on():
    # A request every 10 s, 3 s of work, the caller waits 1 s: each
    # request fails at t + 1 s, yet its worker stays busy until t + 3 s.
    result = sync_run(
        "100s", every(10), {"workers": 1, "service_time": "3s", "timeout": "1s"}
    )
    summary, levels = summary_and_series(result)
    busy = levels.backend_busy.to_numpy()
    failed = levels.failed.to_numpy()

    assert summary["failures"] == {"backend_timeout": 10}
    assert summary["succeeded"] == 0
    assert summary["services"]["backend"]["utilization"] == pytest.approx(0.3)
    for start in range(0, 100, 10):
        assert failed[start + 1] == 1  # answered at t + 1 s
        assert busy[start + 1] == busy[start + 2] == 1  # still working
        assert busy[start + 3 : start + 10].max() == 0


def test_a_request_whose_caller_gave_up_is_never_started():
    # One worker, 3 s of work, a request every 0.7 s whose caller waits
    # 1 s: at each release the worker takes the one request still wanted
    # and skips those already failed. If it served those too, the queue
    # would grow by 3.3 requests every 3 s.
    result = sync_run(
        "300s", every(0.7), {"workers": 1, "service_time": "3s", "timeout": "1s"}
    )
    summary, levels = summary_and_series(result)

    assert summary["succeeded"] == 0
    assert set(summary["failures"]) == {"backend_timeout"}
    assert summary["in_progress_at_end"] <= 2
    assert summary["services"]["backend"]["utilization"] == pytest.approx(1.0)
    assert summary["services"]["backend"]["peak_waiting"] <= 6
    assert levels.backend_waiting.max() <= 6


def test_users_timeout_at_a_counts_as_a_failure():
    # A's caller (the user) waits 100 ms; B takes 300 ms: every request
    # fails as frontend_timeout, and A's worker is held until B answers.
    result = sync_run(
        "60s",
        every(1),
        {"workers": 4, "service_time": "300ms"},
        frontend={"workers": 4, "service_time": "10ms", "timeout": "100ms"},
    )
    summary, _ = summary_and_series(result)

    assert summary["failures"] == {"frontend_timeout": 60}
    # 310 ms of each second: A's worker is busy through B's call.
    assert summary["services"]["frontend"]["utilization"] == pytest.approx(
        0.310 / 4, rel=1e-6
    )


# --- a bounded queue --------------------------------------------------------


def test_a_full_wait_queue_rejects():
    # One worker, 9.5 s of work, room for 2 waiting, a request a second.
    # Completions at 9.5, 19, ..., 95 s: 10 successes; each frees one
    # place, so 3 + 10 of the 100 requests are admitted and 87 rejected;
    # at the end one is served and two wait.
    result = sync_run(
        "100s", every(1), {"workers": 1, "service_time": "9.5s", "max_queue": 2}
    )
    summary, levels = summary_and_series(result)

    assert summary["requests"] == 100
    assert summary["succeeded"] == 10
    assert summary["failures"] == {"backend_overload": 87}
    assert summary["in_progress_at_end"] == 3
    assert summary["services"]["backend"]["peak_waiting"] == 2
    assert levels.backend_waiting.max() == 2
    # An admitted request waits for at most two services before its own.
    assert 9_500 <= summary["response_latency_ms"]["max"] <= 3 * 9_500


def test_zero_waiting_places_serve_or_reject_at_once():
    # max_queue 0: the second and third requests of each 3 s find the
    # worker busy and are rejected; nobody waits.
    result = sync_run(
        "30s", every(1), {"workers": 1, "service_time": "2.5s", "max_queue": 0}
    )
    summary, _ = summary_and_series(result)

    assert summary["succeeded"] == 10
    assert summary["failures"] == {"backend_overload": 20}
    assert summary["response_latency_ms"]["max"] == pytest.approx(2500)


# --- the response time is A's plus B's -------------------------------------


def test_response_time_is_a_s_time_plus_b_s():
    result = sync_run(
        "60s",
        every(0.5),
        {"workers": 4, "service_time": "30ms"},
        frontend={"workers": 4, "service_time": "20ms"},
    )
    summary, _ = summary_and_series(result)
    latency = summary["response_latency_ms"]

    assert summary["succeeded"] == 120
    assert latency["mean"] == pytest.approx(50.0)
    assert latency["max"] == pytest.approx(50.0)
    assert latency["p50"] == pytest.approx(50.0, rel=0.01)  # 1 % histogram


def test_b_s_errors_are_the_users_failures():
    # error_rate 0.1: a binomial share of 40,000 requests (sd 0.0015);
    # tolerance 0.006, four sd.
    result = sync_run(
        "20m",
        {"arrivals": "poisson", "rate": 33},
        {"workers": 16, "service_time": "20ms", "error_rate": 0.1},
    )
    summary, _ = summary_and_series(result)

    assert set(summary["failures"]) == {"backend_error"}
    assert 1 - summary["availability"] == pytest.approx(0.1, abs=0.006)


# --- outages ----------------------------------------------------------------


def test_frontend_down_fails_requests_at_once_and_spares_b():
    # A is down from 20 s to 50 s: each request arriving then fails at its
    # arrival (same second), and B sees none of them.
    result = sync_run(
        "80s",
        {"arrivals": "poisson", "rate": 20},
        {"workers": 8, "service_time": "50ms"},
        frontend={
            "workers": 8,
            "service_time": "5ms",
            "outages": [{"start": "20s", "duration": "30s"}],
        },
    )
    summary, levels = summary_and_series(result)
    arrivals = levels.arrivals.to_numpy()
    failed = levels.failed.to_numpy()

    assert summary["failures"] == {"frontend_down": int(arrivals[20:50].sum())}
    assert (failed[20:50] == arrivals[20:50]).all()
    assert failed[:20].sum() == failed[50:].sum() == 0
    assert levels.backend_busy[21:50].max() == 0
    assert levels.frontend_busy[21:50].max() == 0


def test_backend_down_fails_requests_that_reach_it():
    result = sync_run(
        "80s",
        {"arrivals": "poisson", "rate": 20},
        {
            "workers": 8,
            "service_time": "50ms",
            "outages": [{"start": "20s", "duration": "30s"}],
        },
    )
    summary, levels = summary_and_series(result)
    arrivals = levels.arrivals.to_numpy()

    assert summary["failures"] == {"backend_down": int(arrivals[20:50].sum())}
    assert levels.backend_busy[21:50].max() == 0


# --- autoscaling ------------------------------------------------------------

STEP_AT_S = 600
EVALUATION_S, STARTUP_S, COOLDOWN_S = 60, 90, 480
LOAD_DROPS_AT_S = 1080
AUTOSCALED = {
    "workers": 10,
    "service_time": {"dist": "exponential", "mean": "200ms"},
    "timeout": "2s",
    "autoscaling": {
        "target_utilization": 0.6,
        "evaluation_period": f"{EVALUATION_S}s",
        "startup_delay": f"{STARTUP_S}s",
        "min_instances": 1,
        "max_instances": 3,
        "cooldown": f"{COOLDOWN_S}s",
    },
}
# 20/s needs 4 of one instance's 10 workers; 80/s needs 16, that is 27
# at the 60 % target: 3 instances, the maximum. The load drops again at
# 18 minutes, soon after the last launch, so the cooldown holds it.
STEP = {
    "arrivals": "poisson",
    "stages": [
        {"duration": "10m", "rate": 20},
        {"duration": "8m", "rate": 80},
        {"duration": "17m", "rate": 20},
    ],
}


@pytest.fixture(scope="module")
def step_run():
    """The step workload against the autoscaled B (35 minutes)."""
    return sync_run("35m", STEP, AUTOSCALED)


def _changes(instances: np.ndarray) -> list[tuple[int, int]]:
    """Return (second, change) for each change of the instance count."""
    at = np.flatnonzero(np.diff(instances)) + 1
    return [(int(t), int(instances[t] - instances[t - 1])) for t in at]


def test_scale_out_waits_for_an_evaluation_and_the_startup_delay(step_run):
    summary, levels = summary_and_series(step_run)
    instances = levels.backend_instances.to_numpy()
    changes = _changes(instances)
    first_up = changes[0][0]

    # Nothing changes before the step; the first new instance serves no
    # earlier than the startup delay after the step, and no later than
    # the first evaluation after it plus the startup delay.
    assert instances[:STEP_AT_S].max() == 1
    assert changes[0][1] > 0
    assert STEP_AT_S + STARTUP_S < first_up <= STEP_AT_S + EVALUATION_S + STARTUP_S
    # Launches are decided at evaluations (whole minutes here).
    for at, change in changes:
        launched_at = at - STARTUP_S if change > 0 else at
        assert launched_at % EVALUATION_S == 0


def test_instances_stay_within_min_and_max(step_run):
    _, levels = summary_and_series(step_run)
    instances = levels.backend_instances.to_numpy()

    assert instances.min() == 1
    assert instances.max() == 3  # the load asks for 3 (16 / 0.6 / 10)
    assert instances[-1] == 1  # back to the minimum once it is quiet


def test_scale_in_waits_for_the_cooldown(step_run):
    _, levels = summary_and_series(step_run)
    changes = _changes(levels.backend_instances.to_numpy())
    last_launch = max(at - STARTUP_S for at, change in changes if change > 0)
    first_down = min(at for at, change in changes if change < 0)

    # Utilisation falls at 18 minutes, but the cooldown since the last
    # launch holds the instances until the first evaluation after it.
    assert last_launch + COOLDOWN_S > LOAD_DROPS_AT_S + EVALUATION_S
    assert (
        last_launch + COOLDOWN_S <= first_down < last_launch + COOLDOWN_S + EVALUATION_S
    )


def test_a_spike_outruns_the_scale_out(step_run):
    # Until the new capacity serves, B (10 workers, 50/s at most) faces
    # 80/s: the queue grows and callers time out. Once 3 instances serve,
    # failures stop.
    summary, levels = summary_and_series(step_run)
    instances = levels.backend_instances.to_numpy()
    arrivals, failed = levels.arrivals.to_numpy(), levels.failed.to_numpy()
    first_up = _changes(instances)[0][0]
    at_max = int(np.flatnonzero(instances == 3)[0])

    # (Before the step, only a rare 2 s service, e^-10 of them, fails.)
    assert failed[:STEP_AT_S].sum() <= 0.001 * arrivals[:STEP_AT_S].sum()
    assert failed[STEP_AT_S:first_up].sum() > 0.5 * arrivals[STEP_AT_S:first_up].sum()
    assert levels.backend_waiting[STEP_AT_S + 30 : first_up].min() > 100
    assert set(summary["failures"]) == {"backend_timeout"}
    settled = slice(at_max + 30, LOAD_DROPS_AT_S)
    assert failed[settled].sum() <= 0.001 * arrivals[settled].sum()
