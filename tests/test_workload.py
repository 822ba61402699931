"""Arrival processes: counts, shapes, trace replay and block independence."""

import math

import numpy as np
import pytest

import qsim
from qsim.engine.workload import ArrivalSource
from qsim.scenario import load_scenario


def _times(workload: dict, duration: str = "30m", block_s: float = 1.0, seed: int = 1):
    scenario = load_scenario({"name": "w", "duration": duration, "workload": workload})
    rng, thinning = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    source = ArrivalSource(scenario.workload, scenario.duration, rng, thinning)
    edges = np.append(np.arange(0, scenario.duration, block_s), scenario.duration)
    return np.concatenate(
        [source.block(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    )


SPIKE = [
    {"duration": "10m", "rate": 50},
    {"duration": "5m", "rate": 1000},
    {"duration": "15m", "rate": 50},
]


def test_constant_arrivals_are_evenly_spaced_and_exact():
    times = _times({"arrivals": "constant", "rate": 50})
    assert len(times) == 90_000
    assert np.allclose(np.diff(times), 0.02)


def test_constant_stages_give_the_exact_area_under_the_profile():
    assert len(_times({"arrivals": "constant", "stages": SPIKE})) == 375_000
    ramp = [{"duration": "10m", "rate": 100}]
    linear = _times({"arrivals": "constant", "stages": ramp, "ramp": "linear"}, "10m")
    assert len(linear) == 30_000  # 0 -> 100/s over 10 min: half of 60,000
    # Arrivals thicken as the rate ramps up: the second half holds 3/4.
    assert np.sum(linear >= 300) == pytest.approx(22_500, abs=1)


def test_poisson_counts_follow_the_profile():
    # Poisson counts: sd = sqrt(mean); 5 sd bounds cannot fail by chance.
    times = _times({"arrivals": "poisson", "stages": SPIKE})
    spike = np.sum((times >= 600) & (times < 900))
    assert abs(spike - 300_000) < 5 * math.sqrt(300_000)
    assert abs(len(times) - spike - 75_000) < 5 * math.sqrt(75_000)
    gaps = np.diff(times[times < 600])
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.03)  # exponential


def test_diurnal_profile_peaks_where_asked():
    diurnal = {"mean_rate": 20, "amplitude": 0.8, "period": "1h", "peak_at": "15m"}
    times = _times({"arrivals": "poisson", "diurnal": diurnal}, "1h")
    counts = np.bincount((times // 300).astype(int), minlength=12)
    assert counts.argmax() in (2, 3)  # the 5-minute bins around 15 min
    assert abs(len(times) - 72_000) < 5 * math.sqrt(72_000)


def test_arrivals_do_not_depend_on_how_the_run_is_cut():
    for workload in (
        {"arrivals": "poisson", "stages": SPIKE},
        {"arrivals": "constant", "diurnal": {"mean_rate": 10}},
    ):
        one = _times(workload, block_s=1.0)
        assert np.array_equal(one, _times(workload, block_s=7.0))
        assert np.array_equal(one, _times(workload, block_s=60.0))


def test_requests_are_the_same_whatever_the_timeseries_interval():
    base = {
        "name": "w",
        "duration": "5m",
        "topologies": ["sync"],
        "workload": {"rate": 20},
    }
    fine = qsim.run(base).topologies["sync"]
    coarse = qsim.run(base, overrides={"output.timeseries_interval": "1m"})
    assert coarse.topologies["sync"] == fine


def test_like_k6_nothing_arrives_after_the_last_stage():
    times = _times(
        {"arrivals": "poisson", "stages": [{"duration": "1m", "rate": 10}]}, "5m"
    )
    assert times.max() < 60
    assert abs(len(times) - 600) < 5 * math.sqrt(600)


def test_trace_replays_timestamps_and_counts(tmp_path):
    stamps = tmp_path / "stamps.csv"
    stamps.write_text("time\n100.0\n100.5\n103.25\n")
    times = _times({"arrivals": "trace", "trace": {"file": str(stamps)}}, "1m")
    assert times.tolist() == [0.0, 0.5, 3.25]  # relative to the first
    iso = tmp_path / "iso.csv"
    iso.write_text("2026-01-01T00:00:00Z\n2026-01-01T00:00:02Z\n")
    assert _times(
        {"arrivals": "trace", "trace": {"file": str(iso)}}, "1m"
    ).tolist() == [0.0, 2.0]
    counts = tmp_path / "counts.csv"
    counts.write_text("second,count\n0,3\n1,0\n2,5\n")
    times = _times(
        {"arrivals": "trace", "trace": {"file": str(counts), "format": "counts"}}, "1m"
    )
    assert np.bincount(times.astype(int)).tolist() == [3, 0, 5]
    fast = _times(
        {"arrivals": "trace", "trace": {"file": str(stamps), "speedup": 2}}, "1m"
    )
    assert fast.tolist() == [0.0, 0.25, 1.625]


def test_message_sizes_are_drawn_and_capped_at_1mb():
    result = qsim.run(
        {
            "name": "sizes",
            "duration": "2m",
            "topologies": ["async"],
            "workload": {
                "rate": 20,
                "message_size": {"dist": "lognormal", "median": "200KB", "p99": "4MB"},
            },
        }
    )
    calls = result.topologies["async"]["api_calls"]
    sent = result.topologies["async"]["messages_sent"]
    # Median 200 KB is 4 chunks; draws above 1 MB are capped at 16.
    assert 3 * sent < calls["send"] <= 16 * sent
