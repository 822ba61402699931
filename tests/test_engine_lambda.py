"""Lambda behaviour: the poller scaler, back-off, throttling, environments.

The scaler's limit is read from the `scaler_limit` series (sampled at
each 1 s tick) and concurrency from the `concurrency` series (the peak
within each second) and the summary's `max_concurrency`.
"""

from __future__ import annotations

import pytest

import qsim

BURST_THEN_IDLE = [{"duration": "1m", "rate": 50}, {"duration": "1d", "rate": 0}]


def _async(result) -> dict:
    return result.topologies["async"]


def _backlog(exact_scenario, duration: str = "2m", **function) -> dict:
    """100 messages/s of 10 s each, one per batch: a backlog for minutes."""
    return exact_scenario(
        duration=duration,
        workload={"rate": 100},
        backend={"service_time": "10s"},
        queue={"visibility_timeout": "2m"},
        function={"batch_size": 1, "timeout": "15s", **function},
    )


def _limit(result):
    return result.timeseries["scaler_limit"].to_numpy()


# --- the ramp ---------------------------------------------------------------


def test_classic_scaler_starts_at_5_and_adds_at_most_60_a_minute(exact_scenario):
    result = qsim.run(_backlog(exact_scenario))
    limit = _limit(result)

    assert limit[0] == 5
    assert (limit[1:61] >= limit[:60]).all()  # only grows under a backlog
    assert limit[:61].max() <= 65
    # +1 per 1 s interval: 65 one minute in (and not far below it).
    assert limit[60] >= 60
    assert _async(result)["max_concurrency"] <= limit.max()


@pytest.mark.parametrize(
    ("function", "cap"),
    [
        ({"scaling": {"max_concurrency": 30}}, 30),
        ({"maximum_concurrency": 20}, 20),
        ({"scaling": "faster", "maximum_concurrency": 40}, 40),
    ],
)
def test_scaler_never_exceeds_its_cap(exact_scenario, function, cap):
    result = qsim.run(_backlog(exact_scenario, **function))
    series = result.timeseries

    assert series["scaler_limit"].max() == cap  # reached, never passed
    assert series["concurrency"].max() <= cap
    assert _async(result)["max_concurrency"] == cap


def test_faster_and_provisioned_presets_ramp_faster(exact_scenario):
    # A high account limit keeps throttling (and its back-off) out.
    def limit_after_a_minute(scaling: str) -> float:
        scenario = _backlog(
            exact_scenario,
            duration="70s",
            scaling=scaling,
            account_concurrency=5000,
        )
        return _limit(qsim.run(scenario))

    classic, faster = limit_after_a_minute("classic"), limit_after_a_minute("faster")
    provisioned = limit_after_a_minute("provisioned")

    assert classic[0] == faster[0] == 5
    assert provisioned[0] == 20  # two pollers of ten invokes (§5.7)
    # +60, +300 and +1,000 a minute (§5.1, §5.2, §5.6), within one tick.
    assert 60 <= classic[60] <= 65
    assert 295 <= faster[60] <= 305
    assert 1000 <= provisioned[60] <= 1020
    assert classic[60] < faster[60] < provisioned[60]


def test_scaler_never_exceeds_the_classic_cap(exact_scenario):
    # 1,000 (§5.1): reached after 5 + 60/min x ~16.6 min; check with the
    # ramp started higher so the run stays short.
    scenario = _backlog(
        exact_scenario,
        duration="90s",
        scaling={"initial_concurrency": 950},
        account_concurrency=5000,
    )
    limit = _limit(qsim.run(scenario))
    assert limit.max() == 1000
    assert limit[-1] == 1000


