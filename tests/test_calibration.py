"""The default latencies reproduce the measured SQS -> Lambda delivery.

aws-facts §7.1: producer to consumer start, warm functions, standard
queue: p50 16.2 ms, p90 33.8 ms, p99 105 ms. qsim's defaults for the send
and invoke latencies were fitted to those figures together; this test
keeps them honest. With a handler that does no work, end-to-end latency
is exactly send latency + invoke latency (+ a cold start for the very
first invocations, which the low rate and warm pool make negligible).
"""

import qsim


def test_idle_pipeline_matches_measured_delivery_latency():
    result = qsim.run(
        {
            "name": "calibration",
            "duration": "30m",
            "seed": 11,
            "topologies": ["async"],
            "workload": {"arrivals": "poisson", "rate": 5},
            "backend": {"service_time": "0ms"},
            "function": {"invocation_overhead": "0ms"},
        }
    )
    latency = result.topologies["async"]["end_to_end_latency_ms"]
    # ~9,000 messages: sampling error of p50 is well under 1 ms and of
    # p99 a few ms; the tolerances allow for the fit itself (p50 16.3,
    # p99 108 in a million-draw check) plus the 1% histogram error.
    assert 14.5 <= latency["p50"] <= 18.5
    assert 85 <= latency["p99"] <= 130