def test_scaler_scales_down_when_the_queue_is_empty(exact_scenario):
    # 3,000 one-second messages in the first minute ramp the scaler up;
    # the queue then drains and the limit falls back to the preset's
    # minimum at 60 a minute, starting 1 minute after it was last seen
    # non-empty.
    scenario = exact_scenario(
        duration="6m",
        workload={"rate": None, "stages": BURST_THEN_IDLE},
        backend={"service_time": "1s"},
        queue={"visibility_timeout": "1m"},
        function={"batch_size": 1, "timeout": "5s"},
    )
    result = qsim.run(scenario)
    series = result.timeseries
    limit = series["scaler_limit"].to_numpy()
    visible = series["visible"].to_numpy()
    peak_at = int(limit.argmax())
    drained_at = int(max(i for i, v in enumerate(visible) if v > 0)) + 1

    assert limit.max() > 50
    assert _async(result)["processed"] == 3000
    assert (limit[peak_at:drained_at] == limit.max()).all()  # no drop while busy
    assert (limit[drained_at : drained_at + 59] == limit.max()).all()
    assert (limit[drained_at + 61 :] < limit.max()).all()
    assert (limit[drained_at + 61 :][1:] <= limit[drained_at + 61 :][:-1]).all()
    assert limit[-1] == 5


def test_faster_preset_scales_down_to_two(exact_scenario):
    scenario = exact_scenario(
        duration="3m",
        workload={
            "rate": None,
            "stages": [{"duration": "10s", "rate": 10}, {"duration": "1d", "rate": 0}],
        },
        function={"scaling": "faster"},
    )
    limit = _limit(qsim.run(scenario))
    assert limit[0] == 5
    assert limit[-1] == 2  # §5.4


# --- back-off on errors -----------------------------------------------------


def _ramp_with_backend(exact_scenario, **backend) -> dict:
    return exact_scenario(
        duration="3m",
        workload={"rate": None, "stages": BURST_THEN_IDLE},
        backend={"service_time": "1s", **backend},
        queue={"visibility_timeout": "1m"},
        function={"batch_size": 1, "timeout": "5s"},
    )


def test_outage_makes_the_scaler_back_off(exact_scenario):
    healthy = _limit(qsim.run(_ramp_with_backend(exact_scenario)))
    outage = [{"start": "20s", "duration": "1m"}]
    result = qsim.run(_ramp_with_backend(exact_scenario, outages=outage))
    failing = _limit(result)

    assert _async(result)["errors"] > 0
    # While B is down every invocation fails as a whole: the limit falls
    # to the minimum (5) within seconds and stays there, while the same
    # backlog without the outage keeps the scaler climbing (+1 a second).
    assert failing[30:80].max() <= 6
    assert healthy[30:80].min() >= 30
    assert failing[30:80].mean() < 0.2 * healthy[30:80].mean()
    # Once B is back the scaler ramps up again.
    assert failing[80:].max() > failing[79] + 10


def test_whole_batch_errors_keep_the_scaler_low(exact_scenario):
    healthy = _limit(qsim.run(_ramp_with_backend(exact_scenario)))
    result = qsim.run(_ramp_with_backend(exact_scenario, error_rate=0.5), seed=1)
    failing = _limit(result)

    assert _async(result)["errors"] > 100
    assert failing.max() <= 10
    assert healthy.max() > 50


# --- throttling ---------------------------------------------------------------


def _throttling(exact_scenario, **function) -> dict:
    # 5 pollers, each holding a message 1 s; 300 messages in the first
    # minute; a 3 s visibility timeout so throttled messages come back.
    return exact_scenario(
        duration="4m",
        workload={
            "rate": None,
            "stages": [{"duration": "1m", "rate": 5}, {"duration": "1d", "rate": 0}],
        },
        backend={"service_time": "1s"},
        queue={"visibility_timeout": "3s"},
        function={"batch_size": 1, "timeout": "2s", **function},
    )


@pytest.mark.parametrize("limit", ["reserved_concurrency", "account_concurrency"])
def test_function_limit_below_the_pollers_throttles(exact_scenario, limit):
    result = qsim.run(_throttling(exact_scenario, **{limit: 3}), keep_messages=True)
    summary, series = _async(result), result.timeseries
    messages = result.messages

    assert summary["throttles"] > 0
    assert series["throttles"].sum() == summary["throttles"]
    assert summary["max_concurrency"] == 3
    assert series["concurrency"].max() <= 3
    # Throttled messages return after their visibility timeout and are
    # received again; in the end every one is processed, once.
    assert (messages["receive_count"] > 1).sum() > 0
    assert summary["processed"] == summary["messages_sent"] == 300
    assert summary["duplicate_deliveries"] == 0


def test_without_a_function_limit_nothing_is_throttled(exact_scenario):
    summary = _async(qsim.run(_throttling(exact_scenario)))
    assert summary["throttles"] == 0
    assert summary["max_concurrency"] > 3


def test_reserved_concurrency_zero_never_invokes(exact_scenario):
    scenario = exact_scenario(duration="1m", function={"reserved_concurrency": 0})
    summary = _async(qsim.run(scenario))
    assert summary["invocations"] == 0
    assert summary["processed"] == 0
    assert summary["throttles"] > 0
    assert summary["max_concurrency"] == 0


# --- execution environments ---------------------------------------------------


def _low_traffic(exact_scenario, stages, duration: str, **function) -> dict:
    return exact_scenario(
        duration=duration,
        workload={"rate": None, "stages": stages},
        function={"batch_size": 1, "init_duration": "200ms", **function},
    )


def _cold_bins(result) -> list[float]:
    series = result.timeseries
    return series.loc[series["cold_starts"] > 0, "time_s"].tolist()


def test_first_invocation_is_cold_then_warm_environments_are_reused(exact_scenario):
    scenario = _low_traffic(exact_scenario, [{"duration": "4m", "rate": 1}], "4m")
    result = qsim.run(scenario)
    summary = _async(result)

    assert summary["invocations"] == 240
    assert summary["cold_starts"] == 1
    assert _cold_bins(result) == [0.0]


def test_overlapping_invocations_each_need_an_environment(exact_scenario):
    # 10 messages/s; the first invocations take 200 ms of INIT + 101 ms,
    # so those at 0, 0.1, 0.2 and 0.3 s are cold; from 0.4 s on, the
    # environments freed at 0.301 s and later are warm again.
    scenario = _low_traffic(exact_scenario, [{"duration": "2m", "rate": 10}], "2m")
    result = qsim.run(scenario)
    assert _async(result)["cold_starts"] == 4
    assert _cold_bins(result) == [0.0]


@pytest.mark.parametrize(
    ("gap", "function", "cold_again"),
    [
        ("12m", {}, True),  # longer than the default 10 min lifetime
        ("8m", {}, False),
        ("2m", {"idle_environment_lifetime": "1m"}, True),
        ("2m", {"idle_environment_lifetime": "3m"}, False),
    ],
)
def test_idle_environments_are_reclaimed(exact_scenario, gap, function, cold_again):
    stages = [
        {"duration": "1m", "rate": 1},
        {"duration": gap, "rate": 0},
        {"duration": "1m", "rate": 1},
    ]
    gap_s = qsim.load_scenario({**exact_scenario(), "duration": gap}).duration
    scenario = _low_traffic(exact_scenario, stages, f"{60 + gap_s + 60:g}s", **function)
    result = qsim.run(scenario)
    summary = _async(result)

    assert summary["invocations"] == 120
    resumed_at = 60.0 + gap_s
    assert _cold_bins(result) == ([0.0, resumed_at] if cold_again else [0.0])
    environments = result.timeseries.set_index("time_s")["environments"]
    assert bool(environments[resumed_at - 1] == 0) is cold_again


@pytest.mark.parametrize("trouble", ["idle", "errors"])
def test_maximum_concurrency_below_the_presets_minimum_is_never_exceeded(
    exact_scenario, trouble
):
    # maximum_concurrency may be 2-1,000 (§4.8), below classic's minimum 5.
    backend = {"error_rate": 1.0} if trouble == "errors" else {}
    scenario = exact_scenario(
        duration="90s",
        workload={"rate": 1},
        backend=backend,
        queue={"visibility_timeout": "5s"},
        function={"maximum_concurrency": 2},
    )
    series = qsim.run(scenario).timeseries
    assert series["scaler_limit"].max() <= 2
    assert series["pollers"].max() <= 2
